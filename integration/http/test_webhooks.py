"""Quota warnings reach a tenant's webhook: signed, retried after a failure, logged."""
import hashlib
import hmac
import http.server
import json
import socket
import threading
import time
import uuid


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_warning_is_posted_signed_and_retried_after_a_failure(base_url, admin):
    received = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body, time.monotonic()))
            self.send_response(500 if len(received) == 1 else 200)  # the first attempt fails
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        slug = f"hook-{uuid.uuid4().hex[:12]}"
        admin.post(f"{base_url}/v1/tenants", json={"slug": slug, "name": slug}).raise_for_status()
        hook = admin.post(f"{base_url}/v1/tenants/{slug}/webhooks", json={"url": f"http://127.0.0.1:{port}/jarvis"}).json()
        secret = hook["secret"]
        admin.post(f"{base_url}/v1/tenants/{slug}/quotas", json={"metric": "tokens_daily", "limit": 10, "warn_at_percent": 80}).raise_for_status()
        account = admin.post(f"{base_url}/v1/tenants/{slug}/service-accounts", json={"name": "svc"}).json()
        admin.post(f"{base_url}/v1/tenants/{slug}/role-bindings", json={"principal_id": account["id"], "role": "viewer"}).raise_for_status()
        key = admin.post(f"{base_url}/v1/tenants/{slug}/api-keys", json={"principal_id": account["id"], "name": "k"}).json()["key"]
        check = admin.post(f"{base_url}/v1/check", json={"credential": key, "permission": "documents:read", "quota": {"tokens_estimate": 9}})
        assert check.json()["allowed"] is True

        deadline = time.monotonic() + 15
        while len(received) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(received) == 2, f"expected a failed attempt and a retry, got {len(received)}"
        for headers, body, _ in received:
            timestamp = headers["X-Jarvis-Timestamp"]
            expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
            assert hmac.compare_digest(headers["X-Jarvis-Signature"], f"v1={expected}")
            assert abs(int(timestamp) - time.time()) < 60
            event = json.loads(body)
            assert event["event"] == "quota.warning" and event["metric"] == "tokens_daily" and event["used"] == 9 and event["limit"] == 10
        assert received[0][0]["X-Jarvis-Delivery"] == received[1][0]["X-Jarvis-Delivery"]
        assert received[1][2] - received[0][2] >= 0.9, "the retry came without back-off"

        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            log = admin.get(f"{base_url}/v1/tenants/{slug}/webhooks/{hook['id']}/deliveries").json()["items"]
            if log and log[0]["status"] == "delivered":
                break
            time.sleep(0.1)
        assert log[0]["status"] == "delivered" and log[0]["attempts"] == 2 and log[0]["last_status"] == 200
        # The secret is never shown again.
        assert "secret" not in admin.get(f"{base_url}/v1/tenants/{slug}/webhooks").json()["items"][0]
    finally:
        server.shutdown()


def warn(base_url, admin, url):
    """A tenant with a webhook to `url` and a check that takes a budget past its warning share."""
    slug = f"hook-{uuid.uuid4().hex[:12]}"
    admin.post(f"{base_url}/v1/tenants", json={"slug": slug, "name": slug}).raise_for_status()
    admin.post(f"{base_url}/v1/tenants/{slug}/webhooks", json={"url": url}).raise_for_status()
    admin.post(f"{base_url}/v1/tenants/{slug}/quotas", json={"metric": "tokens_daily", "limit": 10, "warn_at_percent": 80}).raise_for_status()
    account = admin.post(f"{base_url}/v1/tenants/{slug}/service-accounts", json={"name": "svc"}).json()
    admin.post(f"{base_url}/v1/tenants/{slug}/role-bindings", json={"principal_id": account["id"], "role": "viewer"}).raise_for_status()
    key = admin.post(f"{base_url}/v1/tenants/{slug}/api-keys", json={"principal_id": account["id"], "name": "k"}).json()["key"]
    check = admin.post(f"{base_url}/v1/check", json={"credential": key, "permission": "documents:read", "quota": {"tokens_estimate": 9}})
    assert check.json()["allowed"] is True


def test_one_tenants_silent_receiver_does_not_hold_back_anothers_delivery(base_url, admin):
    # A receiver that accepts connections and never answers: each delivery to it waits out the
    # read timeout (10 s).
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    received = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            received.append(time.monotonic())
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for _ in range(3):
            warn(base_url, admin, f"http://127.0.0.1:{silent.getsockname()[1]}/hook")
        time.sleep(1.5)  # the silent receivers' deliveries are being attempted now
        start = time.monotonic()
        warn(base_url, admin, f"http://127.0.0.1:{port}/hook")
        while not received and time.monotonic() - start < 20:
            time.sleep(0.05)
        assert received, "the good receiver got nothing"
        waited = received[0] - start
        print(f"\na good receiver's warning arrived {waited:.2f} s after its check, beside three silent receivers")
        assert waited < 5, f"the good receiver waited {waited:.1f} s behind the silent ones"
    finally:
        server.shutdown()
        silent.close()
