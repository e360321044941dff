#!/usr/bin/env bash
# `make test`: set everything up, then run every test against the real PostgreSQL:
#   1. swift test (store, migrations, RLS, the API through the production router),
#   2. HTTP-level checks against one started server (pytest, the README quick start),
#   3. schemathesis: the running server against openapi/openapi.yaml,
#   4. the deployment artefacts, each by its own checker (scripts/check-deploy.sh), and a backup
#      restored to a point in time (integration/backup-restore.sh), and the server on PostgreSQL
#      over TLS with sslmode=verify-full (integration/pg-tls.sh).
. "$(dirname "$0")/common.sh"
cd "$ROOT"
"$ROOT/scripts/setup.sh" jarvis_test
# nginx for the forward-auth integration test.
if ! dpkg-query -W -f='${Status}' nginx 2>/dev/null | grep -q 'install ok installed'; then
  log "installing nginx"
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nginx >/dev/null
fi

VENV="$DATA/venv"
WANT=$(sha256sum integration/requirements.txt | cut -c1-64)
if [ "$(cat "$VENV/.requirements.sha256" 2>/dev/null)" != "$WANT" ]; then
  log "installing the test tools (integration/requirements.txt) into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r integration/requirements.txt
  echo "$WANT" > "$VENV/.requirements.sha256"
fi

# The FinOps Foundation's FOCUS validator, in a virtualenv of its own (it pins pandas and friends).
FOCUS_VENV="$DATA/focus-venv"
WANT=$(sha256sum integration/focus-requirements.txt | cut -c1-64)
if [ "$(cat "$FOCUS_VENV/.requirements.sha256" 2>/dev/null)" != "$WANT" ]; then
  log "installing focus-validator (integration/focus-requirements.txt) into $FOCUS_VENV"
  python3 -m venv "$FOCUS_VENV"
  "$FOCUS_VENV/bin/pip" install -q --disable-pip-version-check -r integration/focus-requirements.txt
  echo "$WANT" > "$FOCUS_VENV/.requirements.sha256"
fi
export JARVIS_FOCUS_VENV="$FOCUS_VENV"

load_secrets jarvis_test
log "building"
swift_build --build-tests
BIN="$(swift_build --show-bin-path)/jarvis"
"$BIN" migrate

log "swift test"
swift test --skip-build

PORT=${JARVIS_TEST_PORT:-18080}
ADMIN_KEY=$("$BIN" bootstrap --additional "ci-admin-$(date +%s)-$$" | tail -n 1)
log "starting the server on 127.0.0.1:$PORT"
JARVIS_PORT=$PORT LOG_LEVEL=info JARVIS_WEBHOOK_ALLOW_LOOPBACK=1 JARVIS_AUTHZ_RULES="$ROOT/integration/http/authz-rules.txt" "$BIN" serve > "$DATA/test-server.log" 2>&1 &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$DATA/test-server.log"; exit 1; }
  sleep 0.1
done
export JARVIS_URL="http://127.0.0.1:$PORT" JARVIS_ADMIN_KEY="$ADMIN_KEY" JARVIS_SERVER_LOG="$DATA/test-server.log" JARVIS_BIN="$BIN"

log "HTTP checks (pytest)"
"$VENV/bin/python" -m pytest -q -s -p no:cacheprovider integration/http

log "schemathesis against openapi/openapi.yaml"
make_tenant() {
  curl -fsS -H "Authorization: Bearer $ADMIN_KEY" -H "Content-Type: application/json" -X POST "$JARVIS_URL/v1/tenants" \
    -d "{\"slug\": \"$1\", \"name\": \"schemathesis\"}" >/dev/null
  echo "$1"
}
export JARVIS_SCHEMATHESIS_TENANT=$(make_tenant "st-$(date +%s)-$$")
export JARVIS_SCHEMATHESIS_VICTIM=$(make_tenant "st-victim-$(date +%s)-$$")
export JARVIS_SCHEMATHESIS_PERIOD=$(date -u -d "$(date -u +%Y-%m-01) -1 day" +%Y-%m)
"$VENV/bin/python" integration/seed_releases.py "$JARVIS_SCHEMATHESIS_TENANT"
"$VENV/bin/schemathesis" --config-file integration/schemathesis.toml run openapi/openapi.yaml \
  --url "$JARVIS_URL" -H "Authorization: Bearer $ADMIN_KEY" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-25}" --seed 1 --workers 1 --no-color \
  --exclude-path /metrics --suppress-health-check all

# Audit events are never lost under the whole run's load: every drop counter (security, read,
# access) is still zero after pytest and schemathesis.
sleep 6  # the access tally writes finished minutes every 5 s
python3 integration/audit_drops.py "$JARVIS_URL/metrics"

"$ROOT/scripts/check-deploy.sh"
log "backup and point-in-time restore"
"$ROOT/integration/backup-restore.sh"
log "PostgreSQL over TLS (sslmode=verify-full)"
"$ROOT/integration/pg-tls.sh"

log "all tests passed"
