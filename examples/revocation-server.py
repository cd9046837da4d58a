#!/usr/bin/env python3
"""A minimal revocation endpoint for workload-authz (Python standard library only).

GET  /v1/revoked          the revocation document the filter pulls (see README "Revocation")
POST /v1/revoke           {"jti": "task-42"}: revoke one credential (an identity provider's
                          "task completed" hook calls this)
POST /v1/revoke-subject   {"sub": "spiffe://prod.example/ns/a/sa/agent-7", "before": 1764400000}:
                          revoke every token of a subject issued before a time (default: now)
POST /v1/unrevoke         {"jti": "task-42"}: take a jti back out

The document lives in a JSON file (--file), rewritten atomically on every change, so the state
survives restarts and can be edited by hand. Entries older than --max-age seconds (set it to the
longest token lifetime you accept) are dropped: such tokens have expired anyway.

    python3 examples/revocation-server.py --port 8081 --file revoked.json
"""
import argparse
import json
import os
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()


def load(path):
    try:
        with open(path) as f:
            doc = json.load(f)
    except (FileNotFoundError, json.JSONDecodeError):
        doc = {}
    doc.setdefault("jti", [])
    doc.setdefault("subjects_revoked_before", {})
    doc.setdefault("revoked_at", {})  # jti -> when it was revoked (for pruning)
    return doc


def save(path, doc):
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".revoked-")
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=2)
    os.replace(tmp, path)


def prune(doc, max_age, now):
    keep = [j for j in doc["jti"] if now - doc["revoked_at"].get(j, now) <= max_age]
    doc["revoked_at"] = {j: t for j, t in doc["revoked_at"].items() if j in keep}
    doc["jti"] = keep
    doc["subjects_revoked_before"] = {
        s: t for s, t in doc["subjects_revoked_before"].items() if now - t <= max_age
    }


class Handler(BaseHTTPRequestHandler):
    server_version = "revocation-example/1"

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.split("?")[0] != "/v1/revoked":
            return self.reply(404, {"error": "not found"})
        with LOCK:
            doc = load(self.server.file)
        self.reply(200, {"jti": doc["jti"], "subjects_revoked_before": doc["subjects_revoked_before"]})

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            return self.reply(400, {"error": "body must be JSON"})
        now = int(time.time())
        with LOCK:
            doc = load(self.server.file)
            if self.path == "/v1/revoke" and isinstance(body.get("jti"), str):
                if body["jti"] not in doc["jti"]:
                    doc["jti"].append(body["jti"])
                doc["revoked_at"][body["jti"]] = now
            elif self.path == "/v1/unrevoke" and isinstance(body.get("jti"), str):
                doc["jti"] = [j for j in doc["jti"] if j != body["jti"]]
                doc["revoked_at"].pop(body["jti"], None)
            elif self.path == "/v1/revoke-subject" and isinstance(body.get("sub"), str):
                doc["subjects_revoked_before"][body["sub"]] = int(body.get("before", now))
            else:
                return self.reply(400, {"error": "unknown action or missing field"})
            prune(doc, self.server.max_age, now)
            save(self.server.file, doc)
        self.reply(200, {"ok": True})

    def log_message(self, fmt, *args):
        if not self.server.quiet:
            super().log_message(fmt, *args)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--file", default="revoked.json")
    parser.add_argument("--max-age", type=int, default=86400)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.file, server.max_age, server.quiet = args.file, args.max_age, args.quiet
    print(f"revocation endpoint on http://{args.host}:{args.port}/v1/revoked (file {args.file})", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
