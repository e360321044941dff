"""Writes the scale run's data set (issue 15) as a psql script of COPY blocks: N tenants, each with
three custom roles three levels deep (as seed.py's), service accounts bound to level3 or viewer,
and API keys spread over them. Prints the script to stdout and writes the plaintext keys
(`<tenant index> <key>` per line) to --keys-out.

One COPY per table instead of seed.py's statements per tenant: a million keys over 100,000 tenants
load in a minute or two. Run as the platform role, which bypasses row-level security; fixture data,
not audited. Secrets and tags are made as the server makes them (see seed.py)."""
import argparse, hashlib, hmac, os, sys, uuid

from seed import tag

ALPHABET = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# A byte below 248 maps evenly onto 62 characters (248 = 4 × 62); larger ones are skipped.
TABLE = bytes(ALPHABET[b % 62] for b in range(248))


def base62(n):
    out = bytearray()
    while len(out) < n:
        out += bytes(TABLE[b] for b in os.urandom(n + 8) if b < 248)
    return out[:n].decode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=100_000)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--accounts-per-tenant", type=int, default=5)
    parser.add_argument("--keys-out", required=True)
    args = parser.parse_args()
    pepper = os.environ["JARVIS_API_KEY_PEPPER"].encode()
    per_tenant = args.keys // args.tenants
    tenants = [uuid.uuid4() for _ in range(args.tenants)]
    accounts = [[uuid.uuid4() for _ in range(args.accounts_per_tenant)] for _ in tenants]
    out = sys.stdout
    out.write("\\set ON_ERROR_STOP on\nBEGIN;\n")

    def copy(table, columns, rows):
        out.write(f"COPY {table} ({', '.join(columns)}) FROM STDIN;\n")
        for row in rows:
            out.write("\t".join(row))
            out.write("\n")
        out.write("\\.\n")

    copy("tenants", ["id", "slug", "name", "plan"],
         ((str(t), f"scale-t{i:06d}", f"Scale tenant {i}", "team") for i, t in enumerate(tenants)))
    copy("custom_permissions", ["tenant_id", "name"],
         ((str(t), p) for t in tenants for p in ("reports:read", "reports:export", "models:deploy", "billing:read")))
    copy("roles", ["tenant_id", "name", "permissions", "inherits"],
         ((str(t), name, permissions, inherits) for t in tenants for name, permissions, inherits in (
             ("level1", "{reports:read,reports:export}", "{developer}"),
             ("level2", "{models:deploy,prompts:*}", "{level1}"),
             ("level3", "{billing:read}", "{level2,operator}"))))
    copy("principals", ["tenant_id", "id", "kind", "name"],
         ((str(t), str(a), "service_account", f"svc-{n}") for t, owned in zip(tenants, accounts) for n, a in enumerate(owned)))
    copy("role_bindings", ["tenant_id", "id", "principal_id", "role"],
         ((str(t), str(uuid.uuid4()), str(a), "viewer" if n % 5 == 4 else "level3")
          for t, owned in zip(tenants, accounts) for n, a in enumerate(owned)))

    def keys(keys_file):
        for i, (t, owned) in enumerate(zip(tenants, accounts)):
            for k in range(per_tenant):
                key_id, secret = base62(16), base62(43)
                digest = hmac.new(pepper, secret.encode(), hashlib.sha256).hexdigest()
                keys_file.write(f"{i} jvs_{key_id}_{secret}{tag(pepper, key_id, secret)}\n")
                yield (str(t), str(uuid.uuid4()), key_id, str(owned[k % len(owned)]), f"seed-{k}", f"\\\\x{digest}", "t")

    with open(args.keys_out, "w") as keys_file:
        copy("api_keys", ["tenant_id", "id", "key_id", "principal_id", "name", "secret_hash", "tagged"], keys(keys_file))
    out.write("COMMIT;\n")


main()
