"""Slow, stalled, malformed and vanishing clients, on the wire. An instance with short timeouts
(header 1 s, body 2 s, idle 3 s, shutdown grace 2 s) takes them."""
import json
import os
import re
import signal
import socket
import time

import pytest
import requests

from instances import Instance

LIMITS = {
    "JARVIS_HTTP_HEADER_TIMEOUT_SECONDS": "1",
    "JARVIS_HTTP_BODY_TIMEOUT_SECONDS": "2",
    "JARVIS_HTTP_IDLE_TIMEOUT_SECONDS": "3",
    "JARVIS_SHUTDOWN_GRACE_SECONDS": "2",
}


@pytest.fixture(scope="module")
def server():
    instance = Instance("limits", LIMITS)
    yield instance
    instance.stop()


def connect(instance):
    return socket.create_connection(("127.0.0.1", instance.port), timeout=30)


def closed_after(sock):
    """Seconds until the server closes the connection, and what it sent before closing."""
    started = time.monotonic()
    received = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        received += chunk
    return time.monotonic() - started, received


def response(raw):
    """Status, headers and parsed JSON body of one raw HTTP response."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    return status, headers, json.loads(body) if body else None


def exchange(instance, raw):
    with connect(instance) as sock:
        sock.sendall(raw)
        _, received = closed_after(sock)
    return response(received)


def test_partial_headers_are_answered_408_and_closed(server):
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        seconds, received = closed_after(sock)
    status, headers, body = response(received)
    assert status == 408 and headers["content-type"] == "application/problem+json" and body["request_id"]
    assert 0.8 < seconds < 3


def test_a_partial_body_is_closed_after_the_body_timeout(server):
    with connect(server) as sock:
        sock.sendall(b"POST /v1/tenants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"slug\"")
        seconds, _ = closed_after(sock)
    assert 1.5 < seconds < 5


def test_an_idle_kept_alive_connection_is_closed(server):
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        seconds, _ = closed_after(sock)
    assert 2.5 < seconds < 6


def test_a_slow_but_steady_client_is_not_cut_off_before_its_time(server):
    with connect(server) as sock:
        for part in (b"GET /healthz HTTP/1.1\r\n", b"Host: x\r\n", b"\r\n"):
            sock.sendall(part)
            time.sleep(0.3)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")


@pytest.mark.parametrize("raw, expected", [
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: a\x00b\r\n\r\n", 400),
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: a\x7fb\r\n\r\n", 400),
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + b"a" * 100_000 + b"\r\n\r\n", 431),
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(2000)) + b"\r\n", 431),
    (b"FROB /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 501),
    (b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", 400),
])
def test_requests_the_parser_refuses_get_problem_json(server, raw, expected):
    status, headers, body = exchange(server, raw)
    assert status == expected
    assert headers["content-type"] == "application/problem+json"
    assert body["status"] == expected and body["request_id"] == headers["x-request-id"]
    assert body["type"].startswith("urn:jarvis:problem:")


def test_a_client_that_goes_away_mid_body_is_not_a_server_error(server):
    admin = {"Authorization": f"Bearer {os.environ['JARVIS_ADMIN_KEY']}"}
    for _ in range(3):
        with connect(server) as sock:
            sock.sendall(b"POST /v1/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: " + admin["Authorization"].encode()
                         + b"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"slug\"")
            time.sleep(0.2)
    time.sleep(0.5)
    metrics = requests.get(f"{server.url}/metrics").text
    served = [line for line in metrics.splitlines() if 'http_route="/v1/tenants"' in line and "hb_requests" in line]
    assert served, metrics[:2000]
    assert not any('status_code="500"' in line for line in served), served
    with open(server.log.name) as log:
        assert "request failed" not in log.read()


def test_sigterm_ends_within_the_grace_period_whatever_clients_do():
    instance = Instance("grace", LIMITS | {"JARVIS_HTTP_BODY_TIMEOUT_SECONDS": "600"})
    stalled = connect(instance)
    stalled.sendall(b"POST /v1/usage HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                    + os.environ["JARVIS_ADMIN_KEY"].encode() + b"\r\nContent-Length: 100\r\n\r\n{")
    time.sleep(0.3)
    started = time.monotonic()
    instance.process.send_signal(signal.SIGTERM)
    code = instance.process.wait(timeout=30)
    elapsed = time.monotonic() - started
    stalled.close()
    instance.log.close()
    print(f"\nSIGTERM with a stalled client: exit {code} after {elapsed:.2f} s (grace 2 s)")
    assert code == 0 and elapsed < 5
