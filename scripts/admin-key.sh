#!/usr/bin/env bash
# `make admin-key`: a new super-admin key in .data/admin.key, for when the first one is lost.
. "$(dirname "$0")/common.sh"
cd "$ROOT"
if [ -e "$DATA/admin.key" ]; then
  echo "$DATA/admin.key exists; move it away first if you really want another super admin" >&2
  exit 1
fi
"$ROOT/scripts/setup.sh" jarvis
load_secrets jarvis
swift_build --product jarvis
"$(swift_build --show-bin-path)/jarvis" migrate >/dev/null
"$(swift_build --show-bin-path)/jarvis" bootstrap --additional "admin-$(date +%Y%m%d%H%M%S)" --key-file "$DATA/admin.key"
