#!/usr/bin/env bash
# Part of `make bench` (sourced by bench.sh, which sets BIN, URL, PORT, ADMIN_KEY, SEED_KEYS, OUT,
# lua and the database environment): what the shared quota allowances cost PostgreSQL with
# 1,000 active tenants and 3 instances. Each tenant's one key is checked with a request draw on
# all three instances at once for 10 s, twice: with the tenants far below their request limit
# (1,000,000/s, as seeded) and near it (10/s: the instances run dry and top up all the time).
# Prints rows written to quota_allowances and statements per second, from the instances'
# counters, and rows per (limit × instance) per second: the figure the README's arithmetic for
# 100,000 tenants × 50 instances starts from.

log "quota allowances: database traffic with 1,000 tenants on 3 instances"
TRAFFIC_KEYS="$OUT/traffic-keys.txt"
awk '!seen[$1]++' "$SEED_KEYS" > "$TRAFFIC_KEYS"
TRAFFIC_TENANTS=$(wc -l < "$TRAFFIC_KEYS")
TRAFFIC_URLS=("$URL")
TRAFFIC_PIDS=()
for n in 3 4; do
  JARVIS_PORT=$((PORT + n)) LOG_LEVEL=error JARVIS_AUDIT_SEALER_OFF=1 JARVIS_DB_POOL_SIZE=8 JARVIS_PLATFORM_DB_POOL_SIZE=8 \
    "$BIN" serve > "$OUT/server-traffic-$n.log" 2>&1 &
  TRAFFIC_PIDS+=($!)
  TRAFFIC_URLS+=("http://127.0.0.1:$((PORT + n))")
done
for url in "${TRAFFIC_URLS[@]}"; do
  for _ in $(seq 1 100); do curl -fsS "$url/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  python3 "$ROOT/scripts/bench/warm.py" "$url" "$ADMIN_KEY" "$TRAFFIC_KEYS" >/dev/null
done

allowance_counters() {  # the sum over the three instances: "statements rows"
  for url in "${TRAFFIC_URLS[@]}"; do curl -fsS "$url/metrics"; done | awk '
    /^jarvis_quota_allowance_statements_total/ { s += $2 }
    /^jarvis_quota_allowance_rows_total/ { r += $2 }
    END { printf "%d %d\n", s, r }'
}
traffic_phase() {  # traffic_phase NAME
  local before after seconds=10 loads=()
  before=$(allowance_counters)
  for url in "${TRAFFIC_URLS[@]}"; do
    BENCH_KIND=check_quota_draw BENCH_KEYS="$TRAFFIC_KEYS" BENCH_ADMIN="$ADMIN_KEY" BENCH_CONNECTIONS=20 \
      wrk -t1 -c20 -d"${seconds}s" -s "$lua" "$url" > "$OUT/allowance-$1-${url##*:}.txt" 2>&1 &
    loads+=($!)
  done
  wait "${loads[@]}"
  after=$(allowance_counters)
  python3 - "$1" "$before" "$after" "$seconds" "$TRAFFIC_TENANTS" "$OUT" <<'PY'
import glob, re, sys
name, before, after, seconds, tenants, out = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), float(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
statements, rows = (int(a) - int(b) for a, b in zip(after, before))
checks = sum(float(re.search(r"Requests/sec:\s+([\d.]+)", open(f).read()).group(1)) for f in glob.glob(f"{out}/allowance-{name}-*.txt"))
pairs = tenants * 3  # one request limit per tenant, on each instance
print(f"bench allowance_{name}_checks {checks:.0f} req/s (3 instances)")
print(f"bench allowance_{name}_statements_per_second {statements / seconds:.1f} statements/s")
print(f"bench allowance_{name}_rows_per_second {rows / seconds:.1f} rows/s")
print(f"bench allowance_{name}_rows_per_limit_instance_second {rows / seconds / pairs:.4f} rows/s ({pairs} limit x instance pairs)")
PY
}
# Each tenant's request policy, for the phase near the limit and back.
set_request_limits() {  # set_request_limits LIMIT
  python3 - "$URL" "$ADMIN_KEY" "$TRAFFIC_KEYS" "$1" <<'PY'
import json, sys, urllib.request
url, admin, keys_file, limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def call(method, path, body=None):
    request = urllib.request.Request(url + path, json.dumps(body).encode() if body else None, method=method,
                                     headers={"Authorization": f"Bearer {admin}", "Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(request).read() or "null")
for t in sorted({int(line.split()[0]) for line in open(keys_file)}):
    for policy in call("GET", f"/v1/tenants/seed-t{t:05d}/quotas")["items"]:
        if policy["metric"] == "requests" and policy["subject_kind"] == "tenant":
            call("PATCH", f"/v1/tenants/seed-t{t:05d}/quotas/{policy['id']}", {"limit": limit, "burst": limit})
PY
}
traffic_phase far_below_limit
set_request_limits 10
# Every instance reloads the changed policies on each tenant's next check: done before measuring.
for url in "${TRAFFIC_URLS[@]}"; do python3 "$ROOT/scripts/bench/warm.py" "$url" "$ADMIN_KEY" "$TRAFFIC_KEYS" >/dev/null 2>&1 || true; done
traffic_phase near_limit
set_request_limits 1000000
kill "${TRAFFIC_PIDS[@]}" 2>/dev/null; wait "${TRAFFIC_PIDS[@]}" 2>/dev/null || true
