#!/usr/bin/env bash
# Backups restored, in `make test`: a cluster of its own (archiving WAL), rows written, a base
# backup (scripts/backup.sh), more rows, a point in time noted, more rows; then
# scripts/restore.sh into a new cluster at that time must hold exactly the rows written before it.
. "$(dirname "$0")/../scripts/common.sh"
WORK="$DATA/backup-test"
SOCKET="/tmp/jarvis-backup-test-$(printf '%s' "$ROOT" | sha256sum | cut -c1-8)"
PORT=${JARVIS_BACKUP_TEST_PORT:-$((PG_PORT + 7))}
RESTORED_PORT=$((PORT + 1))
export BACKUP_DIR="$WORK/backups" PG_BIN="$(dirname "$(pg_bin psql)")"

stop_all() {
  for dir in "$WORK/pg" "$WORK/restored"; do
    [ -f "$dir/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$dir" -m immediate stop >/dev/null 2>&1 || true
  done
}
stop_all
rm -rf "$WORK" "$SOCKET"
mkdir -p "$WORK/backups/wal" "$SOCKET"
[ "$(id -u)" = 0 ] && chown -R postgres: "$WORK" "$SOCKET"
trap 'stop_all; rm -rf "$WORK" "$SOCKET"' EXIT

as_pg "$PG_BIN/initdb" -D "$WORK/pg" -U postgres --auth-local=trust -E UTF8 --locale=C.UTF-8 >/dev/null
cat >> "$WORK/pg/postgresql.conf" <<EOC
listen_addresses = ''
port = $PORT
unix_socket_directories = '$SOCKET'
archive_mode = on
archive_command = 'test ! -f $BACKUP_DIR/wal/%f && cp %p $BACKUP_DIR/wal/%f'
EOC
as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w -t 60 start >/dev/null
sql() { as_pg "$PG_BIN/psql" -h "$SOCKET" -p "$PORT" -U postgres -XtAq -v ON_ERROR_STOP=1 -d postgres -c "$1"; }

sql "CREATE TABLE ledger (id integer PRIMARY KEY, written text NOT NULL)"
sql "INSERT INTO ledger SELECT g, 'before the backup' FROM generate_series(1, 3) g"
as_pg env BACKUP_DIR="$BACKUP_DIR" PG_BIN="$PG_BIN" PGHOST="$SOCKET" PGPORT="$PORT" PGUSER=postgres "$ROOT/scripts/backup.sh" >/dev/null
sql "INSERT INTO ledger SELECT g, 'after the backup' FROM generate_series(4, 6) g"
sleep 1.1
TARGET=$(sql "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
sleep 1.1
sql "INSERT INTO ledger SELECT g, 'after the target time' FROM generate_series(7, 9) g"
# The segment holding the last rows goes to the archive, so recovery sees past the target.
sql "SELECT pg_switch_wal()" >/dev/null
for _ in $(seq 1 100); do
  [ "$(sql "SELECT last_archived_wal >= pg_walfile_name(pg_current_wal_lsn() - 1) FROM pg_stat_archiver")" = t ] && break
  sleep 0.1
done

as_pg env BACKUP_DIR="$BACKUP_DIR" PG_BIN="$PG_BIN" "$ROOT/scripts/restore.sh" "$TARGET" "$WORK/restored" "$RESTORED_PORT" >/dev/null
restored=$(as_pg "$PG_BIN/psql" -h /tmp -p "$RESTORED_PORT" -U postgres -XtAq -d postgres -c "SELECT string_agg(id::text, ',' ORDER BY id) FROM ledger")
if [ "$restored" != "1,2,3,4,5,6" ]; then
  echo "backup-restore: restored to $TARGET, expected rows 1-6, found '$restored'" >&2
  exit 1
fi
log "backup + point-in-time restore: rows 1-6 back, 7-9 (after the target) not"
