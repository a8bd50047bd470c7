"""The engine under hostile servers and limits (issue 15): a server that
resets, closes or talks garbage (target --hostile), a refused port, a low
file-descriptor limit, a worker stopped and continued. Every test runs
both engines (native and libcurl) and checks hornet's totals against the
target's own count: `total` is what reached the server, read in full.
(Each test loops over both engines itself, so it runs once: @test(once=True);
the fleet test with no engine loop runs per engine as every test does.)
"""
import json
import os
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time

from harness import (HORNET, ROOT, SKIPPED, Fleet, Target, eq, free_port, test,
                     write)

ENGINES = ("native", "curl")


def run_json(args, engine, preexec=None, timeout=60):
    """hornet run ARGS on ENGINE; returns (exit code, summary or None, stderr)."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "out.json")
        env = dict(os.environ, HORNET_ENGINE=engine)
        p = subprocess.run([HORNET, "run", *args, "--json", path, "-q"],
                           capture_output=True, text=True, timeout=timeout, env=env,
                           preexec_fn=preexec)
        j = json.load(open(path)) if os.path.exists(path) else None
        return p.returncode, j, p.stderr


def kinds(j):
    out = {}
    for e in j["errors"]:
        out[e["kind"]] = out.get(e["kind"], 0) + e["count"]
    return out


POST = ["-X", "POST", "-d", '{"a":1}', "-H", "Content-Type: application/json"]


def _post_2s(t, eng):
    """10 users POSTing to the hostile target t for 2 s on one engine
    thread: hornet's summary and the target's counts."""
    rc, j, err = run_json(["--url", t.url + "/x", *POST, "-u", "10", "-t", "2s",
                           "--threads", "1"], eng)
    assert j, (eng, rc, err[-800:])
    return j, t.counts()


@test(once=True)
def server_resetting_each_2nd_request_counts_every_send():
    """The server reads the 2nd request of each connection, then resets it.
    libcurl (and the native path, as curl does) sends it again on a new
    connection: before, those sends were never counted (server 59,569 vs
    hornet 34,817 with libcurl; 106,954 vs 53,482 native). Each send is a
    request: the reset one fails as `reset`, its send again is counted as
    it ends."""
    for eng in ENGINES:
        with Target("--hostile", "reset-2nd") as t:
            j, c = _post_2s(t, eng)
            eq(j["requests"], c["total"], "%s: hornet's requests vs what the server read" % eng)
            eq(j["failures"], c["total"] - c["answered"], "%s: failures vs resets" % eng)
            assert set(kinds(j)) == {"reset"}, (eng, j["errors"])
            assert c["total"] > 1000, (eng, c)


@test(once=True)
def server_closing_after_each_answer_gives_no_false_failures():
    """The server closes after every answer without `Connection: close`
    (a FIN, then it drains what still comes). A reused connection that
    is found closed before any answer byte is a request the server never
    read: sent again on a new connection, not counted. Before, libcurl
    failed 14% as `reset` (the poll shortcut called dead connections
    alive), and "Connection died, tried 5 times" (curl 7.88 counts its
    sends again per handle, not per transfer)."""
    for eng in ENGINES:
        with Target("--hostile", "close") as t:
            j, c = _post_2s(t, eng)
            eq(j["failures"], 0, "%s: failures %r" % (eng, j["errors"]))
            eq(j["requests"], c["total"], "%s: requests vs what the server read" % eng)
            assert c["total"] > 1000, (eng, c)


@test(once=True)
def server_closing_hard_after_each_answer_counts_every_request():
    """The server answers, then closes at once (no lingering close): a
    request sent on the connection after its close is reset unread. The
    FIN comes with the answer, so a client that checks a reused
    connection before sending (curl's poll, the native path's idle
    check) opens a new one instead; what is left is the race where the
    server's thread is preempted between its answer and its close (about
    1% here). Each such request is a failure of kind reset (a client
    cannot tell whether the server read it), and every other one is a
    request the server read: hornet's requests = the server's + failures,
    on both engines."""
    for eng in ENGINES:
        with Target("--hostile", "close-hard") as t:
            j, c = _post_2s(t, eng)
            assert c["total"] > 1000, (eng, c)
            assert j["failures"] <= 0.02 * j["requests"], (eng, j["failures"],
                                                           j["requests"], j["errors"])
            eq(set(kinds(j)) - {"reset"}, set(), "%s: failure kinds" % eng)
            eq(j["requests"], c["total"] + j["failures"],
               "%s: requests vs what the server read + resets" % eng)


@test(once=True)
def garbage_instead_of_http_is_a_protocol_failure():
    """Bytes that are not HTTP were filed as `other` ("Received HTTP/0.9
    when not allowed") by the libcurl path."""
    for eng in ENGINES:
        with Target("--hostile", "garbage") as t:
            rc, j, err = run_json(["--url", t.url + "/", "-u", "4", "-t", "1s",
                                   "--threads", "1"], eng)
            eq(rc, 3, "%s: every request failed" % eng)
            c = t.counts()
            eq(j["requests"], c["total"], "%s: requests vs server" % eng)
            eq(kinds(j), {"protocol": j["requests"]}, "%s: kinds" % eng)


@test(once=True)
def closed_users_back_off_from_a_refused_port():
    """Closed model against a port nobody listens on: users used to retry
    at once, 25,000 attempts/s per core. They now wait 10 ms, doubling to
    1 s (as a Locust user is slowed by its exception), and hornet says so:
    10 users in 3 s make at most ~10 attempts each."""
    port = free_port()
    for eng in ENGINES:
        rc, j, err = run_json(["--url", "http://127.0.0.1:%d/" % port, "-u", "10", "-t",
                               "3s", "--threads", "1"], eng)
        eq(rc, 3, "%s: every request failed" % eng)
        eq(kinds(j), {"refused": j["requests"]}, "%s: kinds" % eng)
        assert 10 <= j["requests"] <= 10 * 12, (eng, j["requests"])
        assert "users wait 10 ms, doubling to 1 s" in err, err[-800:]


class CutServer:
    """A server that answers each request on a new connection with a
    response cut short, then closes: over TLS (Python's ssl on memory
    BIOs, so the records on the wire can be cut or spoiled) or plain.
    Modes, TLS: alert (it asks for a client certificate: TLS 1.3's alert
    comes after the client's handshake is done), badmac (a record that
    does not decrypt), truncate (half a record, then FIN), notify-mid
    (close_notify in the body), notify-first (close_notify before any
    answer); plain: status-cut, head-cut (after a whole status line and
    a header), body-cut (Content-Length), chunk-cut. .accepted counts
    the connections."""
    RESP = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 100
    PLAIN = {"status-cut": b"HTTP/1.1 20",
             "head-cut": b"HTTP/1.1 201 Created\r\nX-A: 1\r\n",
             "body-cut": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nxxxx",
             "chunk-cut": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                          b"10\r\nxxxx"}

    def __init__(self, mode, certs=None):
        self.mode, self.accepted = mode, 0
        self.ctx = None
        if certs:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(os.path.join(certs, "server.crt"),
                                     os.path.join(certs, "server.key"))
            if mode == "alert":
                self.ctx.verify_mode = ssl.CERT_REQUIRED
                self.ctx.load_verify_locations(os.path.join(certs, "ca.crt"))
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(256)
        self.port = self.ls.getsockname()[1]
        self.stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stop:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, sock):
        sock.settimeout(5)
        try:
            if self.ctx:
                self._tls(sock)
            else:
                buf = b""
                while b"\r\n\r\n" not in buf:
                    d = sock.recv(65536)
                    if not d:
                        return
                    buf += d
                sock.sendall(self.PLAIN[self.mode])
            time.sleep(0.02)
        except (ssl.SSLError, OSError):
            pass
        finally:
            sock.close()

    def _tls(self, sock):
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = self.ctx.wrap_bio(inc, out, server_side=True)

        def flush():
            data = out.read()
            if data:
                sock.sendall(data)

        def step(fn):
            while True:
                try:
                    return fn()
                except ssl.SSLWantReadError:
                    flush()
                    d = sock.recv(65536)
                    if not d:
                        raise OSError("closed")
                    inc.write(d)
        try:
            step(obj.do_handshake)
            flush()
            buf = b""
            while b"\r\n\r\n" not in buf:
                buf += step(lambda: obj.read(65536))
        except ssl.SSLError:
            flush()   # the alert
            return
        mode = self.mode
        if mode in ("truncate", "badmac"):
            obj.write(self.RESP)
            data = bytearray(out.read())
            if mode == "truncate":
                data = data[:len(data) // 2]
            else:
                data[-3] ^= 0xff
            sock.sendall(bytes(data))
            return
        if mode == "notify-mid":
            obj.write(self.RESP[:60])
            flush()
        try:
            obj.unwrap()   # close_notify
        except ssl.SSLError:
            pass
        flush()

    def close(self):
        self.stop = True
        self.ls.close()


def _cut_runs(modes, certs=None, d=None):
    """Each mode against both engines: {mode: {engine: summary}}, each
    engine's requests checked against the connections the server took
    (one per request: the server closes each)."""
    out = {}
    for mode in modes:
        out[mode] = {}
        for eng in ENGINES:
            srv = CutServer(mode, certs)
            try:
                if certs:
                    s = write(os.path.join(d, "s.yaml"),
                              "host: https://127.0.0.1:%d\ntls: {ca_file: certs/ca.crt}\n"
                              "tasks: [{path: /x}]\n" % srv.port)
                    args = [s]
                else:
                    args = ["--url", "http://127.0.0.1:%d/x" % srv.port]
                rc, j, err = run_json([*args, "-u", "2", "-t", "1s", "--threads", "1",
                                       "--max-error-rate", "100%"], eng)
                assert j, (mode, eng, rc, err[-800:])
                time.sleep(0.05)
                eq(j["requests"], srv.accepted, "%s %s: requests vs connections" % (mode, eng))
                assert j["requests"] > 2, (mode, eng, j["requests"])
                out[mode][eng] = j
            finally:
                srv.close()
        errs = {e: sorted((x["kind"], x["message"], x["count"] > 0) for x in j["errors"])
                for e, j in out[mode].items()}
        eq(errs["native"], errs["curl"], "%s: errors native vs curl" % mode)
        eq(out[mode]["native"]["status_codes"].keys(), out[mode]["curl"]["status_codes"].keys(),
           "%s: statuses" % mode)
    return out


def _only(j, kind, text):
    """Every request failed as kind, with text in the message."""
    eq(kinds(j), {kind: j["requests"]}, "kinds")
    assert all(text in e["message"] for e in j["errors"]), j["errors"]


@test(once=True)
def tls_errors_after_the_handshake_are_filed_as_curl_files_them():
    """After the handshake (the native path's own OpenSSL client): a
    TLS 1.3 alert (a client certificate was required) and a record that
    does not decrypt are `protocol` with OpenSSL's reason; half a record
    then a close, and a close_notify before any answer, are `reset`
    (empty reply); a close_notify in the body is `protocol`, "transfer
    closed with N bytes remaining to read" (the native path said
    "outstanding read data remaining", curl's words for a chunked body).
    Kind and message the same on both engines, requests equal to the
    server's connections."""
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["bash", os.path.join(ROOT, "tests", "target", "gen-certs.sh"),
                        os.path.join(d, "certs")], check=True, timeout=30)
        r = _cut_runs(["alert", "badmac", "truncate", "notify-first", "notify-mid"],
                      os.path.join(d, "certs"), d)
    for eng in ENGINES:
        _only(r["alert"][eng], "protocol", "SSL_read: OpenSSL/")
        _only(r["alert"][eng], "protocol", "alert certificate required")
        _only(r["badmac"][eng], "protocol", "bad record mac")
        _only(r["truncate"][eng], "reset", "empty reply from server")
        _only(r["notify-first"][eng], "reset", "empty reply from server")
        _only(r["notify-mid"][eng], "protocol", "transfer closed with N bytes remaining")


@test(once=True)
def responses_cut_short_are_filed_as_curl_files_them():
    """A close inside the status line is `reset` (curl: empty reply, no
    whole line read; the native path said `protocol`); after a whole
    status line and a header it is that status and no failure (curl ends
    the head there; the native path failed it); in a body of known
    length "transfer closed with N bytes remaining to read", in a
    chunked one "... outstanding read data remaining", both `protocol`.
    The same on both engines."""
    r = _cut_runs(["status-cut", "head-cut", "body-cut", "chunk-cut"])
    for eng in ENGINES:
        _only(r["status-cut"][eng], "reset", "empty reply from server")
        j = r["head-cut"][eng]
        eq((j["failures"], j["status_codes"]), (0, {"201": j["requests"]}),
           "%s: a head cut after its status line" % eng)
        _only(r["body-cut"][eng], "protocol", "transfer closed with N bytes remaining")
        _only(r["chunk-cut"][eng], "protocol", "outstanding read data remaining")


def low_nofile():
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))


@test(once=True)
def fd_limit_fails_as_nofile_backs_off_and_keeps_the_report():
    """ulimit -n 256 with 300 and 2,000 users: failures were filed as
    `connect`, the engine spun, and the JSON summary was lost ("Too many
    open files"). Now: `nofile`, users back off, the idle connections
    are closed at the end so the report can be written, and what
    succeeded is what the server served."""
    for eng in ENGINES:
        for users in (300, 2000):
            with Target() as t:
                rc, j, err = run_json(["--url", t.url + "/", "-u", str(users), "-t", "2s",
                                       "--threads", "1"], eng, preexec=low_nofile)
                assert j, "%s %d users: no JSON summary (exit %d): %s" % (
                    eng, users, rc, err[-600:])
                c = t.counts()
                k = kinds(j)
                eq(set(k), {"nofile"}, "%s %d users: kinds" % (eng, users))
                eq(j["requests"] - j["failures"], c["total"],
                   "%s %d users: successes vs server" % (eng, users))
                # backed off: each user without an fd tries ~10 times in 2 s
                assert k["nofile"] < users * 15, (eng, users, k)


@test(once=True)
def target_answers_exactly_128_connections_ready_at_once():
    """The test above failed 1 run in ~13 with exactly 128 requests `cut
    off` at the stop timeout: sent, never read by the target. With 237
    connections on 2 threads, one thread had 128, all ready at once, and
    libmicrohttpd's epoll loop, after an epoll_wait that filled its
    128-event array, waits again with the same blocking timeout before it
    handles them: with nothing else ready it slept until the 120 s idle
    timeout (tests/target/target.c, epoll_wait). Here one thread has 128
    kept-alive connections that all send while the target is stopped."""
    import http.client
    with Target("--threads", "1") as t:
        host, port = t.addr.rsplit(":", 1)
        conns = [http.client.HTTPConnection(host, int(port), timeout=5)
                 for _ in range(128)]
        for c in conns:  # each connected, answered once, idle
            c.request("GET", "/")
            c.getresponse().read()
        for rnd in range(3):
            t.proc.send_signal(signal.SIGSTOP)
            time.sleep(0.2)
            for c in conns:
                c.request("GET", "/")
            time.sleep(0.2)
            t.proc.send_signal(signal.SIGCONT)
            t0 = time.time()
            answered = 0
            try:
                for c in conns:
                    r = c.getresponse()
                    r.read()
                    answered += r.status == 200
            except socket.timeout:
                pass
            eq(answered, 128, "round %d: answered (%.1f s)" % (rnd, time.time() - t0))
        for c in conns:
            c.close()


@test
def stopped_worker_sends_no_burst_of_missed_arrivals():
    """SIGSTOP a worker for 8 s, then SIGCONT (open model, 2 workers,
    200/s). The master calls it missing after 3.5 s and moves its share
    to the other. On SIGCONT it used to send all 8 s of its missed
    arrivals at once; now only those of the first 3.5 s (no one else sent
    them), the rest counted as not started. hornet still counts exactly
    what the target served."""
    with Target() as t, Fleet() as f:
        ws = [f.worker("p%d" % i) for i in range(2)]
        mp, js, mlog = f.master_bg("--url", t.url + "/", "--rate", "200", "-t", "16s",
                                   "--expect-workers", "2", "-q")
        deadline = time.time() + 20
        while time.time() < deadline and "starting" not in open(mlog).read():
            time.sleep(0.1)
        time.sleep(3.0)
        ws[1].send_signal(signal.SIGSTOP)
        time.sleep(8.0)
        before = t.counts()["total"]
        ws[1].send_signal(signal.SIGCONT)
        time.sleep(0.5)
        burst = t.counts()["total"] - before
        mp.wait(60)
        eq(mp.returncode, 0, "master exit")
        j = json.load(open(js))
        c = t.counts()
        eq(j["requests"], c["total"], "hornet's total vs the target's")
        # missing for a while, not gone: it sent what it held, so the
        # estimate of what it took (issue 15) was withdrawn
        assert "lost_estimate" not in j, j.get("lost_estimate")
        if os.environ.get("HOSTILE_VERBOSE"):
            print("burst %d in 0.5 s, total %d, not started %r" % (
                burst, c["total"], j.get("iterations_not_started")))
        # 0.5 s after SIGCONT: 100 of the other worker's own, plus at most
        # the stopped one's 3.5 s x 100/s (it was 800 and more before)
        assert burst <= 100 + 350 + 60, (burst, before)
        assert c["total"] <= 200 * 16 * 1.06, c["total"]
        wlog = open(os.path.join(f.dir, "p1.log")).read()
        assert "not started" in wlog, wlog[-1500:]


NGINX_CONF = """
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/cb; proxy_temp_path {d}/px;
    fastcgi_temp_path {d}/fc; uwsgi_temp_path {d}/uw; scgi_temp_path {d}/sc;
    keepalive_requests 100;
    server {{
        listen 127.0.0.1:{port} ssl http2;
        ssl_certificate {d}/server.crt;
        ssl_certificate_key {d}/server.key;
        location / {{ return 200 "ok\\n"; }}
    }}
}}
"""


@test(once=True)
def http2_goaway_at_the_stream_limit_gives_no_false_failures():
    """nginx (TLS, ALPN h2) sends GOAWAY after keepalive_requests streams on
    a connection (100 here, 1000 by default) and refuses the streams past
    it; libcurl sends those again. curl 7.88 counts such sends per easy
    handle, never per transfer, so a pooled handle failed its 6th ever with
    "Connection died, tried 5 times before giving up" (0.7% of requests
    here, 0.05% at nginx's default). hornet resets a handle that sent
    again, and sends once more a stream curl failed with no answer when
    the connection closed (opened past GOAWAY's last stream id: 1 in
    ~80,000, "Error in the HTTP2 framing layer"); nginx's access log is
    the count."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx")
                                      else None)
    if not nginx:
        SKIPPED.append("http2_goaway: no nginx (apt-get install nginx-light)")
        return
    d = tempfile.mkdtemp(prefix="hornet-h2-")
    try:
        subprocess.run(["bash", os.path.join(ROOT, "tests", "target", "gen-certs.sh"), d],
                       check=True, timeout=30)
        port = free_port()
        write(os.path.join(d, "nginx.conf"), NGINX_CONF.format(d=d, port=port))
        subprocess.run([nginx, "-c", os.path.join(d, "nginx.conf"), "-p", d], check=True,
                       timeout=10)
        try:
            s = write(os.path.join(d, "s.yaml"), "host: https://127.0.0.1:%d\n"
                      "http: {version: \"2\"}\ntasks:\n  - path: /\n" % port)
            rc, j, err = run_json([s, "-k", "-u", "20", "-t", "3s", "--threads", "1"], "curl")
            assert j, (rc, err[-800:])
            served = sum(1 for _ in open(os.path.join(d, "access.log")))
            eq(j["failures"], 0, "failures %r" % j["errors"])
            eq(j["requests"], served, "hornet's requests vs nginx's access log")
            assert served > 2000, served
        finally:
            pid = int(open(os.path.join(d, "nginx.pid")).read())
            os.kill(pid, signal.SIGTERM)
            for _ in range(50):
                if not os.path.exists(os.path.join(d, "nginx.pid")):
                    break
                time.sleep(0.1)
    finally:
        shutil.rmtree(d, ignore_errors=True)
