#!/usr/bin/env bash
# `make bench`: builds release, starts one server with the bare baseline endpoint mounted, and
# measures with wrk in one run. Prints `bench <name> <value> <unit>` lines; HTTP figures are also
# given as ratios to the bare Hummingbird endpoint measured in the same run.
. "$(dirname "$0")/common.sh"
cd "$ROOT"
"$ROOT/scripts/setup.sh" jarvis_bench
command -v wrk >/dev/null || { sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo; $sudo apt-get install -y -qq wrk >/dev/null; }
load_secrets jarvis_bench
log "building (release)"
swift build -c release --product jarvis
BIN="$(swift build -c release --show-bin-path)/jarvis"
"$BIN" migrate >/dev/null

DURATION=${BENCH_SECONDS:-10}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
PORT=${JARVIS_BENCH_PORT:-18099}
URL="http://127.0.0.1:$PORT"
ADMIN_KEY=$("$BIN" bootstrap --additional "bench-$(date +%s)-$$" | tail -n 1)
OUT="$DATA/bench"
mkdir -p "$OUT"

log "in-process figures (one core)"
taskset -c 0 "$BIN" bench-crypto --seconds 2

# Logins are measured, not throttled: lockouts would turn them into cheap 429s.
JARVIS_PORT=$PORT LOG_LEVEL=error JARVIS_BENCH_BASELINE=1 JARVIS_DB_POOL_SIZE=16 JARVIS_PLATFORM_DB_POOL_SIZE=16 \
  JARVIS_LOGIN_MAX_FAILURES=1000 JARVIS_LOGIN_MAX_FAILURES_PER_ADDRESS=1000000 \
  "$BIN" serve > "$OUT/server.log" 2>&1 &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fsS "$URL/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

api() { curl -fsS -H "Authorization: Bearer $ADMIN_KEY" -H "Content-Type: application/json" "$@"; }
SLUG="bench-$(date +%s)"
api -X POST "$URL/v1/tenants" -d "{\"slug\":\"$SLUG\",\"name\":\"Bench\"}" >/dev/null
SA=$(api -X POST "$URL/v1/tenants/$SLUG/service-accounts" -d '{"name":"svc"}' | jq -r .id)
api -X POST "$URL/v1/tenants/$SLUG/role-bindings" -d "{\"principal_id\":\"$SA\",\"role\":\"developer\"}" >/dev/null
KEY=$(api -X POST "$URL/v1/tenants/$SLUG/api-keys" -d "{\"principal_id\":\"$SA\",\"name\":\"bench\"}" | jq -r .key)
USER=$(api -X POST "$URL/v1/tenants/$SLUG/users" -d "{\"email\":\"bench@$SLUG.example\"}" | jq -r .id)
PASSWORD="benchmark passphrase $SLUG"
api -X PUT "$URL/v1/tenants/$SLUG/users/$USER/password" -d "{\"password\":\"$PASSWORD\"}" >/dev/null
JWT=$(curl -fsS -H "Content-Type: application/json" -X POST "$URL/v1/auth/login" \
  -d "{\"tenant\":\"$SLUG\",\"email\":\"bench@$SLUG.example\",\"password\":\"$PASSWORD\"}" | jq -r .access_token)

post_script() {  # a wrk script that POSTs $1 as JSON
  printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = %s\n' "$(printf '%s' "$1" | jq -Rs .)" > "$2"
}
post_script "{\"tenant\":\"$SLUG\",\"email\":\"bench@$SLUG.example\",\"password\":\"$PASSWORD\"}" "$OUT/login.lua"
post_script "{\"credential\":\"$KEY\",\"permission\":\"documents:write\"}" "$OUT/check.lua"
BATCH=$(python3 -c "import json,sys; print(json.dumps({'items': [{'credential': sys.argv[1], 'permission': 'documents:write'}] * 100}))" "$KEY")
post_script "$BATCH" "$OUT/check-batch.lua"
post_script "{\"tenant\":\"$SLUG\",\"email\":\"bench@$SLUG.example\",\"password\":\"wrong password for bench\"}" "$OUT/login-wrong.lua"
post_script "{\"tenant\":\"$SLUG\",\"email\":\"nobody@$SLUG.example\",\"password\":\"wrong password for bench\"}" "$OUT/login-unknown.lua"

# run NAME CONNECTIONS [wrk args...]: records req/s, p50 and p99 for NAME.
run() {
  local name=$1 connections=$2; shift 2
  wrk -t2 -c"$connections" -d"${DURATION}s" --latency "$@" > "$OUT/$name.txt" 2>&1
  python3 - "$OUT/$name.txt" "$name" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
name = sys.argv[2]
def ms(v):
    n, unit = float(re.match(r"[\d.]+", v).group()), re.search(r"[a-z]+", v).group()
    return n * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
p99 = ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
print(f"bench {name}_throughput {rps:.0f} req/s")
print(f"bench {name}_p50 {p50:.3f} ms")
print(f"bench {name}_p99 {p99:.3f} ms")
if non2xx: print(f"bench {name}_non_2xx {non2xx.group(1)} responses")
open(sys.argv[1] + ".rps", "w").write(str(rps))
PY
}
ratio() { python3 -c "print(f'bench $1 {float(open(\"$OUT/$2.txt.rps\").read()) / float(open(\"$OUT/$3.txt.rps\").read()):.3f}')"; }

log "wrk: ${DURATION}s per figure, 2 threads"
run baseline "$CONNECTIONS" "$URL/_bench/baseline"
run me_api_key "$CONNECTIONS" -H "Authorization: Bearer $KEY" "$URL/v1/me"
run me_jwt "$CONNECTIONS" -H "Authorization: Bearer $JWT" "$URL/v1/me"
run check "$CONNECTIONS" -s "$OUT/check.lua" -H "Authorization: Bearer $ADMIN_KEY" "$URL/v1/check"
run check_batch100 "$CONNECTIONS" -s "$OUT/check-batch.lua" -H "Authorization: Bearer $ADMIN_KEY" "$URL/v1/check"
run login 8 -s "$OUT/login.lua" "$URL/v1/auth/login"
run login_wrong_password 8 -s "$OUT/login-wrong.lua" "$URL/v1/auth/login"
run login_unknown_email 8 -s "$OUT/login-unknown.lua" "$URL/v1/auth/login"
ratio me_api_key_vs_baseline_ratio me_api_key baseline
ratio me_jwt_vs_baseline_ratio me_jwt baseline
ratio check_vs_baseline_ratio check baseline
python3 -c "print(f'bench check_batch100_decisions {float(open(\"$OUT/check_batch100.txt.rps\").read()) * 100:.0f} decisions/s')"
ratio login_vs_baseline_ratio login baseline
ratio login_unknown_vs_wrong_password_ratio login_unknown_email login_wrong_password
