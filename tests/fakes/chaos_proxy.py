#!/usr/bin/env python3
"""chaos_proxy.py - a TCP proxy that injects service faults on command, for tests (standard
library only).

It listens on 127.0.0.1 and forwards every connection to a backend (host:port). A control
endpoint (plain HTTP on a second loopback port) switches its mode at any moment:

  pass     forward bytes both ways (the default)
  reset    accept, read what the client sends first, then close with SO_LINGER 0: the client
           gets a TCP RST (ECONNRESET, curl's "Connection reset by peer" / "Recv failure")
  slow     accept, read the request, hold it for --slow-s seconds (longer than the client's
           timeout), then forward it if the client is still waiting. A client that gave up in
           the meantime is dropped without forwarding: the request never reached the service
           (a service that hangs, not one that answers late), so nothing is delivered twice.
  refuse   stop listening: connects are refused (ECONNREFUSED). Switching to any other mode
           listens again on the same port.

Every switch closes the connections open at that moment, so a client's keep-alive connection
made in one mode does not carry over into the next (a service that restarts drops them too).

Control (GET http://127.0.0.1:<control port>/...):
  /mode?set=MODE[&slow_s=X]   switch; answers the new state as JSON
  /stats                      {"mode", "slow_s", "counts": {mode: connections accepted in that
                               mode}, "dropped_slow": clients that gave up while held,
                               "backend_down": connections in pass mode the backend refused}

Usage: chaos_proxy.py --backend [HOST:]PORT [--port N] [--port-file PATH]
                      [--control-file PATH] [--slow-s X] [--mode MODE]
Both port files are written atomically (the proxy port, the control port). The proxy exits by
itself when the process that started it goes away.
"""

import argparse
import json
import os
import select
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("pass", "reset", "slow", "refuse")


def abort(sock):
    """Close with SO_LINGER 0: the peer gets a RST instead of a FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class Proxy:
    def __init__(self, backend, port, slow_s, mode):
        self.backend = backend
        self.port = port
        self.slow_s = slow_s
        self.mode = mode
        self.lock = threading.Lock()
        self.counts = {m: 0 for m in MODES}
        self.dropped_slow = 0
        self.backend_down = 0
        self.conns = set()  # client sockets open now
        self.listener = None
        self.wake = threading.Event()
        if mode != "refuse":
            self.listen()

    # ---- listening ---------------------------------------------------------------------------
    def listen(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        for _ in range(100):  # the old socket's port may linger a moment
            try:
                s.bind(("127.0.0.1", self.port))
                break
            except OSError:
                time.sleep(0.05)
        else:
            s.bind(("127.0.0.1", self.port))
        s.listen(128)
        self.port = s.getsockname()[1]
        self.listener = s
        self.wake.set()

    def unlisten(self):
        s, self.listener = self.listener, None
        if s:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def set_mode(self, mode, slow_s=None):
        with self.lock:
            if slow_s is not None:
                self.slow_s = slow_s
            old, self.mode = self.mode, mode
            conns, self.conns = list(self.conns), set()
            if old != "refuse" and mode == "refuse":
                self.unlisten()
            elif old == "refuse" and mode != "refuse":
                self.listen()
        for c in conns:
            abort(c)
        return self.state()

    def state(self):
        with self.lock:
            return {"mode": self.mode, "slow_s": self.slow_s, "counts": dict(self.counts),
                    "dropped_slow": self.dropped_slow, "backend_down": self.backend_down,
                    "port": self.port}

    def serve(self):
        while True:
            s = self.listener
            if s is None:
                self.wake.wait(0.2)
                self.wake.clear()
                continue
            try:
                c, _ = s.accept()
            except OSError:
                continue  # closed by a switch to refuse
            with self.lock:
                mode = self.mode
                self.counts[mode] += 1
                self.conns.add(c)
            threading.Thread(target=self.handle, args=(c, mode), daemon=True).start()

    # ---- one connection ----------------------------------------------------------------------
    def forget(self, c):
        with self.lock:
            self.conns.discard(c)

    def handle(self, c, mode):
        try:
            if mode == "reset":
                c.settimeout(1.0)
                try:
                    c.recv(65536)
                except OSError:
                    pass
                self.forget(c)
                abort(c)
                return
            first = b""
            if mode == "slow":
                c.settimeout(5.0)
                try:
                    first = c.recv(65536)
                except OSError:
                    first = b""
                deadline = time.monotonic() + self.slow_s
                gone = not first
                while not gone and time.monotonic() < deadline:
                    r, _, _ = select.select([c], [], [], min(0.2, max(0.0, deadline - time.monotonic())))
                    if r:
                        try:
                            more = c.recv(65536)
                        except OSError:
                            more = b""
                        if not more:
                            gone = True
                        else:
                            first += more
                if gone:
                    with self.lock:
                        self.dropped_slow += 1
                    self.forget(c)
                    c.close()
                    return
            self.pump(c, first)
        except OSError:
            self.forget(c)
            try:
                c.close()
            except OSError:
                pass

    def pump(self, c, first):
        try:
            b = socket.create_connection(self.backend, timeout=5)
        except OSError:
            with self.lock:
                self.backend_down += 1
            self.forget(c)
            abort(c)  # what a client sees from a load balancer whose backend is gone
            return
        c.settimeout(None)
        b.settimeout(None)
        if first:
            b.sendall(first)
        done = threading.Event()

        def copy(src, dst):
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            done.set()

        t = threading.Thread(target=copy, args=(b, c), daemon=True)
        t.start()
        copy(c, b)
        t.join()
        self.forget(c)
        for s in (b, c):
            try:
                s.close()
            except OSError:
                pass


def control_server(proxy):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def answer(self, code, obj):
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            u = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(u.query))
            if u.path == "/stats":
                return self.answer(200, proxy.state())
            if u.path == "/mode" and q.get("set") in MODES:
                slow = q.get("slow_s")
                try:
                    slow = float(slow) if slow is not None else None
                except ValueError:
                    return self.answer(400, {"error": f"slow_s {slow!r} is not a number"})
                return self.answer(200, proxy.set_mode(q["set"], slow))
            self.answer(404, {"error": f"unknown {self.path}; modes {', '.join(MODES)}"})

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backend", required=True, help="[HOST:]PORT to forward to")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--control-file")
    ap.add_argument("--slow-s", type=float, default=30.0)
    ap.add_argument("--mode", choices=MODES, default="pass")
    args = ap.parse_args()
    host, _, port = args.backend.rpartition(":")
    backend = (host or "127.0.0.1", int(port))

    # Refuse mode from the start still needs a port to come back on: bind one, then let go.
    proxy = Proxy(backend, args.port, args.slow_s, "pass")
    if args.mode != "pass":
        proxy.set_mode(args.mode)
    ctl = control_server(proxy)
    threading.Thread(target=ctl.serve_forever, daemon=True).start()
    threading.Thread(target=proxy.serve, daemon=True).start()

    if args.control_file:
        write_atomic(args.control_file, f"{ctl.server_address[1]}\n")
    if args.port_file:
        write_atomic(args.port_file, f"{proxy.port}\n")
    print(proxy.port, flush=True)

    # A test that crashes must not leave its proxy behind: exit when the parent goes away.
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(0.5)
    sys.exit(0)


if __name__ == "__main__":
    main()
