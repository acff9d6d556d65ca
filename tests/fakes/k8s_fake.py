#!/usr/bin/env python3
"""k8s_fake.py - a strict fake of the Kubernetes Secrets API (read side) for Maestro's tests.

No API server can be installed here, so this serves the one call Maestro's kubernetes
secrets plugin makes, the way kube-apiserver answers it:

  GET /api/v1/namespaces/<ns>/secrets/<name>
      200  the Secret object (apiVersion v1, kind Secret, metadata, type, data base64)
      401  Status "Unauthorized" when Authorization is not exactly "Bearer <token>"
      403  Status "Forbidden" for a namespace the service account may not read
           (--allow-namespace given and <ns> not among them)
      404  Status "NotFound" for a Secret that does not exist
      405  Status "MethodNotAllowed" for any other method on that path
  any other path: 404 "404 page not found" (text/plain), as the API server's mux answers.

Test hooks (not part of the API, never authenticated):
  GET /test/requests  every request seen so far, as JSON [{method, path, headers}, ...]

Usage:
  k8s_fake.py SECRETS.json --token TOKEN [--port-file FILE] [--allow-namespace NS ...]

SECRETS.json is a list of Secrets in the API's shape; `data` values are base64 as the API
stores them, or give `stringData` (plain text) and the fake encodes it, as the API server does
on create:
  [{"metadata": {"name": "db", "namespace": "ml"}, "stringData": {"password": "s3cret"}}]

The server listens on 127.0.0.1 on a free port; the port is the first line on stdout (and is
written to --port-file when given). Only the Python standard library is used.
"""
import argparse
import base64
import json
import os
import re
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/secrets/([^/]+)$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


def load_secrets(path):
    with open(path, encoding="utf-8") as f:
        items = json.load(f)
    if not isinstance(items, list):
        sys.exit(f"{path}: expected a JSON list of Secret objects")
    store = {}
    for i, s in enumerate(items):
        meta = s.get("metadata") or {}
        name, ns = meta.get("name"), meta.get("namespace", "default")
        if not name or not DNS_SUBDOMAIN.match(name) or not DNS_LABEL.match(ns):
            sys.exit(f"{path}: item {i}: metadata.name/namespace are not valid Kubernetes names")
        data = dict(s.get("data") or {})
        for k, v in data.items():
            base64.b64decode(v, validate=True)  # the API server refuses bad base64 too
        for k, v in (s.get("stringData") or {}).items():
            data[k] = base64.b64encode(v.encode()).decode()
        store[(ns, name)] = {
            "kind": "Secret",
            "apiVersion": "v1",
            "metadata": {
                "name": name,
                "namespace": ns,
                "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ns}/{name}")),
                "resourceVersion": str(1000 + i),
                "creationTimestamp": "2024-01-01T00:00:00Z",
            },
            "data": data,
            "type": s.get("type", "Opaque"),
        }
    return store


def status(code, reason, message, details=None):
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return body


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "k8s-fake"

    def log_message(self, fmt, *args):  # quiet: the test reads /test/requests instead
        pass

    def send_json(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_text(self, code, text):
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def drain_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)

    def handle_any(self):
        self.drain_body()
        path = self.path.split("?", 1)[0]
        srv = self.server
        if path == "/test/requests" and self.command == "GET":
            with srv.lock:
                return self.send_json(200, list(srv.requests))
        with srv.lock:
            srv.requests.append(
                {"method": self.command, "path": self.path, "headers": dict(self.headers.items())}
            )
        m = SECRET_PATH.match(path)
        if not m:
            return self.send_text(404, "404 page not found\n")
        ns, name = m.group(1), m.group(2)
        # Authentication comes before everything else in the API server's handler chain.
        if self.headers.get("Authorization") != f"Bearer {srv.token}":
            return self.send_json(401, status(401, "Unauthorized", "Unauthorized"))
        if self.command != "GET":
            return self.send_json(
                405,
                status(405, "MethodNotAllowed",
                       "the server does not allow this method on the requested resource"),
            )
        user = f"system:serviceaccount:{srv.sa_namespace}:maestro"
        if srv.allowed is not None and ns not in srv.allowed:
            return self.send_json(
                403,
                status(403, "Forbidden",
                       f'secrets "{name}" is forbidden: User "{user}" cannot get resource '
                       f'"secrets" in API group "" in the namespace "{ns}"',
                       {"name": name, "kind": "secrets"}),
            )
        secret = srv.store.get((ns, name))
        if secret is None:
            return self.send_json(
                404,
                status(404, "NotFound", f'secrets "{name}" not found',
                       {"name": name, "kind": "secrets"}),
            )
        return self.send_json(200, secret)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("secrets", help="JSON list of Secret objects")
    ap.add_argument("--token", required=True, help="the only bearer token accepted")
    ap.add_argument("--port-file", help="also write the port here")
    ap.add_argument("--allow-namespace", action="append",
                    help="namespaces the token may read (default: all); others get 403")
    args = ap.parse_args()

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.store = load_secrets(args.secrets)
    srv.token = args.token
    srv.allowed = set(args.allow_namespace) if args.allow_namespace else None
    srv.sa_namespace = args.allow_namespace[0] if args.allow_namespace else "default"
    srv.requests = []
    srv.lock = threading.Lock()
    port = srv.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(f"{port}\n")
        os.replace(args.port_file + ".tmp", args.port_file)
    print(port, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
