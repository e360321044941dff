#!/usr/bin/env bash
# The scale run (issue 15), `make bench-scale`, and the last part of `make bench` unless BENCH_SCALE=0:
# 100,000 tenants and 1,000,000 API keys seeded straight into a database of their own (jarvis_scale,
# once), then: the cached decision in process with the whole million drawn uniformly, the server's
# resident set per cached key, the time to warm every key through /v1/check batches, and /v1/check
# throughput with keys drawn uniformly (a working set far larger than the CPU caches) against the
# bare endpoint in the same run, with the resident set before and after.
# Prints `bench scale_<name> <value> <unit>` lines.
. "$(dirname "$0")/../common.sh"
cd "$ROOT"
DB=jarvis_scale
TENANTS=${SCALE_TENANTS:-100000}
KEYS=${SCALE_KEYS:-1000000}
DURATION=${BENCH_SECONDS:-10}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
PORT=${JARVIS_SCALE_PORT:-18109}
URL="http://127.0.0.1:$PORT"
OUT="$DATA/bench-scale"
mkdir -p "$OUT"
"$ROOT/scripts/setup.sh" "$DB"
load_secrets "$DB"
PATH="$PATH:/usr/sbin"
command -v wrk >/dev/null || { sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo; DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk >/dev/null; }
BIN="$(swift_build -c release --show-bin-path)/jarvis"
[ -x "$BIN" ] || { log "building (release)"; swift_build -c release --product jarvis; }
"$BIN" migrate >/dev/null
# The cluster's superuser loads the fixture: one COPY per table, past row-level security.
superpsql() { as_pg psql -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres -d "$DB" -Xq "$@"; }

SEED_KEYS="$OUT/seed-keys.txt"
seeded=$(psql "$JARVIS_PLATFORM_DATABASE_URL" -tAc "SELECT count(*) FROM tenants WHERE slug LIKE 'scale-t%'")
if [ "$seeded" != "$TENANTS" ] || [ "$(wc -l < "$SEED_KEYS" 2>/dev/null || echo 0)" != "$KEYS" ]; then
  if [ "$seeded" != 0 ]; then
    log "scale data does not match its keys file: recreating $DB"
    as_pg psql -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres -d postgres -Xqc "DROP DATABASE $DB"
    "$ROOT/scripts/setup.sh" "$DB"
    "$BIN" migrate >/dev/null
  fi
  log "seeding $TENANTS tenants and $KEYS API keys into $DB (once)"
  start=$(date +%s)
  python3 "$ROOT/scripts/bench/scale-seed.py" --tenants "$TENANTS" --keys "$KEYS" --keys-out "$SEED_KEYS.tmp" | superpsql >/dev/null
  mv "$SEED_KEYS.tmp" "$SEED_KEYS"
  superpsql -c "VACUUM ANALYZE tenants, principals, role_bindings, roles, custom_permissions, api_keys"
  echo "bench scale_seed_seconds $(($(date +%s) - start)) s"
fi
ADMIN_KEY=$("$BIN" bootstrap --additional "scale-$(date +%s)-$$" | tail -n 1)

log "scale: the cached decision in process, $KEYS keys of $TENANTS tenants, drawn uniformly"
taskset -c 0 "$BIN" bench-decision --keys "$KEYS" --tenants "$TENANTS" --spread "$KEYS" | sed 's/^bench /bench scale_/'

# Room for every key, and an hour's life for an idle one: warming a million keys takes longer than the
# default five minutes, and the figures are what a cached key costs and how the cached path runs.
JARVIS_PORT=$PORT LOG_LEVEL=error JARVIS_BENCH_BASELINE=1 JARVIS_AUDIT_SEALER_OFF=1 JARVIS_DB_POOL_SIZE=16 JARVIS_PLATFORM_DB_POOL_SIZE=16 \
  JARVIS_CREDENTIAL_CACHE_CAPACITY=$((KEYS * 5 / 4)) JARVIS_CREDENTIAL_CACHE_MAX_AGE_SECONDS=3600 "$BIN" serve > "$OUT/server.log" 2>&1 &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fsS "$URL/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
rss() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$SERVER_PID/status"; }

log "scale: warming the credential cache with $KEYS keys"
RSS_BEFORE=$(rss)
start=$(date +%s.%N)
python3 "$ROOT/scripts/bench/warm.py" "$URL" "$ADMIN_KEY" "$SEED_KEYS" --no-quota
echo "bench scale_warm_seconds $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }') s ($KEYS keys)"
RSS_WARMED=$(rss)
echo "bench scale_server_rss_growth_per_cached_key_right_after_warm $(((RSS_WARMED - RSS_BEFORE) / KEYS)) bytes"
# Settled: the warm-up's access tally (a row per principal and minute) and key-use records are
# written out within a minute, and their maps let go; what stays is the cache.
sleep 65
RSS_AFTER=$(rss)
echo "bench scale_server_rss_with_keys_cached $((RSS_AFTER / 1024 / 1024)) MiB"
echo "bench scale_server_rss_growth_per_cached_key $(((RSS_AFTER - RSS_BEFORE) / KEYS)) bytes"
# Then every tenant's quota state (one check with a request draw per tenant), apart from the keys.
# Only the growth of the resident set: quota states may fill memory the warm-up's maps left free
# (a run on 2026-11-30 read 1 B per tenant that way, against 442 B before), so a low figure here
# is not the states' size.
python3 "$ROOT/scripts/bench/warm.py" "$URL" "$ADMIN_KEY" "$SEED_KEYS" --quota-only
RSS_QUOTA=$(rss)
echo "bench scale_server_rss_growth_per_tenant_quota_state $(((RSS_QUOTA - RSS_AFTER) / TENANTS)) bytes"

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; }
figure() {  # figure NAME KIND: wrk over the keys file, req/s, p99 and server CPU per request
  local before; before=$(cpu_ticks)
  BENCH_KIND=$2 BENCH_KEYS="$SEED_KEYS" BENCH_ADMIN="$ADMIN_KEY" BENCH_CONNECTIONS=$CONNECTIONS \
    wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$ROOT/scripts/bench/requests.lua" "$URL" > "$OUT/$1.txt" 2>&1
  python3 - "$OUT/$1.txt" "$1" "$(( $(cpu_ticks) - before ))" "$(getconf CLK_TCK)" <<'PY'
import re, sys
text, name = open(sys.argv[1]).read(), sys.argv[2]
requests = int(re.search(r"(\d+) requests in", text).group(1))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1)
non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
print(f"bench scale_{name}_throughput {rps:.0f} req/s")
print(f"bench scale_{name}_p99 {p99}")
print(f"bench scale_{name}_server_cpu_per_request {int(sys.argv[3]) / int(sys.argv[4]) * 1e6 / max(requests, 1):.1f} us")
if non2xx: print(f"bench scale_{name}_non_2xx {non2xx.group(1)} responses")
open(sys.argv[1] + ".rps", "w").write(str(rps))
PY
}
log "scale: /v1/check with keys drawn uniformly from $KEYS, against the bare endpoint"
# Interleaved, as in the main run; the ratio is the median of three rounds.
for round in 1 2 3; do
  figure "baseline_round$round" baseline
  figure "check_uniform_round$round" check_uniform
done
python3 - "$OUT" <<'PY'
import statistics, sys
rps = lambda name: float(open(f"{sys.argv[1]}/{name}.txt.rps").read())
ratios = [rps(f"check_uniform_round{r}") / rps(f"baseline_round{r}") for r in (1, 2, 3)]
print(f"bench scale_check_uniform_vs_baseline_ratio_median {statistics.median(ratios):.3f} (rounds {', '.join(f'{x:.3f}' for x in ratios)})")
PY
echo "bench scale_server_rss_after_uniform_checks $(($(rss) / 1024 / 1024)) MiB"
