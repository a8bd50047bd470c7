"""The two HTTP engines (worker/engine.c: libcurl, and the native HTTP/1.1
path of worker/h1.c) side by side: the same scenario through both must
reach the server as the same requests (method, target, headers, body hash)
and give the same counts, captures, checks and counters.
"""
import hashlib
import http.server
import json
import os
import tempfile
import threading

from harness import Target, eq, hornet_json, test, write


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers like a small login API and records every request."""
    protocol_version = "HTTP/1.1"
    seen = None  # list, set per server

    def log_message(self, *a):
        pass

    def _handle(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        hdrs = sorted((k.lower(), v) for k, v in self.headers.items())
        self.server.seen.append((self.command, self.path, tuple(hdrs),
                                 hashlib.sha256(body).hexdigest()))
        path = self.path.split("?")[0]
        if path == "/login":
            user = json.loads(body or b"{}").get("user", "?")
            out = json.dumps({"token": "t-" + user, "n": 3}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Set-Cookie", "sid=s-%s; Path=/" % user)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
        elif path.startswith("/items/"):
            # chunked, with the item id echoed in a header
            self.send_response(200)
            self.send_header("X-Item", path[7:])
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b'{"status":', b'"complete"}'):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/bye":
            out = b"bye"
            self.send_response(200)
            self.send_header("Connection", "close")
            self.send_header("Content-Length", "3")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(out)
            self.close_connection = True
        elif path == "/busy":
            self.send_response(429)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_response(404)
            self.send_header("Content-Length", "9")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(b"not found")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _handle


def _serve():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    srv.seen = []
    srv.daemon_threads = True
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    return srv


FLOW = """
host: http://127.0.0.1:{port}
headers: {{X-Scenario: diff}}
load: {{users: 3}}
classes:
  - name: c
    iterations: 4
    tasks:
      - task: flow
        steps:
          - method: POST
            path: /login
            body: {{user: "u${{user_index()}}"}}
            capture: {{tok: {{json: $.token}}, sid: {{cookie: sid}}}}
            expect: {{status: 200, json: {{$.n: "3"}}}}
          - path: /items/${{tok}}
            query: {{q: "${{counter()}}"}}
            name: "/items/[tok]"
            headers: {{Authorization: "Bearer ${{tok}}", X-Sid: "${{sid}}"}}
            capture: {{item: {{header: X-Item}}}}
            expect: {{body_contains: complete, json: {{$.status: complete}}}}
          - {{method: PUT, path: "/items/${{item}}", name: "/items/[put]", body: 'raw ${{tok}}'}}
          - {{method: PATCH, path: /items/p, headers: {{Content-Type: text/plain}}, body: x}}
          - {{method: HEAD, path: /bye}}
          - {{method: DELETE, path: /bye}}
          - {{path: /busy, count: [{{name: busy, status: 429}}], expect: {{status: [200, 429]}}}}
          - {{method: OPTIONS, path: /missing}}
"""


@test
def engines_send_the_same_requests():
    """Every method, templated paths, queries, headers and bodies, a
    captured token and cookie, chunked answers, Connection: close, a
    counter and a 404: what the server received is the same multiset of
    requests from both engines, and so are the figures."""
    runs = {}
    srv = _serve()   # one server, so the Host header is the same
    try:
        with tempfile.TemporaryDirectory() as d:
            path = write(os.path.join(d, "flow.yaml"),
                         FLOW.format(port=srv.server_address[1]))
            for engine in ("curl", "native"):
                srv.seen = []
                j, _, _ = hornet_json("run", path, "-t", "3s", "--threads", "1",
                                      engine=engine)
                runs[engine] = (j, sorted(srv.seen))
    finally:
        srv.shutdown()
        srv.server_close()
    (jc, sc), (jn, sn) = runs["curl"], runs["native"]
    eq(len(sc), 3 * 4 * 8, "requests the server saw from curl")
    for a, b in zip(sc, sn):
        eq(b, a, "request as the server saw it (native vs curl)")
    eq(len(sn), len(sc), "requests the server saw")
    for k in ("requests", "failures", "status_codes", "counters", "iterations"):
        eq(jn[k], jc[k], k)
    eq(jc["failures"], 12, "the 12 OPTIONS /missing fail")
    eq(sorted((e["kind"], e["name"], e["message"], e["count"]) for e in jn["errors"]),
       sorted((e["kind"], e["name"], e["message"], e["count"]) for e in jc["errors"]),
       "error set")
    by = lambda j: sorted((e["method"], e["name"], e["requests"], e["failures"])  # noqa: E731
                          for e in j["endpoints"])
    eq(by(jn), by(jc), "per endpoint")


@test
def engines_count_the_same_against_the_target():
    """The target's own counts of one closed run per engine: equal to
    what each engine reports, route by route."""
    for engine in ("curl", "native"):
        with Target() as t:
            j, _, _ = hornet_json("run", "--url", t.url + "/status/201", "-u", "8",
                                  "-t", "2s", "--threads", "2", engine=engine)
            c = t.counts()
            eq(j["requests"], c["total"], "%s: requests vs server" % engine)
            eq(j["status_codes"], {"201": j["requests"]}, "%s: statuses" % engine)
            eq(c["connections"] - 1, 8, "%s: one kept-alive connection per user" % engine)
