#!/usr/bin/env bash
# `make run`: set everything up, then serve on $JARVIS_HOST:$JARVIS_PORT (default 127.0.0.1:8080).
. "$(dirname "$0")/common.sh"
"$ROOT/scripts/setup.sh" jarvis
load_secrets jarvis
cd "$ROOT"
CONFIG=${CONFIGURATION:-debug}
log "building ($CONFIG)"
swift_build -c "$CONFIG" --product jarvis
BIN="$(swift_build -c "$CONFIG" --show-bin-path)/jarvis"
"$BIN" migrate
if [ ! -f "$DATA/admin.key" ]; then
  "$BIN" bootstrap --key-file "$DATA/admin.key"
else
  log "platform admin key: $DATA/admin.key"
fi
# Forward auth needs route rules; without any it denies every route. The example rules serve until
# JARVIS_AUTHZ_RULES names the operator's own.
export JARVIS_AUTHZ_RULES=${JARVIS_AUTHZ_RULES:-$ROOT/deploy/authz-rules.example}
log "forward-auth route rules: $JARVIS_AUTHZ_RULES"
log "serving on http://${JARVIS_HOST:-127.0.0.1}:${JARVIS_PORT:-8080} (Ctrl-C stops; 'make stop' stops PostgreSQL)"
exec "$BIN" serve
