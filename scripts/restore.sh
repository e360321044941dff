#!/usr/bin/env bash
# `scripts/restore.sh TARGET_TIME NEW_PGDATA PORT`: point-in-time restore into a new cluster — the
# newest base backup in $BACKUP_DIR/base taken before TARGET_TIME, then the archived WAL in
# $BACKUP_DIR/wal replayed up to TARGET_TIME (an ISO time with zone, e.g. 2026-11-30T05:00:00Z);
# the new cluster is started on PORT and promoted. The old cluster is not touched.
#   BACKUP_DIR=/backups scripts/restore.sh 2026-11-30T05:00:00Z /var/lib/postgresql/restored 5433
set -euo pipefail
: "${BACKUP_DIR:?set BACKUP_DIR to the backup directory}"
target_time=${1:?TARGET_TIME}; new_pgdata=${2:?NEW_PGDATA}; port=${3:?PORT}
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ ! -e "$new_pgdata" ] || { echo "restore: $new_pgdata exists; restore into a new directory" >&2; exit 1; }
target_epoch=$(date -u -d "$target_time" +%s)
# The form recovery_target_time takes (it refuses ISO 8601's "T…Z").
recovery_time=$(date -u -d "$target_time" '+%Y-%m-%d %H:%M:%S.%6N+00')
base=""
for candidate in $(ls -d "$BACKUP_DIR"/base/*Z 2>/dev/null | sort); do
  taken=$(basename "$candidate")
  taken_epoch=$(date -u -d "${taken:0:4}-${taken:4:2}-${taken:6:2}T${taken:9:2}:${taken:11:2}:${taken:13:2}Z" +%s)
  [ "$taken_epoch" -lt "$target_epoch" ] && base=$candidate
done
[ -n "$base" ] || { echo "restore: no base backup before $target_time in $BACKUP_DIR/base" >&2; exit 1; }
mkdir -p "$new_pgdata"
chmod 700 "$new_pgdata"
tar -xzf "$base/base.tar.gz" -C "$new_pgdata"
mkdir -p "$new_pgdata/pg_wal"
cat >> "$new_pgdata/postgresql.auto.conf" <<EOC
restore_command = 'cp $BACKUP_DIR/wal/%f %p'
recovery_target_time = '$recovery_time'
recovery_target_action = 'promote'
archive_mode = off
port = $port
EOC
touch "$new_pgdata/recovery.signal"
"$PG_BIN/pg_ctl" -D "$new_pgdata" -l "$new_pgdata/restore.log" -w -t 300 -o "-p $port -k /tmp" start >/dev/null
# Promoted once recovery reached the target: until then the cluster is read-only.
for _ in $(seq 1 600); do
  [ "$("$PG_BIN/psql" -h /tmp -p "$port" -XtAc "SELECT pg_is_in_recovery()" postgres 2>/dev/null)" = f ] && break
  sleep 0.5
done
[ "$("$PG_BIN/psql" -h /tmp -p "$port" -XtAc "SELECT pg_is_in_recovery()" postgres)" = f ] \
  || { echo "restore: recovery did not finish; see $new_pgdata/restore.log" >&2; exit 1; }
echo "restored $(basename "$base") + WAL to $target_time on port $port ($new_pgdata)"
