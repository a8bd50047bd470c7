"""The timing breakdown (issue 14; docs/results.md "Timing breakdown"):
DNS, connect, TLS handshake, waiting (to the first byte) and receiving
histograms per endpoint and in total, in the summary JSON, the HTTP API
and the --timing table, on both engines (each test runs per engine).

The connection phases are recorded for the requests that opened a
connection only, so their counts must equal the connections the target
accepted (its /__counts "connections", minus the one that asks it);
waiting and receiving are recorded for every answered request. The
native path resolves names once before the run, so it has no DNS
samples; libcurl has one per new connection.
"""
import http.server
import json
import os
import re
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.request

from harness import (Fleet, ROOT, Target, api, eq, free_port, hornet, hornet_json,
                     test, wait_state, write)

PHASES = ("dns", "connect", "tls", "waiting", "receiving")


def _engine():
    return os.environ.get("HORNET_ENGINE", "")


def _certs(d):
    certs = os.path.join(d, "certs")
    subprocess.run(["bash", os.path.join(ROOT, "tests/target/gen-certs.sh"), certs],
                   check=True, capture_output=True)
    return certs


def _counts(t, certs):
    """/__counts, over TLS when the target serves https."""
    if not t.url.startswith("https"):
        return t.counts()
    ctx = ssl.create_default_context(cafile=os.path.join(certs, "ca.crt"))
    with urllib.request.urlopen(t.url + "/__counts", timeout=5, context=ctx) as r:
        return json.loads(r.read())


def _check_sums(where, o):
    """Each request's phases add up to no more than its latency: so do
    their sums (means are exact: histograms keep the sum) and maxima."""
    tm, lat = o["timing_ms"], o["latency_ms"]
    total = sum(tm[p]["mean"] * tm[p]["count"] for p in PHASES)
    assert total <= lat["mean"] * o["requests"] * (1 + 1e-9) + 1e-6, (where, total, lat)
    for p in PHASES:
        assert tm[p]["max"] <= lat["max"] + 1e-9, (where, p, tm[p], lat)
        if tm[p]["count"] == 0:
            eq(tm[p]["max"], 0, "%s: empty %s" % (where, p))


def _check_counts(where, o, conns, tls):
    """o (an endpoint or the totals) against conns connections the target
    accepted, all answered."""
    tm = o["timing_ms"]
    eq(tm["connect"]["count"], conns, "%s: connect samples vs connections" % where)
    eq(tm["tls"]["count"], conns if tls else 0, "%s: TLS handshakes" % where)
    # libcurl times its (cached) lookups; the native path resolves once
    # per engine thread before the run and has no DNS phase
    eq(tm["dns"]["count"], 0 if _engine() == "native" else conns,
       "%s: DNS samples (%s)" % (where, _engine()))
    eq(tm["waiting"]["count"], o["requests"], "%s: waiting samples" % where)
    eq(tm["receiving"]["count"], o["requests"], "%s: receiving samples" % where)
    assert tm["waiting"]["mean"] > 0, (where, tm["waiting"])
    if tls:
        assert tm["tls"]["mean"] > 0, (where, tm["tls"])
    _check_sums(where, o)


SCEN = """
tasks:
  - {path: /status, name: /a, weight: 2}
  - {path: "/delay?ms=3", name: /b, weight: 1}
"""


@test
def timing_counts_new_connections_over_http_and_https():
    """Over http and https, kept-alive (one connection per user) and with
    --new-connection (one per request): connect (and, for https, TLS)
    samples equal the connections the target accepted, per endpoint and
    in total; waiting and receiving one per request; phases within the
    latency."""
    with tempfile.TemporaryDirectory() as d:
        certs = _certs(d)
        scen = write(os.path.join(d, "s.yaml"), SCEN)
        tls_args = ("--tls-cert", os.path.join(certs, "server.crt"),
                    "--tls-key", os.path.join(certs, "server.key"))
        for tls in (False, True):
            for newconn in (False, True):
                what = "%s %s" % ("https" if tls else "http",
                                  "new connection" if newconn else "keep-alive")
                with Target(*(tls_args if tls else ())) as t:
                    args = [scen, "--host", t.url, "-u", "4", "-t", "2s",
                            "--threads", "1", "-k"]
                    if newconn:
                        args.append("--new-connection")
                    j, _, _ = hornet_json("run", *args)
                    c = _counts(t, certs)
                eq(j["failures"], 0, "%s: failures %s" % (what, j["errors"]))
                eq(j["requests"], c["total"], "%s: requests vs target" % what)
                conns = c["connections"] - 1   # minus our /__counts
                if newconn:
                    eq(conns, j["requests"], "%s: a connection per request" % what)
                else:
                    eq(conns, 4, "%s: a connection per user" % what)
                _check_counts(what + ", total", j, conns, tls)
                per_ep = sum(e["timing_ms"]["connect"]["count"] for e in j["endpoints"])
                eq(per_ep, conns, "%s: endpoints' connect samples add up" % what)
                for e in j["endpoints"]:
                    assert e["requests"] > 0, e
                    _check_sums("%s, %s" % (what, e["name"]), e)
                    eq(e["timing_ms"]["waiting"]["count"], e["requests"],
                       "%s, %s: waiting" % (what, e["name"]))
                    if newconn:
                        _check_counts("%s, %s" % (what, e["name"]), e, e["requests"], tls)
                # /b waits 3 ms in the server: its time to first byte shows it
                b = j["endpoints"][1]["timing_ms"]["waiting"]
                assert b["p50"] >= 2.9, (what, b)


@test
def timing_merges_across_workers_and_in_the_api():
    """A master and 2 workers, a new connection per request: the merged
    connect samples equal the target's connections (both workers' add
    up), in the API's /api/v1/stats per endpoint as in its totals."""
    with Target() as t, Fleet() as f:
        scen = write(os.path.join(f.dir, "s.yaml"), "host: %s\n%s" % (t.url, SCEN))
        port = free_port()
        base = "http://127.0.0.1:%d" % port
        f.master_bg(scen, "--expect-workers", "2", "--web", "127.0.0.1:%d" % port,
                    "-q", "--new-connection", headless=False)
        f.worker("a")
        f.worker("b")
        wait_state(base, ("ready",))
        st, j = api(base, "POST", "/api/v1/start", {"users": 4, "duration": 2})
        eq(st, 200, "start: %s" % (j,))
        time.sleep(1)
        wait_state(base, ("stopped",), timeout=30)
        time.sleep(0.5)
        st, s = api(base, "GET", "/api/v1/stats")
        eq(st, 200, "stats")
        c = t.counts()
        eq(s["failures"], 0, "failures %s" % s["errors"])
        eq(s["requests"], c["total"], "requests vs target")
        conns = c["connections"] - 1
        eq(conns, s["requests"], "a connection per request")
        _check_counts("fleet total", s, conns, False)
        for e in s["endpoints"]:
            _check_counts("fleet " + e["name"], e, e["requests"], False)
        st, w = api(base, "GET", "/api/v1/workers")
        eq(st, 200, "workers")
        ws = w["workers"] if isinstance(w, dict) else w
        busy = [x for x in ws if x.get("requests", 0) > 0]
        eq(len(busy), 2, "both workers sent requests: %s" % w)


@test
def timing_table_with_the_flag_only():
    """--timing (or HORNET_TIMING=1) prints the breakdown table: every
    phase per endpoint and aggregated, within 100 columns; without it the
    report has no such table (the JSON always has the figures)."""
    with Target() as t, tempfile.TemporaryDirectory() as d:
        scen = write(os.path.join(d, "s.yaml"), SCEN)
        args = ("run", scen, "--host", t.url, "-u", "2", "-t", "1s", "-q")
        rc, out, err = hornet(*args)
        eq(rc, 0, "plain run: " + err[-2000:])
        assert "Timing breakdown" not in out, out
        for how, extra, env in (("--timing", ("--timing",), None),
                                ("HORNET_TIMING=1", (), "1")):
            if env:
                old = os.environ.get("HORNET_TIMING")
                os.environ["HORNET_TIMING"] = env
            try:
                rc, out, err = hornet(*args, *extra)
            finally:
                if env:
                    if old is None:
                        del os.environ["HORNET_TIMING"]
                    else:
                        os.environ["HORNET_TIMING"] = old
            eq(rc, 0, "%s: %s" % (how, err[-2000:]))
            assert "Timing breakdown" in out, (how, out)
            table = out[out.index("Timing breakdown"):]
            head = table.splitlines()[1].split()
            eq(head, ["Phase", "Count", "Mean", "Median", "p90", "p95", "p99", "Max"],
               how + ": header")
            for block in ("GET /a", "GET /b", "Aggregated"):
                assert re.search(r"^%s$" % re.escape(block), table, re.M), (how, block, table)
            rows = re.findall(r"^  (dns|connect|tls|waiting|receiving) +(\d+)", table, re.M)
            eq([r[0] for r in rows], list(PHASES) * 3, how + ": phase rows")
            # two users, kept alive: two connections in the aggregated rows
            agg = dict((p, int(n)) for p, n in rows[10:])
            eq(agg["connect"], 2, how + ": aggregated connects")
            eq(agg["tls"], 0, how + ": no TLS over http")
            for line in out.splitlines():
                assert len(line) <= 100, (how, len(line), line)
        # hornet report DIR --timing: the same table from the run file (the
        # host in the file: hornet report cannot yet rebuild a --host one)
        hosted = write(os.path.join(d, "h.yaml"), "host: %s\n%s" % (t.url, SCEN))
        out_dir = os.path.join(d, "out")
        rc, out, err = hornet("run", hosted, "-u", "2", "-t", "1s", "-q", "--out", out_dir)
        eq(rc, 0, "--out: " + err[-2000:])
        rc, rep, err = hornet("report", out_dir, "--timing", "--out", os.path.join(d, "again"))
        eq(rc, 0, "report: " + err[-2000:])
        with open(os.path.join(out_dir, "summary.json")) as fh:
            j = json.load(fh)
        rows = re.findall(r"^  (connect|waiting) +(\d+)", rep[rep.index("Timing breakdown"):],
                          re.M)
        eq([int(n) for _, n in rows[-2:]],
           [j["timing_ms"]["connect"]["count"], j["timing_ms"]["waiting"]["count"]],
           "report --timing: the run's aggregated counts")


@test
def timing_of_failed_requests():
    """An answer of 500 is timed like any other (waiting and receiving);
    a request that failed in transport (refused) records no phase."""
    with Target() as t:
        j, _, _ = hornet_json("run", "--url", t.url + "/status/500", "-u", "2", "-t", "1s",
                              "--max-error-rate", "100%")
        eq(j["failures"], j["requests"], "every request failed")
        tm = j["timing_ms"]
        eq(tm["waiting"]["count"], j["requests"], "500s: waiting")
        eq(tm["receiving"]["count"], j["requests"], "500s: receiving")
        eq(tm["connect"]["count"], 2, "500s: two kept-alive connections")
        eq(j["body_bytes_in"], 11 * j["requests"], "500s: 'status 500\\n' bodies")
    port = free_port()   # nothing listens there
    j, _, _ = hornet_json("run", "--url", "http://127.0.0.1:%d/" % port, "-u", "1", "-t", "1s",
                          "--max-error-rate", "100%")
    assert j["requests"] > 0 and j["failures"] == j["requests"], j
    for p in PHASES:
        eq(j["timing_ms"][p]["count"], 0, "refused: %s" % p)
    eq(j["body_bytes_in"], 0, "refused: no body")


class _Redirector(http.server.BaseHTTPRequestHandler):
    """/r answers 302 to /slow after 10 ms; /slow answers after 20 ms."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.path == "/r":
            time.sleep(0.010)
            self.send_response(302)
            self.send_header("Location", "/slow")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            time.sleep(0.020)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")


@test
def timing_adds_up_redirect_hops():
    """A followed redirect is one request whose phases add up its hops,
    as libcurl adds them: waiting covers both answers' server time (10 +
    20 ms), and still within the latency; one connection, one connect
    sample."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirector)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        with tempfile.TemporaryDirectory() as d:
            scen = write(os.path.join(d, "r.yaml"),
                         "host: http://127.0.0.1:%d\ntasks:\n"
                         "  - {path: /r, follow_redirects: true}\n" % srv.server_address[1])
            j, _, _ = hornet_json("run", scen, "-u", "1", "-t", "1s")
    finally:
        srv.shutdown()
        srv.server_close()
    eq(j["failures"], 0, "failures %s" % j["errors"])
    eq(j["status_codes"], {"200": j["requests"]}, "followed to the 200")
    tm = j["timing_ms"]
    eq(tm["waiting"]["count"], j["requests"], "one waiting sample a request")
    eq(tm["connect"]["count"], 1, "one kept-alive connection")
    assert tm["waiting"]["min"] >= 29.5, tm["waiting"]
    _check_sums("redirects", j)

