"""Loads every seeded key into the server's credential cache, and every seeded tenant's quota
state, through POST /v1/check batches (100 keys each, several connections), then prints how many decisions came back allowed, denied
and invalid, so a broken seed shows up before any figure is taken.
Usage: warm.py URL ADMIN_KEY KEYS_FILE"""
import http.client, json, sys, threading, urllib.parse
from concurrent.futures import ThreadPoolExecutor

url, admin, keys_file = sys.argv[1], sys.argv[2], sys.argv[3]
keys = [line.split()[1] for line in open(keys_file)]
target = urllib.parse.urlsplit(url)
local = threading.local()
counts = {"allowed": 0, "denied": 0, "invalid": 0}
lock = threading.Lock()


def batch(start):
    if not hasattr(local, "conn"):
        local.conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
    body = json.dumps({"items": [{"credential": k, "permission": "billing:read", "quota": {"requests": 1}} for k in keys[start:start + 100]]})
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
