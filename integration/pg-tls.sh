#!/usr/bin/env bash
# PostgreSQL over TLS with `sslmode=verify-full`, in `make test`: a cluster of its own that accepts
# only TLS connections, with a server certificate for `localhost` from a CA made here. `jarvis
# migrate` and `jarvis serve` reach it with verify-full URLs (the server answers `/readyz` and
# stores a tenant; PostgreSQL reports every jarvis connection encrypted); the same URLs with a
# host name the certificate does not name, or with another CA, or without TLS, are refused.
. "$(dirname "$0")/../scripts/common.sh"
: "${JARVIS_BIN:?the jarvis binary (scripts/test.sh exports it)}"
WORK="$DATA/pg-tls-test"
PORT=${JARVIS_PG_TLS_TEST_PORT:-$((PG_PORT + 9))}
HTTP_PORT=${JARVIS_PG_TLS_HTTP_PORT:-$((${JARVIS_TEST_PORT:-18080} + 7))}
SOCKET="/tmp/jarvis-pg-tls-$(printf '%s' "$ROOT" | sha256sum | cut -c1-8)"
PG_BIN="$(dirname "$(pg_bin psql)")"
SERVER_PID=

stop_all() {
  [ -n "$SERVER_PID" ] && { kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true; }
  [ -f "$WORK/pg/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1 || true
}
stop_all
rm -rf "$WORK" "$SOCKET"
mkdir -p "$WORK/pki" "$SOCKET"
trap 'stop_all; rm -rf "$WORK" "$SOCKET"' EXIT
fail() { echo "pg-tls: $*" >&2; exit 1; }

# The CA, a server certificate naming only `localhost`, and an unrelated CA.
pki() { openssl "$@" >/dev/null 2>&1 || fail "openssl $1 failed"; }
cd "$WORK/pki"
pki req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=jarvis pg test CA" -keyout ca.key -out ca.crt
pki req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=another CA" -keyout other.key -out other.crt
pki req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr
printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n' > server.ext
pki x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -extfile server.ext -out server.crt
cd "$ROOT"
mkdir -p "$WORK/pg"
touch "$WORK/pg.log"
[ "$(id -u)" = 0 ] && chown -R postgres: "$WORK/pg" "$WORK/pg.log" "$SOCKET" && chown postgres: "$WORK/pki/server.key" "$WORK/pki/server.crt"
chmod 600 "$WORK/pki/server.key"
chmod 755 "$WORK" "$WORK/pki"

as_pg "$PG_BIN/initdb" -D "$WORK/pg" -U postgres --auth-local=trust -E UTF8 --locale=C.UTF-8 >/dev/null 2>&1
cat >> "$WORK/pg/postgresql.conf" <<EOC
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$SOCKET'
ssl = on
ssl_cert_file = '$WORK/pki/server.crt'
ssl_key_file = '$WORK/pki/server.key'
ssl_min_protocol_version = 'TLSv1.3'
EOC
# Over TCP: TLS with a password, nothing else.
cat > "$WORK/pg/pg_hba.conf" <<EOC
local all postgres trust
hostssl all all 127.0.0.1/32 scram-sha-256
hostnossl all all 0.0.0.0/0 reject
EOC
as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w -t 60 start >/dev/null

OWNER_PW=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
APP_PW=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
PLATFORM_PW=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
as_pg env JARVIS_OWNER_PASSWORD="$OWNER_PW" JARVIS_APP_PASSWORD="$APP_PW" JARVIS_PLATFORM_PASSWORD="$PLATFORM_PW" \
  JARVIS_DB_NAME=jarvis_tls "$PG_BIN/psql" -h "$SOCKET" -p "$PORT" -U postgres -XqA -d postgres -f "$ROOT/deploy/postgres/roles.sql" >/dev/null

url() { # role password [host] [extra]
  echo "postgresql://$1:$2@${3:-localhost}:$PORT/jarvis_tls?sslmode=verify-full&sslrootcert=$WORK/pki/ca.crt${4:-}"
}
export JARVIS_OWNER_DATABASE_URL="$(url jarvis_owner "$OWNER_PW")"
export JARVIS_DATABASE_URL="$(url jarvis_app "$APP_PW")"
export JARVIS_PLATFORM_DATABASE_URL="$(url jarvis_platform "$PLATFORM_PW")"

"$JARVIS_BIN" migrate > "$WORK/migrate.log" 2>&1 || { cat "$WORK/migrate.log" >&2; fail "migrate over verify-full failed"; }
ADMIN=$("$JARVIS_BIN" bootstrap --additional "pg-tls-admin" 2>"$WORK/bootstrap.log" | tail -n 1)
[ -n "$ADMIN" ] || { cat "$WORK/bootstrap.log" >&2; fail "bootstrap over verify-full failed"; }
JARVIS_PORT=$HTTP_PORT LOG_LEVEL=warning "$JARVIS_BIN" serve > "$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 150); do
  curl -fsS "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve.log" >&2; fail "the server over verify-full exited"; }
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null || fail "the server over verify-full is not ready"
status=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ADMIN" -H "Content-Type: application/json" \
  -X POST "http://127.0.0.1:$HTTP_PORT/v1/tenants" -d '{"slug": "over-tls", "name": "Over TLS"}')
[ "$status" = 201 ] || fail "creating a tenant through the server over verify-full gave $status"
sql() { as_pg "$PG_BIN/psql" -h "$SOCKET" -p "$PORT" -U postgres -XtAq -v ON_ERROR_STOP=1 -d jarvis_tls -c "$1"; }
[ "$(sql "SELECT count(*) FROM tenants WHERE slug = 'over-tls'")" = 1 ] || fail "the tenant was not stored"
counts=$(sql "SELECT count(*) FILTER (WHERE s.ssl AND s.version = 'TLSv1.3'), count(*) FILTER (WHERE NOT s.ssl)
  FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.application_name LIKE 'jarvis%'")
[ "${counts%|*}" -gt 0 ] && [ "${counts#*|}" = 0 ] || fail "expected only TLS 1.3 connections from jarvis, got (tls|plain) $counts"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=

# What verify-full must refuse: a host name the certificate does not name, a certificate from
# another CA; and the cluster refuses a connection without TLS.
refused() { # description url expected-text
  if JARVIS_OWNER_DATABASE_URL="$2" "$JARVIS_BIN" migrate > "$WORK/refused.log" 2>&1; then fail "$1: connected"; fi
  grep -qi "$3" "$WORK/refused.log" || { cat "$WORK/refused.log" >&2; fail "$1: refused, but not for the expected reason ($3)"; }
}
refused "host 127.0.0.1 (not in the certificate)" "$(url jarvis_owner "$OWNER_PW" 127.0.0.1)" "does not match host name"
refused "another CA" "postgresql://jarvis_owner:$OWNER_PW@localhost:$PORT/jarvis_tls?sslmode=verify-full&sslrootcert=$WORK/pki/other.crt" "certificate verify failed"
refused "no TLS" "postgresql://jarvis_owner:$OWNER_PW@localhost:$PORT/jarvis_tls?sslmode=disable" "no encryption"
log "PostgreSQL over TLS: migrate, serve and a write with sslmode=verify-full; wrong host, wrong CA and plain connections refused"
