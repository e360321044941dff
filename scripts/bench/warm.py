"""Loads every seeded key into the server's credential cache, and every seeded tenant's quota
state, through POST /v1/check batches (100 keys each, several connections), then prints how many decisions came back allowed, denied
and invalid, so a broken seed shows up before any figure is taken.
Usage: warm.py URL ADMIN_KEY KEYS_FILE [--no-quota | --quota-only]
  --no-quota    the credentials alone (the scale run's memory per cached key)
  --quota-only  one key per tenant, drawing from its quota (memory per tenant's quota state)"""
import http.client, json, sys, threading, urllib.parse
from concurrent.futures import ThreadPoolExecutor

url, admin, keys_file = sys.argv[1], sys.argv[2], sys.argv[3]
mode = sys.argv[4] if len(sys.argv) > 4 else ""
if mode not in ("", "--no-quota", "--quota-only"):
    raise SystemExit(f"warm-up: unknown option {mode}")
lines = [line.split() for line in open(keys_file)]
if mode == "--quota-only":
    seen = set()
    lines = [l for l in lines if l[0] not in seen and not seen.add(l[0])]
keys = [key for _, key in lines]
template = {"permission": "billing:read"} if mode == "--no-quota" else {"permission": "billing:read", "quota": {"requests": 1}}
target = urllib.parse.urlsplit(url)
local = threading.local()
counts = {"allowed": 0, "denied": 0, "invalid": 0}
lock = threading.Lock()


def batch(start):
    if not hasattr(local, "conn"):
        local.conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
    body = json.dumps({"items": [dict(template, credential=k) for k in keys[start:start + 100]]})
    local.conn.request("POST", "/v1/check", body, {"Authorization": f"Bearer {admin}", "Content-Type": "application/json"})
    response = local.conn.getresponse()
    answer = json.loads(response.read())
    if response.status != 200:
        raise SystemExit(f"warm-up: /v1/check answered {response.status}: {answer}")
    with lock:
        for item in answer["items"]:
            if item["allowed"]:
                counts["allowed"] += 1
            elif item.get("reason") == "permission_denied":
                counts["denied"] += 1
            else:
                counts["invalid"] += 1


with ThreadPoolExecutor(8) as pool:
    list(pool.map(batch, range(0, len(keys), 100)))
print(f"warm-up: {counts['allowed']} allowed, {counts['denied']} denied, {counts['invalid']} invalid of {len(keys)} keys")
if counts["invalid"]:
    raise SystemExit("warm-up: some seeded keys were not accepted")
