#!/usr/bin/env bash
# Installs what is missing, then creates (once) and starts the local PostgreSQL cluster under .data/,
# with the roles and the database named by $1 (default: jarvis). Idempotent.
. "$(dirname "$0")/common.sh"
DB_NAME=${1:-jarvis}

install_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

install_packages libpq-dev libssl-dev libargon2-dev pkg-config postgresql postgresql-contrib curl jq python3-venv

mkdir -p "$DATA"
chmod 700 "$DATA"

# Secrets are generated once; a variable a newer version needs is added to an existing file.
gen() { head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32; }
ensure_secret() {
  grep -q "^$1=" "$SECRETS" 2>/dev/null && return 0
  log "generating $1 in $SECRETS"
  printf '%s=%s\n' "$1" "$2" >> "$SECRETS"
}
( umask 077; touch "$SECRETS" )
ensure_secret JARVIS_OWNER_PASSWORD "$(gen)"
ensure_secret JARVIS_APP_PASSWORD "$(gen)"
ensure_secret JARVIS_PLATFORM_PASSWORD "$(gen)"
ensure_secret JARVIS_API_KEY_PEPPER "$(gen)$(gen)"
# 32 random bytes, base64: seals signing keys at rest (AES-256-GCM).
ensure_secret JARVIS_MASTER_KEY "$(head -c 32 /dev/urandom | base64 -w0)"

if [ "$(id -u)" = 0 ]; then
  # The cluster belongs to the postgres account, which must be able to reach it.
  if ! runuser -u postgres -- test -x "$ROOT"; then
    echo "the postgres OS user cannot reach $ROOT; move the checkout or open its parent directories (o+x)" >&2
    exit 1
  fi
  chmod 711 "$DATA"
fi

if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
  log "creating the PostgreSQL cluster in $PGDATA_DIR"
  mkdir -p "$PGDATA_DIR"
  [ "$(id -u)" = 0 ] && chown postgres: "$PGDATA_DIR"
  chmod 700 "$PGDATA_DIR"
  # Local socket: trust (the socket directory is private to the cluster owner and root);
  # TCP: passwords (SCRAM) for the three application roles.
  as_pg "$(pg_bin initdb)" -D "$PGDATA_DIR" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >/dev/null
  cat >> "$PGDATA_DIR/postgresql.conf" <<EOC
listen_addresses = '127.0.0.1'
port = $PG_PORT
max_connections = 200
shared_buffers = 256MB
password_encryption = 'scram-sha-256'
EOC
fi

mkdir -p "$PG_SOCKET_DIR"
[ "$(id -u)" = 0 ] && chown postgres: "$PG_SOCKET_DIR"
chmod 700 "$PG_SOCKET_DIR"
touch "$PG_LOG"
[ "$(id -u)" = 0 ] && chown postgres: "$PG_LOG"

if ! as_pg "$(pg_bin pg_ctl)" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
  log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  as_pg "$(pg_bin pg_ctl)" -D "$PGDATA_DIR" -l "$PG_LOG" -w -t 60 \
    -o "-p $PG_PORT -k $PG_SOCKET_DIR" start >/dev/null
fi

log "ensuring roles and database $DB_NAME"
(
  set -a
  . "$SECRETS"
  set +a
  export JARVIS_DB_NAME="$DB_NAME"
  psql -X -q -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres -d postgres -f "$ROOT/deploy/postgres/roles.sql" >/dev/null
)
