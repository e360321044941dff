"""Checks that need the real socket and process: the README quick start, logs, problem bodies."""
import json
import os
import subprocess

import requests


def test_readme_quick_start_works_as_written(base_url, admin, slug):
    """Runs README.md's quick start block exactly as written, against this server (its variables
    default from the environment), then runs it again: it must be rerunnable."""
    readme = open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md")).read()
    block = readme.split("<!-- quickstart -->")[1].split("```bash")[1].split("```")[0]
    env = dict(os.environ, JARVIS=base_url, ADMIN_KEY=os.environ["JARVIS_ADMIN_KEY"], SLUG=slug)
    result = subprocess.run(["bash", "-c", block], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "forward auth: 200" in result.stdout
    events = admin.get(f"{base_url}/v1/tenants/{slug}/audit-events").json()["items"]
    actions = {event["action"] for event in events}
    assert {"tenant.create", "service_account.create", "role_binding.create", "api_key.create"} <= actions
    # Without SLUG it picks a new tenant each run; with a taken one it stops at once and shows why.
    again = subprocess.run(["bash", "-c", block], capture_output=True, text=True, timeout=60, env=env)
    assert again.returncode != 0 and "already exists" in again.stdout + again.stderr
    env.pop("SLUG")
    fresh = subprocess.run(["bash", "-c", block], capture_output=True, text=True, timeout=60, env=env)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr


def test_client_address_and_request_id_are_recorded(base_url, admin, slug):
    response = admin.post(f"{base_url}/v1/tenants", json={"slug": slug, "name": "Sock"}, headers={"X-Request-Id": "sock-1"})
    assert response.status_code == 201
    assert response.headers["X-Request-Id"] == "sock-1"
    events = admin.get(f"{base_url}/v1/tenants/{slug}/audit-events").json()["items"]
    assert events[0]["client_ip"] == "127.0.0.1"
    assert events[0]["request_id"] == "sock-1"


def test_errors_are_problem_json_even_for_unknown_paths_and_bad_methods(base_url, admin):
    for method, path in [("GET", "/nope"), ("DELETE", "/v1/tenants"), ("GET", "/v1/tenants/%00"), ("POST", "/v1/me")]:
        response = admin.request(method, base_url + path)
        assert 400 <= response.status_code < 500, (method, path, response.status_code)
        assert response.headers["Content-Type"] == "application/problem+json"
        body = response.json()
        assert body["request_id"] == response.headers["X-Request-Id"]


def test_logs_are_json_lines_without_secrets(base_url, admin, slug):
    tenant = admin.post(f"{base_url}/v1/tenants", json={"slug": slug, "name": "Logs"}).json()
    account = admin.post(f"{base_url}/v1/tenants/{slug}/service-accounts", json={"name": "logger"}).json()
    key = admin.post(f"{base_url}/v1/tenants/{slug}/api-keys", json={"principal_id": account["id"], "name": "k"}).json()["key"]
    requests.get(f"{base_url}/v1/me", headers={"Authorization": f"Bearer {key}"})
    requests.get(f"{base_url}/v1/me", headers={"Authorization": f"Bearer {key[:-3]}abc"})
    with open(os.environ["JARVIS_SERVER_LOG"]) as log:
        lines = [line for line in log.read().splitlines() if line.strip()]
    assert lines, "the server wrote no log lines"
    for line in lines:
        json.loads(line)
    text = "\n".join(lines)
    secret = key.split("_", 2)[2]
    assert secret not in text
    assert os.environ["JARVIS_ADMIN_KEY"].split("_", 2)[2] not in text
    assert tenant["id"]


def test_readiness_and_metrics(base_url):
    assert requests.get(f"{base_url}/readyz").json()["status"] == "ready"
    assert requests.get(f"{base_url}/health").json()["status"] == "ok"
    metrics = requests.get(f"{base_url}/metrics").text
    assert "http_server_request_duration" in metrics
    assert 'jarvis_db_pool_connections_open{pool="app"}' in metrics
    # What the alert rules in deploy/prometheus/alerts.yml read.
    for name in ("hb_requests", "http_server_request_duration", "jarvis_cache_hits_total", "jarvis_db_pool_waiters",
                 "jarvis_usage_pending_events", "jarvis_audit_events_dropped_total", "jarvis_webhook_deliveries_total"):
        assert name in metrics, name


def test_a_second_server_on_a_taken_port_exits_at_once_with_the_reason(base_url):
    # When the HTTP listener cannot bind, every background service is cancelled and the process
    # ends non-zero (a supervisor restarts it) instead of hanging without a word.
    port = base_url.rsplit(":", 1)[1]
    env = dict(os.environ, JARVIS_PORT=port, LOG_LEVEL="error")
    started = subprocess.run([os.environ["JARVIS_BIN"], "serve"], env=env, capture_output=True, text=True, timeout=30)
    assert started.returncode != 0
    assert "Address already in use" in started.stderr + started.stdout
