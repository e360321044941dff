"""Writes the benchmark's data set as one SQL transaction: N tenants, each with three custom
roles three levels deep (level3 > level2 > level1 > developer), registered permissions, service
accounts bound to level3 or viewer, and API keys spread over them. Prints the SQL to stdout and
writes the plaintext keys (`<tenant index> <key>` per line) to the file named by --keys-out.

The rows go straight into PostgreSQL as the owner role, one tenant scope at a time (the tables
force row-level security even for their owner). This is benchmark fixture data: it is not audited.

Secrets are hashed the way the server does: HMAC-SHA256 over the secret, keyed by the pepper's
UTF-8 (JARVIS_API_KEY_PEPPER)."""
import argparse, hashlib, hmac, os, secrets, string, sys, uuid

ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase


def base62(n):
    return "".join(secrets.choice(ALPHABET) for _ in range(n))


def tag(pepper, key_id, secret):
    """The key's six-character tag, as the server computes it (APIKeyToken.tag)."""
    key = hmac.new(pepper, b"jarvis api key tag v1", hashlib.sha256).digest()
    value = int.from_bytes(hmac.new(key, f"{key_id}_{secret}".encode(), hashlib.sha256).digest()[:8], "big")
    digits = []
    for _ in range(6):
        digits.append(ALPHABET[value % 62])
        value //= 62
    return "".join(digits)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--accounts-per-tenant", type=int, default=10)
    parser.add_argument("--keys-out", required=True)
    args = parser.parse_args()
    pepper = os.environ["JARVIS_API_KEY_PEPPER"].encode()
    per_tenant = args.keys // args.tenants
    out = sys.stdout
    out.write("\\set ON_ERROR_STOP on\nBEGIN;\n")
    with open(args.keys_out, "w") as keys_file:
        for t in range(args.tenants):
            tenant = uuid.uuid4()
            out.write(f"SELECT set_config('app.tenant_id', '{tenant}', true);\n")
            out.write(f"INSERT INTO tenants (id, slug, name, plan) VALUES ('{tenant}', 'seed-t{t:05d}', 'Seed tenant {t}', 'team');\n")
            out.write(
                "INSERT INTO custom_permissions (tenant_id, name) VALUES "
                f"('{tenant}', 'reports:read'), ('{tenant}', 'reports:export'), ('{tenant}', 'models:deploy'), ('{tenant}', 'billing:read');\n")
            out.write(
                "INSERT INTO roles (tenant_id, name, permissions, inherits) VALUES "
                f"('{tenant}', 'level1', '{{reports:read,reports:export}}', '{{developer}}'), "
                f"('{tenant}', 'level2', '{{models:deploy,prompts:*}}', '{{level1}}'), "
                f"('{tenant}', 'level3', '{{billing:read}}', '{{level2,operator}}');\n")
            accounts = [uuid.uuid4() for _ in range(args.accounts_per_tenant)]
            out.write("INSERT INTO principals (tenant_id, id, kind, name) VALUES ")
            out.write(", ".join(f"('{tenant}', '{a}', 'service_account', 'svc-{i}')" for i, a in enumerate(accounts)))
            out.write(";\nINSERT INTO role_bindings (tenant_id, id, principal_id, role) VALUES ")
            out.write(", ".join(
                f"('{tenant}', '{uuid.uuid4()}', '{a}', '{'viewer' if i % 5 == 4 else 'level3'}')" for i, a in enumerate(accounts)))
            out.write(";\nINSERT INTO api_keys (tenant_id, id, key_id, principal_id, name, secret_hash, tagged) VALUES ")
            rows = []
            for k in range(per_tenant):
                key_id, secret = base62(16), base62(43)
                digest = hmac.new(pepper, secret.encode(), hashlib.sha256).hexdigest()
                rows.append(f"('{tenant}', '{uuid.uuid4()}', '{key_id}', '{accounts[k % len(accounts)]}', 'seed-{k}', '\\x{digest}', true)")
                keys_file.write(f"{t} jvs_{key_id}_{secret}{tag(pepper, key_id, secret)}\n")
            out.write(", ".join(rows))
            out.write(";\n")
    out.write("COMMIT;\n")


if __name__ == "__main__":
    main()
