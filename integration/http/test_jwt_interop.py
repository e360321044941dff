"""PyJWT, an independent JWT implementation, agrees with ours in both directions."""
import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_user(base_url, admin, slug):
    assert admin.post(f"{base_url}/v1/tenants", json={"slug": slug, "name": "JWT"}).status_code == 201
    email = f"pyjwt@{slug}.example"
    user = admin.post(f"{base_url}/v1/tenants/{slug}/users", json={"email": email}).json()
    password = f"interop passphrase {slug}"
    assert admin.put(f"{base_url}/v1/tenants/{slug}/users/{user['id']}/password", json={"password": password}).status_code == 204
    return user, email, password


def me(base_url, token):
    return requests.get(f"{base_url}/v1/me", headers={"Authorization": f"Bearer {token}"})


def test_pyjwt_verifies_our_tokens_with_the_key_from_our_jwks(base_url, admin, slug):
    user, email, password = make_user(base_url, admin, slug)
    session = requests.post(f"{base_url}/v1/auth/login", json={"tenant": slug, "email": email, "password": password}).json()
    token = session["access_token"]
    kid = jwt.get_unverified_header(token)["kid"]
    jwks = requests.get(f"{base_url}/.well-known/jwks.json").json()
    jwk = next(k for k in jwks["keys"] if k["kid"] == kid)
    key = jwt.PyJWK(jwk).key
    claims = jwt.decode(token, key, algorithms=["EdDSA"], audience="jarvis", issuer="jarvis")
    assert claims["sub"] == user["id"]
    assert claims["tid"] == user["tenant_id"]
    assert claims["exp"] - claims["iat"] == 900
    assert {"iss", "aud", "sub", "tid", "roles", "iat", "nbf", "exp", "jti"} <= claims.keys()


def claims_for(user, **overrides):
    now = int(time.time())
    claims = {
        "iss": "jarvis", "aud": "jarvis", "sub": user["id"], "tid": user["tenant_id"], "kind": "user", "roles": [],
        "iat": now, "nbf": now, "exp": now + 300, "jti": str(uuid.uuid4()),
    }
    claims.update(overrides)
    return claims


def test_tokens_pyjwt_signs_with_a_registered_key_are_accepted_and_forgeries_refused(base_url, admin, slug):
    user, _, _ = make_user(base_url, admin, slug)

    # HS256 with a registered shared secret.
    secret = secrets.token_bytes(32)
    hs_kid = f"pyjwt-hs-{secrets.token_hex(4)}"
    imported = admin.post(f"{base_url}/v1/platform/signing-keys", json={"algorithm": "HS256", "private_key": b64url(secret), "kid": hs_kid})
    assert imported.status_code == 201, imported.text
    hs_token = jwt.encode(claims_for(user), secret, algorithm="HS256", headers={"kid": hs_kid})
    assert me(base_url, hs_token).json()["principal_id"] == user["id"]

    # Ed25519 with a registered private key.
    private = Ed25519PrivateKey.generate()
    raw = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    public_raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    kid = f"pyjwt-ed-{secrets.token_hex(4)}"
    imported = admin.post(f"{base_url}/v1/platform/signing-keys", json={"algorithm": "EdDSA", "private_key": b64url(raw), "kid": kid})
    assert imported.status_code == 201, imported.text
    good = jwt.encode(claims_for(user), private, algorithm="EdDSA", headers={"kid": kid})
    response = me(base_url, good)
    assert response.status_code == 200, response.text
    assert response.json()["principal_id"] == user["id"]
    published = {k["kid"]: k for k in requests.get(f"{base_url}/.well-known/jwks.json").json()["keys"]}
    assert published[kid]["x"] == b64url(public_raw)
    assert hs_kid not in published, "an HMAC secret was published"

    header, payload, signature = good.split(".")
    forgeries = {
        "alg none": b64url(json.dumps({"alg": "none", "kid": kid, "typ": "JWT"}).encode()) + "." + payload + ".",
        "flipped signature byte": header + "." + payload + "." + b64url(bytes([base64.urlsafe_b64decode(signature + "==")[0] ^ 1]) + base64.urlsafe_b64decode(signature + "==")[1:]),
        "expired": jwt.encode(claims_for(user, exp=int(time.time()) - 3600, iat=int(time.time()) - 4000, nbf=int(time.time()) - 4000), private, algorithm="EdDSA", headers={"kid": kid}),
        "wrong aud": jwt.encode(claims_for(user, aud="someone-else"), private, algorithm="EdDSA", headers={"kid": kid}),
        "wrong iss": jwt.encode(claims_for(user, iss="evil"), private, algorithm="EdDSA", headers={"kid": kid}),
        "unknown kid": jwt.encode(claims_for(user), private, algorithm="EdDSA", headers={"kid": "no-such-key-anywhere"}),
        "another tenant in tid": jwt.encode(claims_for(user, tid=str(uuid.uuid4())), Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": kid}),
    }
    # HS256 keyed with the EdDSA public key (raw and PEM): the algorithm-confusion attack.
    for label, hmac_key in [("HS256 with raw public key", public_raw),
                            ("HS256 with PEM public key", private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))]:
        h = b64url(json.dumps({"alg": "HS256", "kid": kid, "typ": "JWT"}).encode())
        mac = hmac.new(hmac_key, f"{h}.{payload}".encode(), hashlib.sha256).digest()
        forgeries[label] = f"{h}.{payload}.{b64url(mac)}"
    for label, token in forgeries.items():
        response = me(base_url, token)
        assert response.status_code == 401, (label, response.status_code, response.text)
        assert response.headers["Content-Type"] == "application/problem+json", label


def test_client_credentials_token_verifies_with_pyjwt(base_url, admin, slug):
    assert admin.post(f"{base_url}/v1/tenants", json={"slug": slug, "name": "CC"}).status_code == 201
    account = admin.post(f"{base_url}/v1/tenants/{slug}/service-accounts", json={"name": "svc"}).json()
    assert admin.post(f"{base_url}/v1/tenants/{slug}/role-bindings", json={"principal_id": account["id"], "role": "viewer"}).status_code == 201
    key = admin.post(f"{base_url}/v1/tenants/{slug}/api-keys", json={"principal_id": account["id"], "name": "cc"}).json()["key"]
    _, key_id, secret = key.split("_", 2)
    response = requests.post(f"{base_url}/v1/oauth/token", data={"grant_type": "client_credentials", "scope": "documents:read"}, auth=(key_id, secret))
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    header = jwt.get_unverified_header(token)
    if header["alg"] == "EdDSA":
        jwk = next(k for k in requests.get(f"{base_url}/.well-known/jwks.json").json()["keys"] if k["kid"] == header["kid"])
        claims = jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["EdDSA"], audience="jarvis", issuer="jarvis")
        assert claims["scope"] == "documents:read" and claims["kind"] == "service_account"
    assert me(base_url, token).json()["permissions"] == ["documents:read"]
