"""A real nginx with auth_request in front of a tiny upstream, asking our /v1/authz."""
import http.server
import threading

import pytest
import requests

from instances import Nginx, free_port


class Upstream(http.server.BaseHTTPRequestHandler):
    def do_any(self):
        body = f"upstream saw {self.command} {self.path} tenant={self.headers.get('X-Jarvis-Tenant')} principal={self.headers.get('X-Jarvis-Principal')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = do_PUT = do_any

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def gateway(base_url):
    upstream_port, gateway_port = free_port(), free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", upstream_port), Upstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    jarvis = base_url.replace("http://", "")
    gateway = Nginx(f"""
    server {{
        listen 127.0.0.1:{gateway_port};
        location = /_authz {{
            internal;
            proxy_pass http://{jarvis}/v1/authz;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Original-Method $request_method;
        }}
        location / {{
            auth_request /_authz;
            auth_request_set $jarvis_tenant $upstream_http_x_jarvis_tenant;
            auth_request_set $jarvis_principal $upstream_http_x_jarvis_principal;
            proxy_set_header X-Jarvis-Tenant $jarvis_tenant;
            proxy_set_header X-Jarvis-Principal $jarvis_principal;
            proxy_pass http://127.0.0.1:{upstream_port};
        }}
    }}""", gateway_port)
    yield gateway.url
    gateway.stop()
    server.shutdown()


def test_nginx_lets_allowed_requests_through_and_stops_the_rest(base_url, admin, slug, gateway):
    tenant = admin.post(f"{base_url}/v1/tenants", json={"slug": slug, "name": "Gateway"}).json()
    account = admin.post(f"{base_url}/v1/tenants/{slug}/service-accounts", json={"name": "reader"}).json()
    assert admin.post(f"{base_url}/v1/tenants/{slug}/role-bindings", json={"principal_id": account["id"], "role": "viewer"}).status_code == 201
    key = admin.post(f"{base_url}/v1/tenants/{slug}/api-keys", json={"principal_id": account["id"], "name": "gw"}).json()["key"]
    auth = {"Authorization": f"Bearer {key}"}

    allowed = requests.get(f"{gateway}/documents/42", headers=auth)
    assert allowed.status_code == 200
    assert allowed.text == f"upstream saw GET /documents/42 tenant={tenant['id']} principal={account['id']}"

    assert requests.post(f"{gateway}/documents/42", headers=auth).status_code == 403  # viewers do not write
    assert requests.get(f"{gateway}/admin/secret", headers=auth).status_code == 403  # no rule: denied
    assert requests.get(f"{gateway}/documents/42").status_code == 401  # no credential
    assert requests.get(f"{gateway}/documents/42", headers={"Authorization": "Bearer jvs_nope"}).status_code == 401

    # Revoking the key closes the gateway at once.
    keys = admin.get(f"{base_url}/v1/tenants/{slug}/api-keys", params={"principal_id": account["id"]}).json()["items"]
    assert admin.delete(f"{base_url}/v1/tenants/{slug}/api-keys/{keys[0]['id']}").status_code == 200
    assert requests.get(f"{gateway}/documents/42", headers=auth).status_code == 401


def test_authz_speaks_traefik_and_envoy_too(base_url, admin, slug):
    admin.post(f"{base_url}/v1/tenants", json={"slug": slug, "name": "Envoy"})
    account = admin.post(f"{base_url}/v1/tenants/{slug}/service-accounts", json={"name": "dev"}).json()
    admin.post(f"{base_url}/v1/tenants/{slug}/role-bindings", json={"principal_id": account["id"], "role": "developer"})
    key = admin.post(f"{base_url}/v1/tenants/{slug}/api-keys", json={"principal_id": account["id"], "name": "k"}).json()["key"]
    auth = {"Authorization": f"Bearer {key}"}
    traefik = requests.get(f"{base_url}/v1/authz", headers={**auth, "X-Forwarded-Method": "POST", "X-Forwarded-Uri": "/chat/send"})
    assert traefik.status_code == 200 and traefik.headers["X-Jarvis-Principal"] == account["id"]
    assert requests.delete(f"{base_url}/v1/authz/documents/9", headers=auth).status_code == 403  # developers do not delete
    assert requests.post(f"{base_url}/v1/authz/workflows/run/1", headers=auth).status_code == 200
    missing = requests.get(f"{base_url}/v1/authz", headers=auth)
    assert missing.status_code == 400 and missing.headers["Content-Type"] == "application/problem+json"


def raw_get(url, path, headers):
    """A GET with the path exactly as written (no client-side normalisation)."""
    import http.client
    host, port = url.replace("http://", "").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", path, headers=headers)
    status = connection.getresponse().status
    connection.close()
    return status


def test_dressed_up_paths_do_not_get_past_nginx(base_url, admin, slug, gateway):
    admin.post(f"{base_url}/v1/tenants", json={"slug": slug, "name": "Dressed"}).raise_for_status()
    admin.post(f"{base_url}/v1/tenants/{slug}/roles", json={"name": "doc_reader", "permissions": ["documents:read"]}).raise_for_status()
    account = admin.post(f"{base_url}/v1/tenants/{slug}/service-accounts", json={"name": "reader"}).json()
    admin.post(f"{base_url}/v1/tenants/{slug}/role-bindings", json={"principal_id": account["id"], "role": "doc_reader"}).raise_for_status()
    key = admin.post(f"{base_url}/v1/tenants/{slug}/api-keys", json={"principal_id": account["id"], "name": "gw"}).json()["key"]
    auth = {"Authorization": f"Bearer {key}"}
    assert raw_get(gateway, "/documents/1", auth) == 200
    for path in ["/documents/../chat/1", "/documents/%2e%2e/chat/1", "/documents/./../chat/1", "/documents/..%2fchat/1"]:
        # 403 from the rules, or 500 where nginx turns our 400 (an ambiguous path) into an error: never the upstream.
        assert raw_get(gateway, path, auth) in (400, 403, 500), path
