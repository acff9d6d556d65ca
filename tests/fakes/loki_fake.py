#!/usr/bin/env python3
"""loki_fake.py - a strict fake of Grafana Loki's push API, for tests (standard library only).

Loki has no Debian package, so the loki plugin is tested against this fake. It follows
../shared/reference/platform-protocols.md section 3 (Loki 2.4.x, pkg/loghttp/push,
pkg/distributor, pkg/validation, pkg/ingester) and rejects what Loki rejects, with Loki's status
codes and error text:

  POST /loki/api/v1/push
    401 "no org id"             --tenant-required and no X-Scope-OrgID header
    400                         Content-Type not application/json: Loki reads any other type
                                (or none) as snappy-compressed protobuf, which a JSON or text
                                body is not ("snappy: corrupt input")
    415                         application/x-protobuf: a real Loki would decode it; this fake
                                cannot (no snappy in the standard library), so it says so
                                instead of pretending to accept or reject it
    400                         Content-Encoding other than gzip / snappy (no-op) / none;
                                a body that is not the push format; timestamps that are not
                                strings of decimal nanoseconds; empty label sets; bad, too
                                many or too long label names/values (a repeated JSON key is
                                not an error: Go's decoder keeps the last); entries
                                older than 7 days or more than 10 minutes in the future;
                                lines over --max-line-size; per-stream ordering violations
    429                         --status-429 N (the first N pushes after any --fail-first),
                                and the per-tenant ingestion rate (4 MB/s, burst 6 MB)
    503                         --fail-first N (the first N pushes)
    204, empty body             success

  Ordering (per tenant and exact label set, against the entries already accepted):
    default (Loki 2.4+ unordered_writes: true): an entry more than max_chunk_age/2 = 1 h behind
      the stream's newest is "entry too far behind"; an exact (timestamp, line) duplicate is
      dropped silently; anything else is stored, sorted.
    --ordered (unordered_writes: false): an entry older than the stream's last one is
      "entry out of order"; a repeat of the last (timestamp, line) is dropped silently.
    In a mixed batch the good entries are stored and the answer is still 400
    ("total ignored: K out of N"), as Loki does.

  Test endpoints (not Loki's):
    GET  /test/entries   {"streams":[{"tenant","stream","values":[[ts,line],...]}]}, sorted
    GET  /test/bodies    [{"status","content_type","content_encoding","tenant","body",
                           "raw_len","error"}] for every push received, rejected ones too, body
                           gunzipped where it can be, so tests can grep the bytes for secrets
    POST /test/config    JSON {"fail_next":N,"status_429_next":N,"ordered":bool,"delay_s":x,
                           "tenant_required":bool,"max_line_size":N} changes behaviour live
    POST /test/reset     forget entries and bodies
  Also GET /ready and a basic GET /loki/api/v1/query_range ({a="b",...} equality matchers only).

Usage: loki_fake.py [--port N] [--port-file PATH] [--ordered] [--tenant-required]
                    [--fail-first N] [--status-429 N] [--max-line-size N]
With port 0 (the default) the kernel picks a free loopback port. The port is printed as the
first stdout line (and written atomically to --port-file when given); nothing else is ever
written to stdout. The fake exits by itself when the process that started it goes away.
"""

import argparse
import gzip
import json
import os
import re
import sys
import threading
import time
import urllib.parse
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NS = 1_000_000_000
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
MAX_LABEL_NAMES = 30  # max_label_names_per_series (2.x)
MAX_LABEL_NAME_LEN = 1024
MAX_LABEL_VALUE_LEN = 2048
REJECT_OLD_NS = 168 * 3600 * NS  # reject_old_samples_max_age 7d
CREATION_GRACE_NS = 10 * 60 * NS  # creation_grace_period 10m
TOO_FAR_BEHIND_NS = 3600 * NS  # max_chunk_age 2h / 2
RATE_BYTES = 4 * 1024 * 1024  # ingestion_rate_mb
BURST_BYTES = 6 * 1024 * 1024  # ingestion_burst_size_mb


class BadRequest(Exception):
    """A 4xx/5xx answer with Loki's plain-text body."""

    def __init__(self, status, text):
        super().__init__(text)
        self.status = status
        self.text = text


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.ordered = args.ordered
        self.tenant_required = args.tenant_required
        self.fail_next = args.fail_first
        self.status_429_next = args.status_429
        self.max_line_size = args.max_line_size
        self.delay_s = 0.0
        self.streams = {}  # (tenant, sorted label tuple) -> {"labels", "entries", "last", "highest"}
        self.bodies = []
        self.tokens = {}  # tenant -> (bytes available, last refill time)

    def take_rate(self, tenant, nbytes):
        """Token bucket per tenant, like Loki's local ingestion rate strategy."""
        now = time.monotonic()
        avail, last = self.tokens.get(tenant, (BURST_BYTES, now))
        avail = min(BURST_BYTES, avail + (now - last) * RATE_BYTES)
        if nbytes > avail:
            self.tokens[tenant] = (avail, now)
            return False
        self.tokens[tenant] = (avail - nbytes, now)
        return True


def go_time(ns):
    """A timestamp the way Loki's messages print it (Go's time.Time String, UTC)."""
    secs, frac = divmod(ns, NS)
    base = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(secs))
    return "%s.%09d +0000 UTC" % (base, frac)


def labels_string(labels):
    """The LogQL form Loki uses in its messages: {a="b", c="d"} sorted by name."""
    return "{" + ", ".join('%s=%s' % (k, json.dumps(v)) for k, v in sorted(labels)) + "}"


class Obj(dict):
    """A decoded JSON object, told apart from a JSON array (both would otherwise be lists)."""


def as_obj(pairs):
    # Go's decoder (jsoniter) keeps the last of repeated keys; so does this.
    return Obj(pairs)


def parse_push(body):
    """Decode the JSON push body into [(labels list, [(ts, line)])] or raise BadRequest(400)."""
    if not body:
        raise BadRequest(400, "EOF")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadRequest(400, "loghttp.PushRequest: invalid UTF-8 in body: %s" % e)
    try:
        doc = json.loads(text, object_pairs_hook=as_obj)
    except ValueError as e:
        raise BadRequest(400, "loghttp.PushRequest.ReadObject: %s" % e)
    if not isinstance(doc, Obj):
        raise BadRequest(400, "loghttp.PushRequest: expect { or n, but found %s" % text[:1])
    streams = doc.get("streams")
    if streams is None:
        streams = []
    if not isinstance(streams, list):
        raise BadRequest(400, "loghttp.PushRequest.Streams: []*loghttp.Stream: expect [ or n")
    out = []
    for s in streams:
        if not isinstance(s, Obj):
            raise BadRequest(400, "loghttp.PushRequest.Streams: []*loghttp.Stream: expect { or n")
        fields = s
        labels = fields.get("stream")
        if labels is None:
            labels = Obj()
        if not isinstance(labels, Obj):
            raise BadRequest(400, "loghttp.Stream.Labels: expect { or n")
        labels = list(labels.items())
        for k, v in labels:
            if not isinstance(v, str):
                raise BadRequest(400, "loghttp.Stream.Labels: ReadString: expects \" or n, "
                                      "label %s" % k)
        values = fields.get("values")
        if values is None:
            values = []
        if not isinstance(values, list):
            raise BadRequest(400, "loghttp.Stream.Values: expect [ or n")
        entries = []
        for v in values:
            if not isinstance(v, list) or len(v) != 2:
                raise BadRequest(400, "loghttp.Stream.Values: entry must be [\"<ns>\", \"<line>\"]")
            ts, line = v
            if not isinstance(ts, str):
                raise BadRequest(400, "loghttp.Stream.Values: ReadString: expects \" or n, "
                                      "but found %s (timestamps are strings of nanoseconds)"
                                 % json.dumps(ts)[:20])
            if not re.fullmatch(r"-?[0-9]+", ts):
                raise BadRequest(400, 'strconv.ParseInt: parsing "%s": invalid syntax' % ts[:40])
            ns = int(ts)
            if ns >= 2 ** 63 or ns < -(2 ** 63):
                raise BadRequest(400, 'strconv.ParseInt: parsing "%s": value out of range' % ts)
            if not isinstance(line, str):
                raise BadRequest(400, "loghttp.Stream.Values: ReadString: expects \" or n "
                                      "(lines are strings)")
            entries.append((ns, line))
        out.append((labels, entries))
    return out


def validate_labels(labels):
    """pkg/validation checks; returns an error text or None."""
    if not labels:
        return "error at least one label pair is required per stream"
    for k, v in labels:
        if not LABEL_NAME.match(k):
            return "error parsing labels: invalid label name %s" % json.dumps(k)
        if len(k) > MAX_LABEL_NAME_LEN:
            return "stream '%s' has label name too long: '%s'" % (labels_string(labels), k)
        if len(v) > MAX_LABEL_VALUE_LEN:
            return "stream '%s' has label value too long: '%s'" % (labels_string(labels), v)
    if len(labels) > MAX_LABEL_NAMES:
        return "entry for stream '%s' has %d label names; limit %d" % (
            labels_string(labels), len(labels), MAX_LABEL_NAMES)
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and Expect: 100-continue, as curl uses them
    server_version = "loki-fake"

    def log_message(self, fmt, *args):  # stdout carries only the port line
        pass

    # ---- plumbing ---------------------------------------------------------------------------
    def reply(self, status, text="", ctype="text/plain; charset=utf-8"):
        data = text.encode("utf-8")
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if status != 204:
            self.wfile.write(data)

    def reply_json(self, status, obj):
        self.reply(status, json.dumps(obj), "application/json")

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    @property
    def state(self):
        return self.server.state

    # ---- routes -----------------------------------------------------------------------------
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/ready":
            self.reply(200, "ready\n")
        elif url.path == "/test/entries":
            self.reply_json(200, {"streams": self.snapshot()})
        elif url.path == "/test/bodies":
            with self.state.lock:
                bodies = list(self.state.bodies)
            self.reply_json(200, bodies)
        elif url.path == "/loki/api/v1/query_range":
            self.query_range(urllib.parse.parse_qs(url.query))
        elif url.path == "/loki/api/v1/push":
            self.reply(405, "")
        else:
            self.reply(404, "404 page not found\n")

    def do_PUT(self):
        self.read_body()
        self.reply(405 if self.path.startswith("/loki/api/v1/push") else 404, "")

    def do_DELETE(self):
        self.do_PUT()

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        body = self.read_body()
        if url.path == "/loki/api/v1/push":
            self.push(body)
        elif url.path == "/test/config":
            self.configure(body)
        elif url.path == "/test/reset":
            with self.state.lock:
                self.state.streams.clear()
                self.state.bodies.clear()
            self.reply(204)
        else:
            self.reply(404, "404 page not found\n")

    def configure(self, body):
        try:
            cfg = json.loads(body or b"{}")
        except ValueError as e:
            self.reply(400, str(e))
            return
        st = self.state
        with st.lock:
            st.fail_next = int(cfg.get("fail_next", st.fail_next))
            st.status_429_next = int(cfg.get("status_429_next", st.status_429_next))
            st.ordered = bool(cfg.get("ordered", st.ordered))
            st.tenant_required = bool(cfg.get("tenant_required", st.tenant_required))
            st.max_line_size = int(cfg.get("max_line_size", st.max_line_size))
            st.delay_s = float(cfg.get("delay_s", st.delay_s))
        self.reply(204)

    # ---- the push API -----------------------------------------------------------------------
    def push(self, raw):
        st = self.state
        tenant = self.headers.get("X-Scope-OrgID")
        record = {
            "status": 0,
            "content_type": self.headers.get("Content-Type"),
            "content_encoding": self.headers.get("Content-Encoding"),
            "tenant": tenant,
            "raw_len": len(raw),
            "body": None,
            "error": None,
        }
        record["body"] = self.best_effort_text(raw)
        try:
            status, text = self.push_checked(raw, tenant, record)
        except BadRequest as e:
            status, text = e.status, e.text
        record["status"] = status
        record["error"] = text or None
        with st.lock:
            st.bodies.append(record)
            delay = st.delay_s
        if delay > 0:
            time.sleep(delay)
        self.reply(status, text)

    def push_checked(self, raw, tenant, record):
        st = self.state
        with st.lock:
            if st.fail_next > 0:
                st.fail_next -= 1
                return 503, "the fake is unavailable (--fail-first)\n"
            if st.status_429_next > 0:
                st.status_429_next -= 1
                return 429, ("Ingestion rate limit exceeded (limit: %d bytes/sec) while attempting "
                             "to ingest lines, reduce log volume or contact your Loki administrator "
                             "to see if the limit can be increased\n" % RATE_BYTES)
            tenant_required = st.tenant_required
        if tenant_required and not tenant:
            return 401, "no org id\n"
        if tenant is None:
            tenant = "fake"  # auth_enabled: false

        streams = parse_push(self.decode(raw))

        now = time.time_ns()
        errors = []
        accepted_streams = []
        total = 0
        nbytes = 0
        with st.lock:
            max_line = st.max_line_size
        for labels, entries in streams:
            total += len(entries)
            err = validate_labels(labels)
            if err:
                errors.append(err)
                continue
            good = []
            for ns, line in entries:
                if ns < now - REJECT_OLD_NS:
                    errors.append("entry for stream '%s' has timestamp too old: %s" % (
                        labels_string(labels), go_time(ns)))
                elif ns > now + CREATION_GRACE_NS:
                    errors.append("entry for stream '%s' has timestamp too new: %s" % (
                        labels_string(labels), go_time(ns)))
                elif max_line > 0 and len(line.encode("utf-8")) > max_line:
                    errors.append("max line size (%d) exceeded while adding (%d) size line" % (
                        max_line, len(line.encode("utf-8"))))
                else:
                    good.append((ns, line))
                    nbytes += len(line.encode("utf-8"))
            accepted_streams.append((labels, good))
        # The distributor answers at once when nothing in the request was valid.
        if errors and not any(good for _, good in accepted_streams):
            return 400, "\n".join(errors) + "\n"

        with st.lock:
            if not st.take_rate(tenant, nbytes):
                return 429, ("Ingestion rate limit exceeded (limit: %d bytes/sec) while attempting "
                             "to ingest '%d' lines totaling '%d' bytes, reduce log volume or "
                             "contact your Loki administrator to see if the limit can be "
                             "increased\n" % (RATE_BYTES, total, nbytes))
            ignored = []
            for labels, good in accepted_streams:
                ignored.extend(self.ingest(tenant, labels, good))
        if ignored:
            text = "".join("entry with timestamp %s ignored, reason: '%s' for stream: %s,\n" % (
                go_time(ns), why, labels_string(labels)) for ns, why, labels in ignored)
            text += "total ignored: %d out of %d\n" % (len(ignored), total)
            return 400, "\n".join(errors) + ("\n" if errors else "") + text
        if errors:
            return 400, "\n".join(errors) + "\n"
        return 204, ""

    def best_effort_text(self, raw):
        """What the request carried, gunzipped when it can be, for tests that grep every byte
        received (rejected pushes included)."""
        data = raw
        if (self.headers.get("Content-Encoding") or "").strip().lower() == "gzip":
            try:
                data = gzip.decompress(raw)
            except (OSError, EOFError, zlib.error):
                pass
        return data.decode("utf-8", "replace")

    def decode(self, raw):
        enc = (self.headers.get("Content-Encoding") or "").strip().lower()
        ctype_header = self.headers.get("Content-Type") or ""
        ctype = ctype_header.split(";")[0].strip().lower()
        if enc == "gzip":
            try:
                body = gzip.decompress(raw)
            except (OSError, EOFError, zlib.error) as e:
                raise BadRequest(400, "gzip: invalid header (%s)\n" % e)
        elif enc in ("", "snappy"):  # Loki treats "snappy" on JSON as a no-op header
            body = raw
        else:
            raise BadRequest(400, "Content-Encoding %s not supported\n" % json.dumps(enc))
        if ctype == "application/json":
            return body
        if ctype == "application/x-protobuf":
            raise BadRequest(415, "loki fake: application/x-protobuf (snappy protobuf) is not "
                                  "implemented by this fake; send application/json\n")
        # Loki decodes every other (or no) content type as snappy block protobuf.
        raise BadRequest(400, "snappy: corrupt input\n")

    def ingest(self, tenant, labels, entries):
        """The ingester's per-stream ordering rules; returns [(ns, reason, labels)] ignored.
        Caller holds the state lock."""
        st = self.state
        key = (tenant, tuple(sorted(labels)))
        s = st.streams.setdefault(key, {"labels": dict(labels), "entries": [], "set": set(),
                                        "last": None, "highest": None})
        ignored = []
        for ns, line in entries:
            if st.ordered:
                if s["last"] is not None:
                    if ns == s["last"][0] and line == s["last"][1]:
                        continue
                    if ns < s["last"][0]:
                        ignored.append((ns, "entry out of order", labels))
                        continue
            else:
                if (ns, line) in s["set"]:
                    continue
                if s["highest"] is not None and ns < s["highest"] - TOO_FAR_BEHIND_NS:
                    cutoff = s["highest"] - TOO_FAR_BEHIND_NS
                    ignored.append((ns, "entry too far behind, oldest acceptable timestamp is: "
                                        "%s" % time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                             time.gmtime(cutoff // NS)), labels))
                    continue
            s["entries"].append((ns, line))
            s["set"].add((ns, line))
            s["last"] = (ns, line)
            if s["highest"] is None or ns > s["highest"]:
                s["highest"] = ns
        return ignored

    def snapshot(self, match=None):
        with self.state.lock:
            out = []
            for (tenant, _), s in self.state.streams.items():
                if match and any(s["labels"].get(k) != v for k, v in match.items()):
                    continue
                if not s["entries"]:
                    continue
                # Loki returns entries sorted by time (stable for equal timestamps).
                values = [[str(ns), line] for ns, line in sorted(s["entries"], key=lambda e: e[0])]
                out.append({"tenant": tenant, "stream": dict(s["labels"]), "values": values})
        return out

    def query_range(self, q):
        query = (q.get("query") or [""])[0].strip()
        m = re.fullmatch(r"\{(.*)\}", query)
        if not m:
            self.reply(400, "parse error : only {label=\"value\",...} selectors in this fake\n")
            return
        match = {}
        for part in filter(None, (p.strip() for p in m.group(1).split(","))):
            pm = re.fullmatch(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"', part)
            if not pm:
                self.reply(400, "parse error : unsupported matcher %s\n" % part)
                return
            match[pm.group(1)] = json.loads('"%s"' % pm.group(2))
        limit = int((q.get("limit") or ["100"])[0])
        direction = (q.get("direction") or ["backward"])[0]
        result = []
        for s in self.snapshot(match):
            values = s["values"]
            if direction == "backward":
                values = list(reversed(values))
            result.append({"stream": s["stream"], "values": values[:limit]})
        self.reply_json(200, {"status": "success",
                              "data": {"resultType": "streams", "result": result, "stats": {}}})


def main():
    ap = argparse.ArgumentParser(description="strict fake of Loki's push API (tests only)")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--ordered", action="store_true",
                    help="unordered_writes: false (Loki before 2.4)")
    ap.add_argument("--tenant-required", action="store_true", help="auth_enabled: true")
    ap.add_argument("--fail-first", type=int, default=0, metavar="N")
    ap.add_argument("--status-429", type=int, default=0, metavar="N")
    ap.add_argument("--max-line-size", type=int, default=0, metavar="BYTES")
    args = ap.parse_args()

    # A test that crashes must not leave its fake behind: exit when the parent goes away.
    parent = os.getppid()

    def watch_parent():
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=watch_parent, daemon=True).start()

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.state = State(args)
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    sys.stdout.write("%d\n" % port)
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
