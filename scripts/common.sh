# Shared settings for the scripts: sourced, not run.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA="$ROOT/.data"
export PATH="/opt/swift/usr/bin:$PATH"
PG_PORT=${JARVIS_PG_PORT:-55432}
PGDATA_DIR="$DATA/pg"
PG_LOG="$DATA/pg.log"
SECRETS="$DATA/secrets.env"
# Unix socket paths are limited to ~107 bytes; a deep checkout gets a short socket dir in /tmp.
PG_SOCKET_DIR="$DATA/pg-run"
if [ ${#PG_SOCKET_DIR} -gt 80 ]; then
  PG_SOCKET_DIR="/tmp/jarvis-pg-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)"
fi

log() { printf '==> %s\n' "$*" >&2; }

# SwiftPM makes the environment part of what a build depends on: the settings `make run` and
# `make test` export differ, so building with them would recompile modules on every switch
# (about 30 s). Builds therefore see a fixed environment.
SWIFT_BIN=$(dirname "$(command -v swift)")
swift_build() { env -i HOME="$HOME" PATH="$SWIFT_BIN:/usr/local/bin:/usr/bin:/bin" swift build "$@"; }

# Runs a command as the OS user that owns the cluster (postgres refuses to run as root).
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] || { echo "PostgreSQL server binaries not found" >&2; exit 1; }
  printf '%s/%s' "$dir" "$1"
}

# The connection strings the server and tests use, from the generated secrets.
load_secrets() {
  # shellcheck disable=SC1090
  . "$SECRETS"
  local db=${1:-jarvis}
  export JARVIS_DATABASE_URL="postgresql://jarvis_app:${JARVIS_APP_PASSWORD}@127.0.0.1:${PG_PORT}/${db}"
  export JARVIS_PLATFORM_DATABASE_URL="postgresql://jarvis_platform:${JARVIS_PLATFORM_PASSWORD}@127.0.0.1:${PG_PORT}/${db}"
  export JARVIS_OWNER_DATABASE_URL="postgresql://jarvis_owner:${JARVIS_OWNER_PASSWORD}@127.0.0.1:${PG_PORT}/${db}"
  export JARVIS_API_KEY_PEPPER JARVIS_MASTER_KEY
  export JARVIS_MIGRATIONS_DIR="$ROOT/Migrations"
}
