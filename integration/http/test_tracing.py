"""W3C trace context and span export: a request that arrives with a sampled `traceparent` is
recorded as a server span, child of the caller's span, with its database transactions as client
spans under it, and the spans reach an OTLP/HTTP collector (here a small receiver) as JSON. An
unsampled `traceparent` records nothing; a malformed one starts a new trace and harms nothing."""
import json
import os
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from instances import Instance


class Collector:
    def __init__(self):
        self.spans = []
        self.lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                assert self.path == "/v1/traces" and self.headers["Content-Type"] == "application/json"
                found = []
                for resource in json.loads(body)["resourceSpans"]:
                    service = {a["key"]: a["value"].get("stringValue") for a in resource["resource"]["attributes"]}
                    for scope in resource["scopeSpans"]:
                        for span in scope["spans"]:
                            span["service"] = service.get("service.name")
                            found.append(span)
                with collector.lock:
                    collector.spans.extend(found)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"

    def of_trace(self, trace_id):
        with self.lock:
            return [span for span in self.spans if span["traceId"] == trace_id]


@pytest.fixture(scope="module")
def traced():
    collector = Collector()
    # Access-log lines are `info`: the instance logs them (instances log warnings only by default).
    instance = Instance("tracing", env={"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": collector.url, "OTEL_SERVICE_NAME": "jarvis-test",
                                        "LOG_LEVEL": "info"})
    yield instance, collector
    instance.stop()
    collector.server.shutdown()


def traceparent(sampled=True):
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    return trace_id, parent_id, f"00-{trace_id}-{parent_id}-{'01' if sampled else '00'}"


def wait_for(collector, trace_id, predicate, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        spans = collector.of_trace(trace_id)
        if predicate(spans):
            return spans
        time.sleep(0.1)
    raise AssertionError(f"spans of trace {trace_id} never satisfied the check: {collector.of_trace(trace_id)}")


def attribute(span, key):
    for item in span.get("attributes", []):
        if item["key"] == key:
            value = item["value"]
            return value.get("stringValue", value.get("intValue"))
    return None


def test_a_sampled_request_is_a_server_span_with_its_transactions_under_it(traced):
    instance, collector = traced
    headers = {"Authorization": f"Bearer {os.environ['JARVIS_ADMIN_KEY']}"}
    trace_id, parent_id, header = traceparent()
    slug = f"traced-{secrets.token_hex(4)}"
    created = requests.post(f"{instance.url}/v1/tenants", json={"slug": slug, "name": "Traced"},
                            headers={**headers, "traceparent": header, "tracestate": "vendor=kept"}, timeout=10)
    assert created.status_code == 201, created.text

    def complete(spans):
        return any(s["kind"] == 2 for s in spans) and any(s["kind"] == 3 for s in spans)

    spans = wait_for(collector, trace_id, complete)
    server = [s for s in spans if s["kind"] == 2]
    assert len(server) == 1, spans
    server = server[0]
    assert server["parentSpanId"] == parent_id
    assert server["name"] == "/v1/tenants" and server["service"] == "jarvis-test"
    assert attribute(server, "http.response.status_code") == "201"
    assert attribute(server, "http.request.method") == "POST"
    assert int(server["endTimeUnixNano"]) >= int(server["startTimeUnixNano"]) > 0
    database = [s for s in spans if s["kind"] == 3]
    assert database and all(s["parentSpanId"] == server["spanId"] and s["name"] == "db.transaction" for s in database), spans
    assert all(attribute(s, "db.system") == "postgresql" for s in database)
    # The access-log line of the request names its trace, so a log line leads to its spans.
    with open(instance.log.name) as log:
        logged = [json.loads(line) for line in log if line.startswith("{")]
    assert [line for line in logged if line.get("msg") == "request" and line.get("path") == "/v1/tenants"
            and line.get("method") == "POST" and line.get("trace_id") == trace_id], logged[-5:]

    # A failing request is recorded with its status.
    trace_id, _, header = traceparent()
    missing = requests.get(f"{instance.url}/v1/tenants/no-such-tenant-{secrets.token_hex(3)}", headers={**headers, "traceparent": header}, timeout=10)
    assert missing.status_code == 404
    spans = wait_for(collector, trace_id, lambda spans: any(s["kind"] == 2 for s in spans))
    assert attribute([s for s in spans if s["kind"] == 2][0], "http.response.status_code") == "404"


def test_unsampled_and_malformed_traceparents(traced):
    instance, collector = traced
    headers = {"Authorization": f"Bearer {os.environ['JARVIS_ADMIN_KEY']}"}
    quiet_id, _, quiet = traceparent(sampled=False)
    assert requests.get(f"{instance.url}/v1/me", headers={**headers, "traceparent": quiet}, timeout=10).status_code == 200
    broken = f"00-{quiet_id.upper()}-{secrets.token_hex(8)}-01"
    assert requests.get(f"{instance.url}/v1/me", headers={**headers, "traceparent": broken}, timeout=10).status_code == 200
    # A sampled request after them: once its spans are in, anything of the two would be too.
    marker, _, header = traceparent()
    assert requests.get(f"{instance.url}/v1/me", headers={**headers, "traceparent": header}, timeout=10).status_code == 200
    wait_for(collector, marker, lambda spans: any(s["kind"] == 2 for s in spans))
    time.sleep(1.5)
    assert collector.of_trace(quiet_id) == []
    assert collector.of_trace(quiet_id.upper()) == []
    # The exporter's own requests are not traced (each export would be a span to export, forever).
    # Other outbound requests are (webhook deliveries: any instance may deliver another test's).
    port = str(collector.server.server_address[1])
    with collector.lock:
        assert not [span for span in collector.spans
                    if span["kind"] == 3 and (attribute(span, "url.full") == collector.url or attribute(span, "server.port") == port)]
