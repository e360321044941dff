"""Gives the schemathesis tenant a prompt, a model and a flag named `st` (versions 1.0.0 and 1.1.0,
`production` on 1.0.0), so generated release requests reach real objects instead of 404s."""
import os
import sys

import requests

base, tenant = os.environ["JARVIS_URL"], sys.argv[1]
session = requests.Session()
session.headers["Authorization"] = f"Bearer {os.environ['JARVIS_ADMIN_KEY']}"
root = f"{base}/v1/tenants/{tenant}"


def ok(response):
    if response.status_code >= 300:
        sys.exit(f"seeding {response.request.method} {response.request.path_url}: {response.status_code} {response.text}")


ok(session.post(f"{root}/prompts", json={"name": "st"}))
ok(session.post(f"{root}/models", json={"name": "st", "provider": "schemathesis"}))
for version in ("1.0.0", "1.1.0"):
    ok(session.post(f"{root}/prompts/st/versions", json={"version": version, "template": "Hi {{who}}", "variables": [{"name": "who"}]}))
    ok(session.post(f"{root}/prompts/st/versions/{version}/publish"))
    ok(session.post(f"{root}/models/st/versions", json={"version": version, "provider_model_id": f"st-{version}"}))
ok(session.put(f"{root}/prompts/st/labels/production", json={"version": "1.0.0"}))
ok(session.put(f"{root}/models/st/labels/production", json={"version": "1.0.0"}))
ok(session.post(f"{root}/flags", json={"key": "st", "kind": "boolean", "default": "false", "rules": [{"percentage": 50, "value": "true"}]}))
