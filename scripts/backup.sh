#!/usr/bin/env bash
# `scripts/backup.sh`: a base backup of a PostgreSQL cluster into $BACKUP_DIR/base/<UTC time>/ —
# with the WAL the cluster archives into $BACKUP_DIR/wal, what scripts/restore.sh needs for a
# point-in-time restore. The cluster archives when its postgresql.conf has
#   archive_mode = on
#   archive_command = 'test ! -f /backups/wal/%f && cp %p /backups/wal/%f'
# (managed services — RDS, CloudNativePG — do both themselves; this is for self-run clusters).
# Connection: the libpq environment (PGHOST, PGPORT, PGUSER: a superuser or a REPLICATION role).
#   BACKUP_DIR=/backups PGHOST=db PGUSER=postgres scripts/backup.sh
set -euo pipefail
: "${BACKUP_DIR:?set BACKUP_DIR to the backup directory}"
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
mkdir -p "$BACKUP_DIR/base" "$BACKUP_DIR/wal"
[ "$("$PG_BIN/psql" -XtAc "SHOW archive_mode")" != off ] || { echo "backup: the cluster does not archive WAL (archive_mode = off)" >&2; exit 1; }
label=$(date -u +%Y%m%dT%H%M%SZ)
target="$BACKUP_DIR/base/$label"
# Tar format, compressed; the WAL it needs comes from the archive (the restore reads it there).
"$PG_BIN/pg_basebackup" -D "$target.partial" -Ft -z -X none --checkpoint=fast --label "jarvis-$label" --no-password
# The backup's last WAL segment is archived before the backup counts as complete.
"$PG_BIN/psql" -XtAc "SELECT pg_switch_wal()" >/dev/null
mv "$target.partial" "$target"
echo "$target"
