"""Several `jarvis serve` processes on one database: invalidation between them, quotas that hold
across them, and usage ingestion that survives kill -9. The extra instances are started here from
the same binary and environment as the main test server."""
import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
import requests

from instances import Instance, seeded_tenant


@pytest.fixture(scope="module")
def three():
    instances = [Instance(name) for name in "abc"]
    yield instances
    for instance in instances:
        instance.stop()


class Client:
    """Keep-alive connections per thread, spread round-robin over instances."""

    def __init__(self, instances, admin_key):
        self.instances = instances
        self.admin_key = admin_key
        self.local = threading.local()

    def post(self, index, path, body):
        if not hasattr(self.local, "connections"):
            self.local.connections = {}
        instance = self.instances[index % len(self.instances)]
        connection = self.local.connections.get(instance.port)
        if connection is None:
            connection = http.client.HTTPConnection("127.0.0.1", instance.port, timeout=30)
            self.local.connections[instance.port] = connection
        connection.request("POST", path, json.dumps(body), {"Authorization": f"Bearer {self.admin_key}", "Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")


def test_a_key_revoked_on_one_instance_is_refused_by_another_within_one_second(three, admin):
    a, b = three[0], three[1]
    slug, _, _, key_id, key = seeded_tenant(a.url, admin)
    me = {"Authorization": f"Bearer {key}"}
    assert requests.get(f"{b.url}/v1/me", headers=me).status_code == 200
    assert requests.get(f"{b.url}/v1/me", headers=me).status_code == 200  # cached on B now
    admin.delete(f"{a.url}/v1/tenants/{slug}/api-keys/{key_id}").raise_for_status()
    revoked_at = time.monotonic()
    while requests.get(f"{b.url}/v1/me", headers=me).status_code != 401:
        assert time.monotonic() - revoked_at < 1.0, "instance B still accepted the key 1 s after A revoked it"
        time.sleep(0.005)
    print(f"\nrevocation reached another process in {(time.monotonic() - revoked_at) * 1000:.1f} ms")


def test_a_rate_limit_holds_across_three_instances(three, admin, base_url):
    slug, _, principal, _, key = seeded_tenant(base_url, admin)
    # Low enough that a debug build on a busy two-core machine still offers well over it.
    limit, burst, seconds = 200, 30, 10
    admin.post(f"{base_url}/v1/tenants/{slug}/quotas", json={"metric": "requests", "limit": limit, "burst": burst}).raise_for_status()
    client = Client(three, os.environ["JARVIS_ADMIN_KEY"])
    admitted = [0] * 16
    offered = [0] * 16
    deadline = time.monotonic() + seconds

    def worker(n):
        i = n
        while time.monotonic() < deadline:
            status, body = client.post(i, "/v1/check", {"credential": key, "permission": "documents:read", "quota": {"requests": 1}})
            assert status in (200, 429), body
            offered[n] += 1
            admitted[n] += body.get("allowed") is True
            i += 1

    started = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(worker, range(16)))
    elapsed = time.monotonic() - started
    expected = limit * elapsed + burst
    print(f"\nthree instances, {limit}/s limit: offered {sum(offered) / elapsed:.0f}/s, admitted {sum(admitted)} in {elapsed:.1f} s "
          f"= {sum(admitted) / elapsed:.1f}/s; expected at most {expected:.0f} ({(sum(admitted) - expected) / expected * 100:+.1f}%)")
    assert sum(offered) / elapsed > limit * 1.5, "the load did not exceed the limit; nothing was measured"
    assert abs(sum(admitted) - expected) <= 0.05 * expected


def test_a_daily_token_budget_is_never_exceeded_across_three_instances(three, admin, base_url):
    slug, tenant_id, _, _, key = seeded_tenant(base_url, admin)
    budget = 500
    admin.post(f"{base_url}/v1/tenants/{slug}/quotas", json={"metric": "tokens_daily", "limit": budget}).raise_for_status()
    client = Client(three, os.environ["JARVIS_ADMIN_KEY"])

    def one(i):
        status, body = client.post(i, "/v1/check", {"credential": key, "permission": "documents:read", "quota": {"tokens_estimate": 1}})
        assert status in (200, 429), body
        return body.get("allowed") is True

    with ThreadPoolExecutor(24) as pool:
        admitted = sum(pool.map(one, range(3 * budget)))
    with psycopg.connect(os.environ["JARVIS_PLATFORM_DATABASE_URL"]) as db:
        handed_out = db.execute(
            "SELECT sum(tokens) FROM quota_allowances WHERE tenant_id = %s AND metric = 'tokens_daily'", (tenant_id,)).fetchone()[0]
    print(f"\nthree instances, daily budget {budget}: {admitted} of {3 * budget} reservations admitted; {handed_out:.0f} handed out")
    assert admitted <= budget
    assert handed_out <= budget
    assert admitted >= budget * 0.9, "most of the budget should be usable"


def test_a_hard_stop_budget_holds_across_three_instances(three, admin, base_url):
    """200 concurrent checks spread over three instances, each holding 7,000 micro-units of a
    1,000,000 budget: admitted spend never exceeds the budget plus one reservation."""
    slug, tenant_id, _, _, key = seeded_tenant(base_url, admin)
    amount, estimate = 1_000_000, 7_000
    admin.post(f"{base_url}/v1/tenants/{slug}/budgets", json={"amount_micros": amount, "hard_stop": True}).raise_for_status()
    client = Client(three, os.environ["JARVIS_ADMIN_KEY"])

    def one(i):
        status, body = client.post(i, "/v1/check", {"credential": key, "permission": "documents:read", "quota": {"cost_estimate_micros": estimate}})
        assert status in (200, 429), body
        assert status == 200 or body["reason"] == "budget_exhausted", body
        return body.get("allowed") is True

    with ThreadPoolExecutor(24) as pool:
        burst = sum(pool.map(one, range(200)))
    # An instance may end a burst holding part of the budget it took for the pace it saw; its
    # background pass gives that back within a few 100 ms passes, and later checks can use it.
    time.sleep(1.0)
    with ThreadPoolExecutor(24) as pool:
        admitted = burst + sum(pool.map(one, range(60)))
    with psycopg.connect(os.environ["JARVIS_PLATFORM_DATABASE_URL"]) as db:
        handed_out = db.execute(
            "SELECT sum(tokens) FROM quota_allowances WHERE tenant_id = %s AND metric = 'cost_monthly'", (tenant_id,)).fetchone()[0]
    print(f"\nthree instances, hard-stop budget {amount}: {burst} of a burst of 200 checks holding {estimate} admitted, "
          f"{admitted} with 60 more after a second ({admitted * estimate} held); {handed_out:.0f} handed out")
    assert admitted * estimate <= amount + estimate
    assert handed_out <= amount
    assert admitted >= amount // estimate * 0.9, "most of the budget should be usable"


def test_kill_9_during_usage_batches_loses_and_doubles_nothing(admin, base_url):
    slug, tenant_id, principal, _, _ = seeded_tenant(base_url, admin)
    victim = Instance("victim")
    batches = [[{"tenant_id": tenant_id, "principal_id": principal, "model": "m", "input_tokens": 3, "output_tokens": 4, "status": "success",
                 "idempotency_key": f"k9-{b}-{e}"} for e in range(250)] for b in range(120)]
    acknowledged = set()
    stop = threading.Event()

    def send(b):
        if stop.is_set():
            return
        try:
            response = requests.post(f"{victim.url}/v1/usage", json={"events": batches[b]},
                                     headers={"Authorization": f"Bearer {os.environ['JARVIS_ADMIN_KEY']}"}, timeout=30)
            if response.status_code == 200 and response.json()["accepted"] == len(batches[b]):
                acknowledged.add(b)
        except requests.RequestException:
            pass

    killer = threading.Timer(0.6, lambda: (stop.set(), victim.process.send_signal(signal.SIGKILL)))
    killer.start()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(send, range(len(batches))))
    killer.join()
    victim.process.wait()
    victim.stop()
    assert acknowledged, "nothing was acknowledged before the kill; nothing was tested"
    assert len(acknowledged) < len(batches), "everything finished before the kill; nothing was tested"

    def stored():
        with psycopg.connect(os.environ["JARVIS_PLATFORM_DATABASE_URL"]) as db:
            rows = db.execute("SELECT idempotency_key, count(*) FROM usage_events WHERE tenant_id = %s GROUP BY 1", (tenant_id,)).fetchall()
        return dict(rows)

    after_kill = stored()
    for b in acknowledged:
        for event in batches[b]:
            assert after_kill.get(event["idempotency_key"]) == 1, "an acknowledged event is missing or doubled"
    # The client retries everything with the same keys: nothing is counted twice.
    for b in range(len(batches)):
        response = admin.post(f"{base_url}/v1/usage", json={"events": batches[b]})
        response.raise_for_status()
    final = stored()
    assert len(final) == 120 * 250 and set(final.values()) == {1}
    summary = admin.get(f"{base_url}/v1/tenants/{slug}/usage", params={"group_by": "model"}).json()
    assert summary["items"][0]["events"] == 120 * 250 and summary["items"][0]["input_tokens"] == 3 * 120 * 250
    print(f"\nkill -9: {len(acknowledged)} of {len(batches)} batches acknowledged before the kill, all stored once; retries doubled nothing")


def test_a_retry_after_kill_9_runs_at_once_instead_of_409(admin, base_url):
    """The first request holds its Idempotency-Key when its instance is killed; the retry, on another
    instance, must run at once: nothing runs the first any more."""
    slug, _, _, _, _ = seeded_tenant(base_url, admin, role="tenant_admin")
    user = admin.post(f"{base_url}/v1/tenants/{slug}/users", json={"email": f"kill@{slug}.example"}).json()
    # Slow password hashing on the victim (seconds per hash), so the request is surely in flight when
    # it dies. It hashes once at start too (the decoy for unknown accounts): give it time to start.
    victim = Instance("idem-victim", {"JARVIS_ARGON2_MEMORY_KIB": "524288", "JARVIS_ARGON2_ITERATIONS": "6"}, ready_seconds=90)
    key = uuid.uuid4().hex
    path = f"/v1/tenants/{slug}/users/{user['id']}/password"
    headers = {"Authorization": f"Bearer {os.environ['JARVIS_ADMIN_KEY']}", "Idempotency-Key": key}
    body = {"password": "a long enough passphrase to set"}

    def first():
        try:
            requests.put(f"{victim.url}{path}", json=body, headers=headers, timeout=30)
        except requests.RequestException:
            pass

    thread = threading.Thread(target=first)
    thread.start()
    time.sleep(0.5)
    victim.process.send_signal(signal.SIGKILL)
    thread.join()
    victim.process.wait()
    victim.stop()
    started = time.monotonic()
    retry = requests.put(f"{base_url}{path}", json=body, headers=headers, timeout=30)
    print(f"\nretry after kill -9: {retry.status_code} in {(time.monotonic() - started) * 1000:.0f} ms")
    assert retry.status_code == 204, retry.text
