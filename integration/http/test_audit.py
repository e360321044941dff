"""The audit chain from outside: an export verified offline by scripts/verify-audit-export.py
(Python's standard library only) against the keys the server publishes, a tampered export
refused, and the command line's verification."""
import os
import subprocess
import sys
import time

from instances import seeded_tenant

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VERIFIER = os.path.join(ROOT, "scripts", "verify-audit-export.py")


def run_verifier(path, *extra):
    return subprocess.run([sys.executable, VERIFIER, path, *extra], capture_output=True, text=True, timeout=60)


def test_an_export_verifies_offline_and_a_tampered_one_does_not(base_url, admin, tmp_path):
    slug, tenant_id, _, _, _ = seeded_tenant(base_url, admin)
    for n in range(5):
        admin.post(f"{base_url}/v1/tenants/{slug}/service-accounts", json={"name": f"svc-{n} \"quoted\" ünïcode"}).raise_for_status()
    # Sealed within a pass (200 ms) and a new tenant's head signed at the next checkpoint pass (1 s)
    # — unless that pass signed the head while the last events were still being sealed: then the
    # once-a-minute rule signs the rest, within about 61 s.
    deadline = time.monotonic() + 75
    while True:
        report = admin.get(f"{base_url}/v1/tenants/{slug}/audit/verify").json()
        if report["unsealed"] == 0 and report["last_checkpoint_seq"] == report["head_seq"] and report["head_seq"] >= 8:
            break
        assert time.monotonic() < deadline, report
        time.sleep(0.2)
    assert report["intact"], report

    export = admin.get(f"{base_url}/v1/tenants/{slug}/audit-events/export", params={"format": "ndjson"})
    assert export.status_code == 200, export.text
    assert export.headers["content-type"].startswith("application/x-ndjson")
    path = tmp_path / "audit.ndjson"
    path.write_bytes(export.content)
    keys = tmp_path / "keys.json"
    keys.write_bytes(admin.get(f"{base_url}/.well-known/jarvis-audit-keys.json").content)

    result = run_verifier(str(path), "--keys", str(keys))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "intact" in result.stdout

    # One character of one sealed event changed in the file.
    lines = export.text.split("\n")
    index = next(i for i, line in enumerate(lines) if '"type" : "event"' in line or '"type": "event"' in line)
    lines[index] = lines[index].replace("svc-", "SVC-", 1) if "svc-" in lines[index] else lines[index].replace("success", "failure", 1)
    tampered = tmp_path / "tampered.ndjson"
    tampered.write_text("\n".join(lines), encoding="utf-8")
    result = run_verifier(str(tampered))
    assert result.returncode == 1 and "changed" in result.stdout, result.stdout + result.stderr

    # A checkpoint whose signature was altered.
    lines = export.text.split("\n")
    index = next(i for i, line in enumerate(lines) if '"checkpoint"' in line)
    signature = lines[index].split('"signature" : "')[1][:2] if '"signature" : "' in lines[index] else None
    assert signature is not None, lines[index]
    lines[index] = lines[index].replace(f'"signature" : "{signature}', '"signature" : "' + ("00" if signature != "00" else "11"), 1)
    forged = tmp_path / "forged.ndjson"
    forged.write_text("\n".join(lines), encoding="utf-8")
    result = run_verifier(str(forged))
    assert result.returncode == 1 and "forged" in result.stdout, result.stdout + result.stderr

    # The command line recomputes the same chain from the database.
    cli = subprocess.run([os.environ["JARVIS_BIN"], "audit", "verify", "--tenant", slug], capture_output=True, text=True, timeout=60)
    assert cli.returncode == 0 and "\tok\t" in cli.stdout, cli.stdout + cli.stderr


def test_the_export_refuses_what_it_cannot_prove(base_url, admin):
    slug, *_ = seeded_tenant(base_url, admin)
    assert admin.get(f"{base_url}/v1/tenants/{slug}/audit-events/export", params={"format": "csv"}).status_code == 400
    assert admin.get(f"{base_url}/v1/tenants/{slug}/audit-events/export",
                     params={"from": "2030-01-02T00:00:00Z", "to": "2030-01-01T00:00:00Z"}).status_code == 400


def test_kill_9_during_a_burst_of_admin_writes_keeps_every_committed_event_and_the_chain(base_url, admin):
    """Service accounts created on an instance killed mid-burst: every acknowledged creation has its
    audit event, the chain (sealed by the surviving server) verifies, nothing waits unsealed."""
    import signal
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import psycopg
    import requests

    from instances import Instance

    slug, tenant_id, _, _, _ = seeded_tenant(base_url, admin)
    victim = Instance("audit-victim")
    acknowledged = set()
    stop = threading.Event()

    def create(n):
        if stop.is_set():
            return
        try:
            response = requests.post(f"{victim.url}/v1/tenants/{slug}/service-accounts", json={"name": f"burst-{n}"},
                                     headers={"Authorization": f"Bearer {os.environ['JARVIS_ADMIN_KEY']}"}, timeout=30)
            if response.status_code == 201:
                acknowledged.add(response.json()["id"])
        except requests.RequestException:
            pass

    killer = threading.Timer(0.8, lambda: (stop.set(), victim.process.send_signal(signal.SIGKILL)))
    killer.start()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(create, range(2_000)))
    killer.join()
    victim.process.wait()
    victim.stop()
    assert acknowledged, "nothing was acknowledged before the kill; nothing was tested"
    assert len(acknowledged) < 2_000, "the burst finished before the kill; nothing was tested"

    with psycopg.connect(os.environ["JARVIS_PLATFORM_DATABASE_URL"]) as db:
        audited = {row[0] for row in db.execute(
            "SELECT target_id FROM audit_events WHERE tenant_id = %s AND action = 'service_account.create'", (tenant_id,))}
        created = {str(row[0]) for row in db.execute(
            "SELECT id FROM principals WHERE tenant_id = %s AND kind = 'service_account'", (tenant_id,))}
    assert acknowledged <= created, "an acknowledged creation is missing"
    assert created == audited, "a committed creation has no audit event, or an event has no creation"

    deadline = time.monotonic() + 15
    while True:
        report = admin.get(f"{base_url}/v1/tenants/{slug}/audit/verify").json()
        if report["unsealed"] == 0:
            break
        assert time.monotonic() < deadline, report
        time.sleep(0.2)
    assert report["intact"] and report["checked"] >= len(created), report
    print(f"\nkill -9 mid-burst: {len(acknowledged)} acknowledged, {len(created)} committed, all audited; "
          f"chain of {report['checked']} links verifies")
