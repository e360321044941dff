#!/usr/bin/env bash
# Stops the local PostgreSQL cluster (data stays in .data/).
. "$(dirname "$0")/common.sh"
if [ -f "$PGDATA_DIR/PG_VERSION" ] && as_pg "$(pg_bin pg_ctl)" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
  as_pg "$(pg_bin pg_ctl)" -D "$PGDATA_DIR" -m fast -w stop
else
  log "PostgreSQL is not running"
fi
