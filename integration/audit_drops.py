"""Fails when the server at the given /metrics URL dropped any audit event (security events, admin
reads, hot-path access counts), and shows that each kind was written at all."""
import re
import sys
import urllib.request

text = urllib.request.urlopen(sys.argv[1]).read().decode()
dropped = {m.group(1): float(m.group(2)) for m in re.finditer(r'^jarvis_audit_events_dropped_total\{kind="(\w+)"\} (\S+)$', text, re.M)}
written = {m.group(1): float(m.group(2)) for m in re.finditer(r'^jarvis_audit_events_written_total\{kind="(\w+)"\} (\S+)$', text, re.M)}
print(f"audit events written {written}, dropped {dropped}")
if any(value != 0 for value in dropped.values()):
    sys.exit(f"audit events were dropped: {dropped}")
if not all(written.get(kind, 0) > 0 for kind in ("security", "read", "access")):
    sys.exit(f"an audit event writer never wrote: {written}")
