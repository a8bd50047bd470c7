"""The two HTTP engines (worker/engine.c: libcurl, and the native HTTP/1.1
path of worker/h1.c) side by side: the same scenario through both must
reach the server as the same requests (method, target, headers, body hash)
and give the same counts, captures, checks and counters, over http and
https (the native path's own OpenSSL client, worker/h1.c h1_tls_*).
"""
import hashlib
import http.server
import json
import os
import re
import ssl
import subprocess
import tempfile
import threading
import urllib.parse
import urllib.request

from harness import HORNET, ROOT, Target, eq, hornet_json, test, write


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers like a small login API and records every request."""
    protocol_version = "HTTP/1.1"
    seen = None  # list, set per server
    # head and body are two writes: without this each answer waits ~40 ms
    # for a delayed ACK (redirect chains of 31 hops)
    disable_nagle_algorithm = True

    def log_message(self, *a):
        pass

    def setup(self):
        super().setup()
        self.server.n_conns += 1   # one handler per connection

    def _handle(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        hdrs = sorted((k.lower(), v) for k, v in self.headers.items())
        self.server.seen.append((self.command, self.path, tuple(hdrs),
                                 hashlib.sha256(body).hexdigest()))
        if self.server.ctx and not getattr(self, "counted", False):
            # https: was this connection's session resumed? (one handler
            # object per connection)
            self.counted = True
            self.server.conns.append(self.connection.session_reused)
        path = self.path.split("?")[0]
        m = re.match(r"/redir/(3\d\d)/(.*)$", self.path)
        if m:
            # /redir/CODE/REST: Location "/REST", or with REST = "~X" the
            # location X percent-decoded (absolute, relative, odd forms);
            # a body, and a cookie that must not ride the chain
            rest = m.group(2)
            loc = urllib.parse.unquote(rest[1:]) if rest.startswith("~") else "/" + rest
            self.send_response(int(m.group(1)))
            self.send_header("Location", loc)
            self.send_header("Set-Cookie", "r%s=1; Path=/" % m.group(1))
            self.send_header("Content-Length", "5")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(b"moved")
            return
        if path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if path == "/close-redir":
            self.send_response(302)
            self.send_header("Location", "/items/z")
            self.send_header("Connection", "close")
            self.end_headers()   # framed by the close
            if self.command != "HEAD":
                self.wfile.write(b"bye")
            self.close_connection = True
            return
        if path == "/whereto":
            # where a templated host goes: the other server for odd users
            u = int(urllib.parse.parse_qs(self.path.split("?", 1)[1])["u"][0])
            out = json.dumps({"h": self.server.hosts[u % 2]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
            return
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
            if self.command == "HEAD":
                return
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


class _TlsServer(http.server.ThreadingHTTPServer):
    """The recorder over TLS (Python's ssl: OpenSSL, TLS 1.3 tickets, so a
    client that offers its last session is seen resuming it). The
    handshake runs in the connection's thread."""
    daemon_threads = True

    def get_request(self):
        sock, addr = self.socket.accept()
        return self.ctx.wrap_socket(sock, server_side=True,
                                    do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        pass   # a client that refused our certificate: not the test's business


def _serve(certs=None, addr="127.0.0.1"):
    """The recorder on an ephemeral port of addr; over TLS with certs (a
    gen-certs.sh directory; the server names clients send, SNI, are kept
    in .sni)."""
    ctx = None
    if certs:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(certs, "server.crt"),
                            os.path.join(certs, "server.key"))
        srv = _TlsServer((addr, 0), _Recorder)
        ctx.sni_callback = lambda sock, name, c: srv.sni.append(name or "-")
    else:
        srv = http.server.ThreadingHTTPServer((addr, 0), _Recorder)
    srv.ctx = ctx
    srv.conns = []
    srv.seen = []
    srv.sni = []
    srv.n_conns = 0
    srv.hosts = ["%s:%d" % srv.server_address] * 2
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
          - {{path: /items/v, headers: {{Host: "v${{user_index()}}.example"}}}}
          - {{method: OPTIONS, path: /missing}}
"""


def _certs(d):
    certs = os.path.join(d, "certs")
    subprocess.run(["bash", os.path.join(ROOT, "tests/target/gen-certs.sh"), certs],
                   check=True, capture_output=True)
    return certs


@test(once=True)
def engines_send_the_same_requests():
    """Every method, templated paths, queries, headers and bodies, a
    captured token and cookie, chunked answers, Connection: close, a
    counter, a Host header that is a template (the native path sent no
    Host at all) and a 404: what the server received is the same
    multiset of requests from both engines, and so are the figures."""
    _same_requests(tls=False)


@test(once=True)
def engines_send_the_same_requests_over_https():
    """The same flow over https with the CA from the scenario's files
    (tls.ca_file, verified against the certificate's IP address): the
    same requests at the server, the same figures."""
    _same_requests(tls=True)


def _same_requests(tls):
    runs = {}
    with tempfile.TemporaryDirectory() as d:
        certs = _certs(d) if tls else None
        srv = _serve(certs)   # one server, so the Host header is the same
        try:
            text = FLOW.format(port=srv.server_address[1])
            if tls:
                text = text.replace("host: http://", "host: https://", 1)
                text = "tls: {ca_file: certs/ca.crt}\n" + text
            path = write(os.path.join(d, "flow.yaml"), text)
            for engine in ("curl", "native"):
                srv.seen = []
                j, _, _ = hornet_json("run", path, "-t", "3s", "--threads", "1",
                                      engine=engine)
                runs[engine] = (j, sorted(srv.seen))
        finally:
            srv.shutdown()
            srv.server_close()
    (jc, sc), (jn, sn) = runs["curl"], runs["native"]
    eq(len(sc), 3 * 4 * 9, "requests the server saw from curl")
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


@test(once=True)
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


def _run(engine, *args):
    """hornet run on engine, with the native path's end-of-run line on
    (HORNET_NATIVE_TIMINGS=1); returns (summary JSON, stderr). -q is not
    passed: it would hide that line."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "out.json")
        env = dict(os.environ, HORNET_ENGINE=engine, HORNET_NATIVE_TIMINGS="1")
        p = subprocess.run([HORNET, "run", *args, "--json", out], capture_output=True,
                           text=True, timeout=60, env=env)
        assert p.returncode == 0, "hornet exit %d\n%s" % (p.returncode, p.stderr)
        with open(out) as f:
            return json.load(f), p.stderr


def _native_line(err):
    """The native path's end-of-run figures (engine.c log_timing), summed
    over engine threads: proof that it ran, and its handshake counts."""
    tot = {"responses": 0, "connections": 0, "handshakes": 0, "resumed": 0}
    pat = (r"native timings: (\d+) responses.*?; (\d+) new connections.*?; "
           r"(\d+) TLS handshakes, (\d+) resumed")
    for m in re.finditer(pat, err):
        for k, v in zip(("responses", "connections", "handshakes", "resumed"),
                        m.groups()):
            tot[k] += int(v)
    assert tot["responses"], "the native path did not run:\n" + err
    return tot


def _tls_counts(t, certs):
    """GET /__counts over the target's TLS port (with the client
    certificate, which --tls-client-ca asks for)."""
    ctx = ssl.create_default_context(cafile=os.path.join(certs, "ca.crt"))
    ctx.load_cert_chain(os.path.join(certs, "client.crt"),
                        os.path.join(certs, "client.key"))
    with urllib.request.urlopen(t.url + "/__counts", timeout=5, context=ctx) as r:
        return json.loads(r.read())


MUTUAL = """
host: https://127.0.0.1:1
tls: {ca_file: certs/ca.crt, cert_file: certs/client.crt, key_file: certs/client.key}
tasks:
  - {path: /status, expect: {status: 200}}
"""


@test(once=True)
def engines_count_the_same_over_mutual_tls():
    """Mutual TLS (CA, client certificate and key from the scenario's
    files) against the target, which refuses requests without a client
    certificate: each engine's counts equal the target's, one kept-alive
    TLS connection per user; the native path did the handshakes itself."""
    with tempfile.TemporaryDirectory() as d:
        certs = _certs(d)
        path = write(os.path.join(d, "m.yaml"), MUTUAL)
        for engine in ("curl", "native"):
            with Target("--tls-cert", os.path.join(certs, "server.crt"),
                        "--tls-key", os.path.join(certs, "server.key"),
                        "--tls-client-ca", os.path.join(certs, "ca.crt")) as t:
                j, err = _run(engine, path, "--host", t.url, "-u", "8", "-t", "2s",
                              "--threads", "2")
                c = _tls_counts(t, certs)
                eq(j["failures"], 0, "%s: failures (%s)" % (engine, j["errors"]))
                eq(j["requests"], c["total"], "%s: requests vs server" % engine)
                eq(j["status_codes"], {"200": j["requests"]}, "%s: statuses" % engine)
                eq(c["connections"] - 1, 8, "%s: one TLS connection per user" % engine)
                if engine == "native":
                    n = _native_line(err)
                    eq(n["responses"], j["requests"], "native responses")
                    eq(n["handshakes"], 8, "native TLS handshakes")


@test(once=True)
def engines_fail_tls_the_same_way():
    """An untrusted certificate, a certificate for another name, and
    https to a plain http port: the same kind ("tls") and the same
    message from both engines (for the plain port, the kind: its message
    depends on a race, on either engine)."""
    with tempfile.TemporaryDirectory() as d:
        certs = _certs(d)
        tls = ("--tls-cert", os.path.join(certs, "server.crt"),
               "--tls-key", os.path.join(certs, "server.key"))
        cases = [("untrusted", Target(*tls), "", None),
                 ("other name", Target("--bind", "127.0.0.2", *tls), "", certs),
                 ("plain port", Target(), "https", None)]
        for what, t, scheme, ca in cases:
            with t:
                url = (scheme + t.url[4:] if scheme else t.url) + "/status"
                args = ["--url", url, "-u", "1", "-t", "1s", "--threads", "1",
                        "--max-error-rate", "100%"]
                got = {}
                for engine in ("curl", "native"):
                    if ca:
                        path = write(os.path.join(d, "ca.yaml"),
                                     "tls: {ca_file: certs/ca.crt}\n"
                                     "tasks: [{path: /status}]\n")
                        args = [path, "--host", t.url, "-u", "1", "-t", "1s",
                                "--threads", "1", "--max-error-rate", "100%"]
                    j, _ = _run(engine, *args)
                    assert j["requests"] > 0 and j["failures"] == j["requests"], (what, j)
                    got[engine] = {(e["kind"], e["message"]) for e in j["errors"]}
                if what == "plain port":
                    # a plain server answers a ClientHello with HTTP text and
                    # closes: which of the two each handshake sees first
                    # ("wrong version number" or the close) is a race, on
                    # either engine; the kind is what must agree
                    eq({k for k, _ in got["native"]}, {k for k, _ in got["curl"]},
                       "%s: error kinds native vs curl" % what)
                    continue
                eq(got["native"], got["curl"], "%s: errors native vs curl" % what)
                eq({k for k, _ in got["native"]}, {"tls"}, "%s: kind" % what)


@test(once=True)
def new_connection_per_request_over_tls():
    """Handshake load (case 4 of shared/scenarios with --new-connection):
    every request on its own TLS connection, on both engines; the
    target's connection counter equals the requests, and the native path
    made as many handshakes. (The target's GnuTLS set-up resumes no
    sessions; see native_resumes_tls_sessions for that.)"""
    with tempfile.TemporaryDirectory() as d:
        certs = _certs(d)
        path = write(os.path.join(d, "m.yaml"), MUTUAL)
        for engine in ("curl", "native"):
            with Target("--tls-cert", os.path.join(certs, "server.crt"),
                        "--tls-key", os.path.join(certs, "server.key"),
                        "--tls-client-ca", os.path.join(certs, "ca.crt")) as t:
                j, err = _run(engine, path, "--host", t.url, "-u", "4", "-t", "2s",
                              "--threads", "1", "--new-connection")
                c = _tls_counts(t, certs)
                eq(j["failures"], 0, "%s: failures (%s)" % (engine, j["errors"]))
                assert j["requests"] > 20, (engine, j["requests"])
                eq(j["requests"], c["total"], "%s: requests vs server" % engine)
                eq(c["connections"] - 1, j["requests"],
                   "%s: one TLS connection per request" % engine)
                if engine == "native":
                    n = _native_line(err)
                    eq(n["handshakes"], j["requests"], "native TLS handshakes")
                    eq(n["connections"], j["requests"], "native new connections")


@test(once=True)
def native_resumes_tls_sessions():
    """With a new connection per request against a server that issues
    session tickets (Python's ssl, OpenSSL), the native path offers the
    origin's last session on each new connection, as curl's session cache
    does: the server sees nearly every connection resumed."""
    with tempfile.TemporaryDirectory() as d:
        certs = _certs(d)
        srv = _serve(certs)
        try:
            path = write(os.path.join(d, "r.yaml"),
                         "host: https://127.0.0.1:%d\ntls: {ca_file: certs/ca.crt}\n"
                         "tasks: [{path: /items/1}]\n" % srv.server_address[1])
            res = {}
            for engine in ("curl", "native"):
                srv.conns = []
                j, err = _run(engine, path, "-u", "2", "-t", "1s", "--threads", "1",
                              "--new-connection")
                conns = list(srv.conns)
                eq(j["failures"], 0, "%s: failures (%s)" % (engine, j["errors"]))
                eq(len(conns), j["requests"], "%s: connections at the server" % engine)
                res[engine] = (sum(conns), len(conns))
                if engine == "native":
                    n = _native_line(err)
                    eq(n["handshakes"], len(conns), "native handshakes")
                    eq(n["resumed"], sum(conns), "native: resumed, as the server saw")
        finally:
            srv.shutdown()
            srv.server_close()
    # the users' first connections are full handshakes (no session yet),
    # and a ticket can lose the race with the next connect: a few more
    resumed, total = res["native"]
    assert total > 20 and resumed >= 0.8 * total, ("native resumed", res)
    print("    resumed/connections: native %d/%d, curl %d/%d"
          % (res["native"] + res["curl"]))


REDIRECTS = """
host: http://127.0.0.1:{port}
headers: {{X-Scenario: redir, Authorization: "Bearer s3cret"}}
load: {{users: 2}}
classes:
  - name: c
    iterations: 3
    tasks:
      - task: flow
        steps:
          - {{method: POST, path: /redir/302/items/a, body: {{x: 1}}, follow_redirects: true}}
          - {{method: POST, path: /redir/307/items/b, body: {{x: 2}}, follow_redirects: true}}
          - {{method: PUT, path: /redir/301/items/c, body: raw, follow_redirects: true}}
          - {{method: PATCH, path: /redir/308/items/d, body: p, follow_redirects: true}}
          - {{method: POST, path: /redir/303/items/e, follow_redirects: true}}
          - {{method: DELETE, path: /redir/303/items/f, follow_redirects: true}}
          - {{method: HEAD, path: /redir/302/items/g, follow_redirects: true}}
          - {{path: /redir/308/redir/302/items/h, follow_redirects: true}}
          - {{path: "/redir/302/~http%3A%2F%2F127.0.0.2%3A{port2}%2Fitems%2Fi",
              follow_redirects: true, headers: {{X-Id: "${{counter()}}"}}}}
          - {{path: "/redir/307/~..%2F..%2Fitems%2Fj%3Fq%3D1%23frag", follow_redirects: true}}
          - {{path: "/redir/302/~%2F%2F127.0.0.1%3A{port}%2Fitems%2Fk", follow_redirects: true}}
          - {{path: "/redir/302/~items%2Fa%20b%C3%A9", follow_redirects: true}}
          - {{path: /close-redir, follow_redirects: true}}
          - {{path: /redir/302/items/l, expect: {{status: 302}}}}
          - {{path: /redir/300/~, follow_redirects: true, expect: {{status: 300}}}}
          - {{path: /loop, follow_redirects: true}}
"""


def _two_servers(certs=None):
    a, b = _serve(certs), _serve(certs, "127.0.0.2")
    a.hosts = b.hosts = ["127.0.0.1:%d" % a.server_address[1],
                         "127.0.0.2:%d" % b.server_address[1]]
    return a, b


def _stop(*srvs):
    for srv in srvs:
        srv.shutdown()
        srv.server_close()


def _differential(text, d, args=("-t", "3s", "--threads", "1"), certs=None):
    """The scenario text (formatted with port, port2) through both engines
    against two recorders (127.0.0.1 and 127.0.0.2); returns {engine:
    (summary, requests the first saw, the second saw, server names)}."""
    a, b = _two_servers(certs)
    runs = {}
    try:
        path = write(os.path.join(d, "s.yaml"),
                     text.format(port=a.server_address[1], port2=b.server_address[1]))
        for engine in ("curl", "native"):
            for srv in (a, b):
                srv.seen, srv.sni = [], []
            j, err = _run(engine, path, *args)
            runs[engine] = (j, sorted(a.seen), sorted(b.seen), sorted(a.sni + b.sni), err)
    finally:
        _stop(a, b)
    return runs


def _same_figures(jn, jc):
    for k in ("requests", "failures", "status_codes", "counters", "iterations"):
        eq(jn[k], jc[k], k)
    eq(sorted((e["kind"], e["name"], e["message"], e["count"]) for e in jn["errors"]),
       sorted((e["kind"], e["name"], e["message"], e["count"]) for e in jc["errors"]),
       "error set")
    by = lambda j: sorted((e["method"], e["name"], e["requests"], e["failures"])  # noqa: E731
                          for e in j["endpoints"])
    eq(by(jn), by(jc), "per endpoint")


def _same_seen(sc, sn, what):
    eq(len(sn), len(sc), "requests %s saw" % what)
    for x, y in zip(sc, sn):
        eq(y, x, "a request as %s saw it (native vs curl)" % what)


@test(once=True)
def engines_follow_redirects_the_same_way():
    """follow_redirects on both engines (the native path follows them
    itself): 301/302/303 turn a POST into a GET without its body, PUT
    keeps its name and loses its body, 307/308 send method and body
    again, HEAD stays HEAD, a chain of two, a redirect to another host
    (127.0.0.2: no Authorization, no Cookie, its own Host), relative,
    scheme-relative and encoded locations, a redirect on a closing
    connection, a 3xx not followed, a 3xx without Location, and a loop
    that fails after 30 redirects. What both servers received is the
    same multiset of requests (method, target, headers, body hash), and
    so are the figures; one request each per transfer, whatever the
    hops."""
    with tempfile.TemporaryDirectory() as d:
        runs = _differential(REDIRECTS, d)
    (jc, ac, bc, _, _), (jn, an, bn, _, errn) = runs["curl"], runs["native"]
    _native_line(errn)   # the native path ran, not libcurl
    _same_seen(ac, an, "127.0.0.1")
    _same_seen(bc, bn, "127.0.0.2")
    _same_figures(jn, jc)
    eq(jc["iterations"], 6, "iterations")
    eq(jc["requests"], 6 * 16, "one request per transfer, whatever the hops")
    loop = [r for r in ac if r[1] == "/loop"]
    eq(len(loop), 6 * 31, "/loop: the first request and 30 redirects followed")
    eq({e["message"] for e in jc["errors"]}, {"Maximum (30) redirects followed"},
       "the loop's error")
    by_path = {}
    for method, target, hdrs, _ in ac + bc:
        by_path.setdefault(target, set()).add((method, dict(hdrs).get("content-length")))
    eq(by_path["/items/a"], {("GET", None)}, "302 turns a POST into a GET")
    eq(by_path["/items/b"], {("POST", "7")}, "307 sends the POST again")
    eq(by_path["/items/c"], {("PUT", None)}, "301: PUT keeps its name, not its body")
    eq(by_path["/items/g"], {("HEAD", None)}, "HEAD stays HEAD")
    hi = [dict(h) for _, t, h, _ in bc if t == "/items/i"]
    assert hi and all("authorization" not in h and "cookie" not in h for h in hi), hi
    assert all(h["host"].startswith("127.0.0.2:") for h in hi), hi


TEMPLATED_HOST = """
host: http://127.0.0.1:{port}
load: {{users: 4}}
classes:
  - name: c
    iterations: 3
    tasks:
      - task: t
        steps:
          - path: /whereto
            query: {{u: "${{user_index()}}"}}
            capture: {{h: {{json: $.h}}}}
          - {{url: "http://${{h}}/items/t${{user_index()}}", name: "/items/[t]"}}
          - {{url: "http://${{h}}/redir/302/items/u", name: /redir, follow_redirects: true}}
          - {{method: POST, url: "http://${{h}}/login", body: {{user: "${{user_index()}}"}},
              name: /login}}
          - {{path: /items/hh, headers: {{Host: "h-${{user_index()}}.example"}}}}
"""


@test(once=True)
def engines_send_the_same_to_templated_hosts():
    """A URL whose host is captured at run time (half the users to
    127.0.0.1, half to 127.0.0.2), with a redirect and a POST on it, and
    a Host header that is a template: the native path runs it itself
    (one pool per scheme, host and port) and both servers see the same
    requests from both engines, with the same Host headers."""
    with tempfile.TemporaryDirectory() as d:
        runs = _differential(TEMPLATED_HOST, d)
    (jc, ac, bc, _, _), (jn, an, bn, _, errn) = runs["curl"], runs["native"]
    _native_line(errn)
    _same_seen(ac, an, "127.0.0.1")
    _same_seen(bc, bn, "127.0.0.2")
    _same_figures(jn, jc)
    eq(jc["failures"], 0, "failures %r" % jc["errors"])
    eq(jc["requests"], 12 * 5, "requests")
    assert bc and all(dict(h)["host"].startswith("127.0.0.2:") for _, _, h, _ in bc), bc
    hh = sorted(dict(h)["host"] for _, t, h, _ in ac if t == "/items/hh")
    eq(hh, sorted("h-%d.example" % (i % 4) for i in range(12)), "templated Host headers")


TEMPLATED_TLS = """
host: https://127.0.0.1:{port}
tls: {{ca_file: certs/ca.crt}}
load: {{users: 2}}
classes:
  - name: c
    iterations: 4
    tasks:
      - task: t
        steps:
          - path: /whereto
            query: {{u: "${{user_index()}}"}}
            capture: {{h: {{json: $.h}}}}
          - {{url: "https://${{h}}/items/s"}}
"""


@test(once=True)
def engines_send_sni_per_templated_host():
    """https to a templated host: "localhost" (a name: sent as SNI and
    checked against the certificate) for one user, 127.0.0.1 (an
    address: no SNI, RFC 6066) for the other, on one server: the server
    names (per connection) and Host headers it saw are the same from
    both engines."""
    with tempfile.TemporaryDirectory() as d:
        certs = _certs(d)
        srv = _serve(certs)
        runs = {}
        try:
            port = srv.server_address[1]
            srv.hosts = ["localhost:%d" % port, "127.0.0.1:%d" % port]
            path = write(os.path.join(d, "s.yaml"), TEMPLATED_TLS.format(port=port))
            for engine in ("curl", "native"):
                srv.seen, srv.sni = [], []
                j, err = _run(engine, path, "-t", "3s", "--threads", "1")
                runs[engine] = (j, sorted(srv.seen), sorted(srv.sni), err)
        finally:
            _stop(srv)
    (jc, sc, nc, _), (jn, sn, nn, errn) = runs["curl"], runs["native"]
    _native_line(errn)
    eq(jc["failures"], 0, "curl failures %r" % jc["errors"])
    _same_figures(jn, jc)
    _same_seen(sc, sn, "the server")
    eq(nn, nc, "server names sent (native vs curl)")
    assert "localhost" in nc and set(nc) == {"localhost", "-"}, nc
    hosts = {dict(h)["host"].split(":")[0] for _, t, h, _ in sc if t == "/items/s"}
    eq(hosts, {"localhost", "127.0.0.1"}, "Host headers of the templated host")


PER_USER = """
host: http://127.0.0.1:{port}
http: {{connections: per_user}}
load: {{users: 3}}
classes:
  - name: c
    iterations: 5
    tasks:
      - task: t
        steps:
          - {{path: /items/a}}
          - {{url: "http://127.0.0.2:{port2}/redir/302/items/b", follow_redirects: true}}
          - path: /whereto
            query: {{u: "1"}}
            capture: {{h: {{json: $.h}}}}
          - {{url: "http://${{h}}/items/c"}}
"""


@test(once=True)
def engines_keep_per_user_connections_per_host():
    """connections: per_user with requests to two hosts (constant,
    redirected and templated): each user keeps one connection to each,
    as its own curl share does. The native path kept one per user and
    closed it at every change of host (30 connections here, not 6)."""
    with tempfile.TemporaryDirectory() as d:
        a, b = _two_servers()
        got = {}
        try:
            path = write(os.path.join(d, "s.yaml"),
                         PER_USER.format(port=a.server_address[1],
                                         port2=b.server_address[1]))
            for engine in ("curl", "native"):
                a.n_conns = b.n_conns = 0
                j, err = _run(engine, path, "-t", "3s", "--threads", "1")
                eq(j["failures"], 0, "%s: failures %r" % (engine, j["errors"]))
                eq(j["requests"], 3 * 5 * 4, "%s: requests" % engine)
                got[engine] = (a.n_conns, b.n_conns)
            _native_line(err)
        finally:
            _stop(a, b)
    eq(got["native"], got["curl"], "connections at each server (native vs curl)")
    eq(got["curl"], (3, 3), "one per user and host")
