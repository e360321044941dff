"""Releases across processes: a label move, a rollback and a guard's abort reach every instance and
every client holding the changes stream within a second; assignment is the same on every process
and after a restart."""
import threading
import time

import pytest
import requests

from instances import Instance, seeded_tenant


@pytest.fixture(scope="module")
def pair():
    instances = [Instance("rel-a"), Instance("rel-b")]
    yield instances
    for instance in instances:
        instance.stop()


def seed_prompt(url, admin, slug, name="greet"):
    root = f"{url}/v1/tenants/{slug}/prompts"
    admin.post(root, json={"name": name}).raise_for_status()
    for version in ("1.0.0", "1.1.0"):
        admin.post(f"{root}/{name}/versions", json={"version": version, "template": f"v{version} {{{{who}}}}", "variables": [{"name": "who"}]}).raise_for_status()
        admin.post(f"{root}/{name}/versions/{version}/publish").raise_for_status()
    admin.put(f"{root}/{name}/labels/production", json={"version": "1.0.0"}).raise_for_status()


def version_on(url, key, subject="ann", name="greet"):
    answer = requests.get(f"{url}/v1/resolve/prompts/{name}", params={"subject": subject}, headers={"Authorization": f"Bearer {key}"})
    answer.raise_for_status()
    return answer.json()["version"]


def wait_for(url, key, expected, since, what):
    while (seen := version_on(url, key)) != expected:
        assert time.monotonic() - since < 1.0, f"{what}: still {seen} a second later"
        time.sleep(0.005)
    return (time.monotonic() - since) * 1000


def test_a_label_move_and_a_rollback_reach_another_process_within_one_second(pair, admin):
    a, b = pair
    slug, _, _, _, key = seeded_tenant(a.url, admin)
    seed_prompt(a.url, admin, slug)
    assert version_on(b.url, key) == "1.0.0"  # B holds the tenant in memory now
    start = time.monotonic()
    admin.put(f"{a.url}/v1/tenants/{slug}/prompts/greet/labels/production", json={"version": "1.1.0"}).raise_for_status()
    moved = wait_for(b.url, key, "1.1.0", start, "label move")
    start = time.monotonic()
    admin.post(f"{a.url}/v1/tenants/{slug}/prompts/greet/labels/production/rollback").raise_for_status()
    rolled = wait_for(b.url, key, "1.0.0", start, "rollback")
    print(f"\nlabel move seen by another process in {moved:.1f} ms, rollback in {rolled:.1f} ms")


def test_a_client_holding_the_changes_stream_hears_of_a_move_within_one_second(pair, admin):
    a, b = pair
    slug, _, _, _, key = seeded_tenant(a.url, admin)
    seed_prompt(a.url, admin, slug)
    headers = {"Authorization": f"Bearer {key}"}
    cursor = requests.get(f"{b.url}/v1/resolve/changes", headers=headers).json()["cursor"]
    answer = {}

    def hold():
        response = requests.get(f"{b.url}/v1/resolve/changes", params={"since": cursor, "wait": 10}, headers=headers)
        answer["at"] = time.monotonic()
        answer["body"] = response.json()

    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(0.3)  # the request is waiting on B
    assert "at" not in answer, "the long poll answered before anything changed"
    moved_at = time.monotonic()
    admin.put(f"{a.url}/v1/tenants/{slug}/prompts/greet/labels/production", json={"version": "1.1.0"}).raise_for_status()
    holder.join(timeout=5)
    delay = (answer["at"] - moved_at) * 1000
    assert delay < 1000, f"the changes stream answered {delay:.0f} ms after the move"
    assert answer["body"]["cursor"] > cursor
    assert any(change["kind"] == "release_labels" for change in answer["body"]["changes"])
    print(f"\nchanges long poll answered {delay:.1f} ms after the move (through another process)")
    # Nothing newer: an immediate empty answer with the same cursor.
    again = requests.get(f"{b.url}/v1/resolve/changes", params={"since": answer["body"]["cursor"], "wait": 0}, headers=headers).json()
    assert again == {"cursor": answer["body"]["cursor"], "changes": []}


def test_assignment_is_the_same_on_every_process_and_after_a_restart(pair, admin):
    a, b = pair
    slug, _, _, _, key = seeded_tenant(a.url, admin)
    seed_prompt(a.url, admin, slug)
    rollout = admin.post(
        f"{a.url}/v1/tenants/{slug}/rollouts", json={"kind": "prompt", "name": "greet", "label": "production", "candidate_version": "1.1.0"}
    )
    rollout.raise_for_status()
    subjects = [f"user-{n}" for n in range(300)]
    on_a = {s: version_on(a.url, key, s) for s in subjects}
    assert {s: version_on(b.url, key, s) for s in subjects} == on_a
    assert {s: version_on(a.url, key, s) for s in subjects} == on_a
    candidates = sum(v == "1.1.0" for v in on_a.values())
    assert 10 <= candidates <= 60, f"{candidates} of 300 on the candidate at 10%"
    restarted = Instance("rel-restarted")
    try:
        assert {s: version_on(restarted.url, key, s) for s in subjects} == on_a
    finally:
        restarted.stop()
    # 10 → 50: everyone on the candidate stays there.
    admin.post(f"{a.url}/v1/tenants/{slug}/rollouts/{rollout.json()['id']}/advance").raise_for_status()
    time.sleep(0.3)
    at_fifty = {s: version_on(b.url, key, s) for s in subjects}
    assert all(at_fifty[s] == "1.1.0" for s, v in on_a.items() if v == "1.1.0")


def test_a_breached_guard_rolls_back_on_every_instance_and_posts_the_webhook(pair, admin, base_url):
    import http.server
    from instances import free_port

    received = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append((self.headers.get("X-Jarvis-Event"), self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    port = free_port()
    server = http.server.HTTPServer(("127.0.0.1", port), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        a, b = pair
        slug, tenant_id, _, _, key = seeded_tenant(base_url, admin)
        seed_prompt(base_url, admin, slug)
        admin.post(f"{base_url}/v1/tenants/{slug}/webhooks", json={"url": f"http://127.0.0.1:{port}/hook"}).raise_for_status()
        started = admin.post(
            f"{base_url}/v1/tenants/{slug}/rollouts",
            json={
                "kind": "prompt", "name": "greet", "label": "production", "candidate_version": "1.1.0",
                "steps": [{"percent": 100}], "guards": {"max_error_rate_increase": 10, "min_sample_size": 30},
            },
        )
        started.raise_for_status()
        rollout = started.json()["id"]
        for instance in (a, b):
            assert version_on(instance.url, key, "u1") == "1.1.0"
        # The candidate's traffic fails: 30 errors reported by the service that used it.
        events = [
            {"tenant_id": tenant_id, "idempotency_key": f"fail-{n}", "model": "m", "prompt": "greet", "prompt_version": "1.1.0",
             "input_tokens": 5, "output_tokens": 5, "latency_ms": 300, "status": "error"}
            for n in range(30)
        ]
        reported = time.monotonic()
        admin.post(f"{base_url}/v1/usage", json={"events": events}).raise_for_status()
        # Nobody calls abort: the supervisor (every second, on every instance) does.
        while admin.get(f"{base_url}/v1/tenants/{slug}/rollouts/{rollout}").json()["state"] != "aborted":
            assert time.monotonic() - reported < 10, "the guard did not abort the rollout"
            time.sleep(0.05)
        aborted_after = time.monotonic() - reported
        time.sleep(1.0)  # every instance hears of it within a second
        for instance in (a, b):
            assert {version_on(instance.url, key, f"u{n}") for n in range(50)} == {"1.0.0"}
        rollout_body = admin.get(f"{base_url}/v1/tenants/{slug}/rollouts/{rollout}").json()
        assert "guard" in rollout_body["abort_reason"]
        deadline = time.monotonic() + 10
        while not any(event == "rollout.aborted" for event, _ in received):
            assert time.monotonic() < deadline, "no rollout.aborted webhook arrived"
            time.sleep(0.05)
        print(f"\nguard aborted the rollout {aborted_after * 1000:.0f} ms after the failing usage was reported")
    finally:
        server.shutdown()
