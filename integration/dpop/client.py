"""A DPoP client (RFC 9449) for the integration tests, made from joserfc (a maintained JOSE
library): it makes a key, names it by its RFC 7638 thumbprint, signs proofs and sends requests.

    client.py keygen KEY.json [--alg ES256|EdDSA]   writes a private JWK, prints its thumbprint
    client.py proof KEY.json METHOD URL TOKEN [--iat N] [--jti J] [--private-jwk]
                                                    prints a proof
    client.py request KEY.json METHOD URL TOKEN     sends the request with a fresh proof,
                                                    prints {"status", "www_authenticate", "body"}
"""

import argparse
import base64
import hashlib
import json
import sys
import time
import urllib.error
import urllib.request
import uuid

from joserfc import jwt
from joserfc.jwk import ECKey, OKPKey, import_key


def load(path):
    with open(path) as f:
        return import_key(json.load(f))


def keygen(args):
    if args.alg == "EdDSA":
        key = OKPKey.generate_key("Ed25519")
    else:
        key = ECKey.generate_key("P-256")
    with open(args.key, "w") as f:
        json.dump(key.as_dict(private=True), f)
    print(key.thumbprint())


def alg_of(key):
    return "EdDSA" if key.key_type == "OKP" else "ES256"


def make_proof(key, method, url, token, iat=None, jti=None, private_jwk=False):
    ath = base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest()).rstrip(b"=").decode()
    header = {
        "typ": "dpop+jwt",
        "alg": alg_of(key),
        "jwk": key.as_dict(private=private_jwk),
    }
    claims = {
        "jti": jti or str(uuid.uuid4()),
        "htm": method,
        "htu": url,
        "iat": int(time.time()) if iat is None else iat,
        "ath": ath,
    }
    return jwt.encode(header, claims, key, algorithms=[alg_of(key)])


def proof(args):
    key = load(args.key)
    print(make_proof(key, args.method, args.url, args.token, args.iat, args.jti, args.private_jwk))


def request(args):
    key = load(args.key)
    req = urllib.request.Request(args.url, method=args.method)
    req.add_header("Authorization", f"DPoP {args.token}")
    req.add_header("DPoP", make_proof(key, args.method, args.url, args.token))
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status, headers, body = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        status, headers, body = err.code, err.headers, err.read()
    print(json.dumps({
        "status": status,
        "www_authenticate": headers.get("www-authenticate"),
        "body": body.decode("utf-8", "replace"),
    }))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("keygen")
    p.add_argument("key")
    p.add_argument("--alg", default="ES256")
    p.set_defaults(run=keygen)
    for name, run in (("proof", proof), ("request", request)):
        p = sub.add_parser(name)
        p.add_argument("key")
        p.add_argument("method")
        p.add_argument("url")
        p.add_argument("token")
        if name == "proof":
            p.add_argument("--iat", type=int)
            p.add_argument("--jti")
            p.add_argument("--private-jwk", action="store_true")
        p.set_defaults(run=run)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    sys.exit(main())
