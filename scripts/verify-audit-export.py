#!/usr/bin/env python3
"""Verifies a Jarvis audit export (GET /v1/tenants/{tenant}/audit-events/export) offline, with
Python's standard library only: every link's hash, the links' order, and every signed checkpoint.

    verify-audit-export.py EXPORT.ndjson [--keys jarvis-audit-keys.json]

--keys pins the signing keys to those the server publishes at /.well-known/jarvis-audit-keys.json
(without it the keys in the export itself are used). Exit status 0: intact; 1: the first problem is
printed; 2: the file cannot be read.
"""
import argparse
import base64
import hashlib
import json
import sys

# Ed25519 signature verification (RFC 8032, section 5.1.7), in plain integers.
P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = (-121665 * pow(121666, P - 2, P)) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _add(a, b):
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa = (y1 - x1) * (y2 - x2) % P
    bb = (y1 + x1) * (y2 + x2) % P
    cc = 2 * t1 * t2 * D % P
    dd = 2 * z1 * z2 % P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _multiply(scalar, point):
    result = (0, 1, 1, 0)
    while scalar:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def _encode(point):
    x, y, z, _ = point
    zi = pow(z, P - 2, P)
    x, y = x * zi % P, y * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _decode(data):
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= P:
        return None
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    if (v * x * x - u) % P != 0:
        x = x * SQRT_M1 % P
        if (v * x * x - u) % P != 0:
            return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = P - x
    return (x, y, 1, x * y % P)


_BY = 4 * pow(5, P - 2, P) % P
BASE = _decode(_BY.to_bytes(32, "little"))


def ed25519_verify(public_key, message, signature):
    if len(signature) != 64:
        return False
    a = _decode(public_key)
    r = _decode(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= L:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public_key + message).digest(), "little") % L
    return _encode(_multiply(s, BASE)) == _encode(_add(r, _multiply(h, a)))


def checkpoint_message(tenant_id, seq, head_hash, prev_signature, kid):
    return f"jarvis-audit-checkpoint-v1\n{tenant_id}\n{seq}\n{head_hash}\n{prev_signature}\n{kid}".encode()


def verify(lines, pinned):
    header, events, checkpoints, keys = None, [], [], {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        record = json.loads(line)
        kind = record.get("type")
        if kind == "export":
            header = record
        elif kind == "event":
            events.append(record)
        elif kind == "checkpoint":
            checkpoints.append(record)
        elif kind == "key":
            keys[record["kid"]] = bytes.fromhex(record["public_key"])
        else:
            return f"line {number}: unknown record type {kind!r}"
    if header is None:
        return "no export header"
    if pinned is not None:
        for kid, key in keys.items():
            if pinned.get(kid) != key:
                return f"key {kid}: not one the server publishes"
        keys = pinned
    tenant = header["tenant_id"]
    hashes, previous = {}, None
    for event in events:
        seq = event["seq"]
        if previous is not None and seq != previous["seq"] + 1:
            return f"seq {previous['seq'] + 1}: missing (the export jumps to {seq})"
        if previous is not None and event["prev_hash"] != previous["hash"]:
            return f"seq {seq}: reordered (it does not follow seq {previous['seq']})"
        if event["canonical"] is None:
            return f"seq {seq}: missing (the sealed event is gone)"
        digest = hashlib.sha256(bytes.fromhex(event["prev_hash"]) + event["canonical"].encode("utf-8")).hexdigest()
        if digest != event["hash"]:
            return f"seq {seq}: changed (the event is not what was sealed)"
        hashes[seq] = event["hash"]
        previous = event
    last_signature = None
    for checkpoint in checkpoints:
        seq = checkpoint["seq"]
        if hashes.get(seq) != checkpoint["head_hash"]:
            return f"checkpoint {seq}: forged (its head is not the chain's)"
        key = keys.get(checkpoint["kid"])
        message = checkpoint_message(tenant, seq, checkpoint["head_hash"], checkpoint["prev_signature"], checkpoint["kid"])
        if key is None or not ed25519_verify(key, message, bytes.fromhex(checkpoint["signature"])):
            return f"checkpoint {seq}: forged (the signature does not verify)"
        if last_signature is not None and checkpoint["prev_signature"] != last_signature:
            return f"checkpoint {seq}: an earlier checkpoint is missing"
        last_signature = checkpoint["signature"]
    if events and checkpoints and checkpoints[-1]["seq"] != events[-1]["seq"]:
        return f"seq {events[-1]['seq']}: not covered by a checkpoint in the export"
    print(f"intact: tenant {tenant}, {len(events)} events (seq {header['first_seq']}-{header['last_seq']}), "
          f"{len(checkpoints)} checkpoints")
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("export")
    parser.add_argument("--keys", help="the server's /.well-known/jarvis-audit-keys.json, saved")
    args = parser.parse_args()
    try:
        with open(args.export, encoding="utf-8") as handle:
            lines = handle.read().split("\n")
        pinned = None
        if args.keys:
            with open(args.keys, encoding="utf-8") as handle:
                published = json.load(handle)["keys"]
            pinned = {k["kid"]: base64.urlsafe_b64decode(k["x"] + "=" * (-len(k["x"]) % 4)) for k in published}
    except (OSError, ValueError, KeyError) as error:
        print(f"cannot read: {error}", file=sys.stderr)
        return 2
    problem = verify(lines, pinned)
    if problem:
        print(problem)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
