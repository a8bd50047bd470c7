#!/usr/bin/env python3
"""Integration tests: real hornet processes against the real stand-in target
(build/target) on 127.0.0.1. hornet's counts are checked against what the
target itself says it served (GET /__counts).

Run from the repository root: python3 tests/integration/run.py [NAME...]
Prints one line per test and ends with "integration: N passed, N failed".
All traffic goes to 127.0.0.1 and every run is bounded in time.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HORNET = os.path.join(ROOT, "build", "hornet")
TARGET = os.path.join(ROOT, "build", "target")
TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


class Target:
    """The stand-in server on an ephemeral loopback port."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([TARGET, "--port", "0", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        line = self.proc.stdout.readline().strip()
        if "listening on" not in line:
            self.proc.kill()
            raise RuntimeError("target did not start: %r %s" % (line, self.proc.stderr.read()))
        self.addr = line.split("listening on ")[1].strip()
        scheme = "https" if "--tls-cert" in args else "http"
        self.url = "%s://%s" % (scheme, self.addr)
        self.http_url = "http://%s" % self.addr

    def counts(self):
        with urllib.request.urlopen(self.http_url + "/__counts", timeout=5) as r:
            return json.loads(r.read())

    def post(self, path):
        req = urllib.request.Request(self.http_url + path, data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.read()

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def hornet(*args, timeout=60):
    """Runs hornet; returns (exit code, stdout, stderr)."""
    p = subprocess.run([HORNET, *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def hornet_json(*args, timeout=60):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "out.json")
        rc, out, err = hornet(*args, "--json", path, "-q", timeout=timeout)
        assert rc == 0, "hornet exit %d\nstdout:\n%s\nstderr:\n%s" % (rc, out, err)
        with open(path) as f:
            return json.load(f), out, err


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def eq(a, b, what):
    assert a == b, "%s: %r != %r" % (what, a, b)


# ---------------------------------------------------------------------------

@test
def closed_model_counts_match_server():
    with Target() as t:
        j, out, _ = hornet_json("run", "--url", t.url + "/", "-u", "20", "-t", "3s",
                                "--threads", "2")
        c = t.counts()
        assert j["requests"] > 100, j["requests"]
        eq(j["requests"], c["total"], "hornet requests vs server total")
        eq(j["requests"], c["routes"].get("GET /"), "GET / count")
        eq(j["failures"], 0, "failures")
        eq(j["status_codes"], {"200": j["requests"]}, "status codes")
        ep = j["endpoints"][0]
        eq((ep["method"], ep["name"]), ("GET", "/"), "endpoint key")
        eq(ep["requests"], j["requests"], "endpoint requests")
        for k in ("min", "mean", "p50", "p90", "p95", "p99", "p999", "max"):
            assert k in j["latency_ms"], k
        assert j["latency_ms"]["max"] >= j["latency_ms"]["p99"] >= j["latency_ms"]["p50"] > 0
        assert 2.5 < j["duration_s"] < 4, j["duration_s"]
        assert "Aggregated" in out and "Median" in out


@test
def json_summary_has_documented_fields():
    with Target() as t:
        j, _, _ = hornet_json("run", "--url", t.url + "/", "-u", "2", "-t", "1s")
        for k in ("requests", "failures", "rps", "duration_s", "latency_ms",
                  "status_codes", "errors", "endpoints", "timeline"):
            assert k in j, "missing %s" % k
        for k in ("method", "name", "requests", "failures", "rps", "latency_ms"):
            assert k in j["endpoints"][0], "endpoint missing %s" % k


@test
def server_errors_are_failures():
    with Target() as t:
        j, out, _ = hornet_json("run", "--url", t.url + "/status/500", "-u", "4", "-t", "2s")
        c = t.counts()
        assert j["requests"] > 0
        eq(j["failures"], j["requests"], "every 500 is a failure")
        eq(j["requests"], c["total"], "server total")
        eq(j["status_codes"], {"500": j["requests"]}, "status codes")
        eq(len(j["errors"]), 1, "one error entry")
        e = j["errors"][0]
        eq((e["kind"], e["message"], e["count"]), ("http", "HTTP 500", j["requests"]), "error")
        assert "HTTP 500" in out


@test
def refused_port_shows_connection_errors():
    port = free_port()
    j, out, _ = hornet_json("run", "--url", "http://127.0.0.1:%d/" % port, "-u", "2", "-t", "1s")
    assert j["requests"] > 0
    eq(j["failures"], j["requests"], "all refused")
    kinds = {e["kind"] for e in j["errors"]}
    eq(kinds, {"refused"}, "error kinds")
    eq(j["status_codes"], {"none": j["requests"]}, "no response status")
    assert "connection refused" in out


@test
def open_model_rate_is_accurate():
    with Target() as t:
        j, _, _ = hornet_json("run", "--url", t.url + "/", "--rate", "400", "-t", "5s",
                              "--threads", "2")
        c = t.counts()
        eq(j["requests"], c["total"], "hornet vs server")
        asked = 400 * 5
        assert abs(c["total"] - asked) <= asked * 0.02, \
            "server saw %d, asked %d (2%%)" % (c["total"], asked)
        assert abs(j["rate"]["achieved"] - 400) <= 8, j["rate"]
        eq(j["rate"]["not_started"], 0, "no iteration dropped")
        eq(j["model"], "open", "model")


@test
def open_model_counts_stall_in_corrected_latency():
    with Target() as t:
        def stall():
            time.sleep(2.0)
            t.post("/__stall?ms=1000")
        th = threading.Thread(target=stall)
        th.start()
        j, _, _ = hornet_json("run", "--url", t.url + "/", "--rate", "100", "-t", "6s")
        th.join()
        lat = j["latency_ms"]
        # ~100 requests arrive during the 1 s stall and wait up to 1 s each:
        # that is ~17% of the run, so p95 and p99 must show it.
        assert lat["p99"] >= 800, lat
        assert lat["p95"] >= 500, lat
        eq(j["requests"], t.counts()["total"], "server total")


@test
def open_model_cap_counts_unstarted_iterations():
    with Target() as t:
        j, out, _ = hornet_json("run", "--url", t.url + "/delay?ms=500", "--rate", "100",
                                "--max-inflight", "10", "-t", "2s", "--threads", "1")
        r = j["rate"]
        # 10 in flight x 0.5 s = at most ~20 started per second
        assert r["not_started"] > 100, r
        eq(r["scheduled"] - r["not_started"], j["requests"], "started = requests")
        eq(j["requests"], t.counts()["total"], "server total")
        assert "not started" in out


@test
def stop_timeout_cuts_off_and_counts():
    with Target() as t:
        j, out, _ = hornet_json("run", "--url", t.url + "/delay?ms=5000", "-u", "3",
                                "-t", "1s", "--stop-timeout", "1s")
        eq(j["requests"], 3, "three users, one request each")
        kinds = [e["kind"] for e in j["errors"]]
        eq(kinds, ["cut_off"], "error kinds")
        assert 1.5 < j["duration_s"] + 1 < 3.5


@test
def stop_waits_for_in_flight_requests():
    with Target() as t:
        j, _, _ = hornet_json("run", "--url", t.url + "/delay?ms=300", "-u", "10",
                              "-t", "2s")
        eq(j["failures"], 0, "nothing cut off")
        eq(j["requests"], t.counts()["total"], "server total includes the drained ones")


@test
def post_body_and_headers_reach_server():
    with Target() as t:
        with tempfile.NamedTemporaryFile("wb", suffix=".cbor", delete=False) as f:
            f.write(bytes(range(256)) * 4)
            path = f.name
        try:
            j, _, _ = hornet_json("run", "--url",
                                  t.url + "/endorsement-provisioning/v1/submit",
                                  "-X", "POST", "--body-file", path, "-H",
                                  "Content-Type: application/corim-unsigned+cbor; profile=\"x\"",
                                  "-u", "2", "-t", "1s")
        finally:
            os.unlink(path)
        eq(j["failures"], 0, "target accepted the binary body")
        assert j["bytes_out"] >= j["requests"] * 1024
        eq(j["requests"], t.counts()["routes"].get("POST /endorsement-provisioning/v1/submit"),
           "route count")


@test
def think_time_paces_users():
    with Target() as t:
        j, _, _ = hornet_json("run", "--url", t.url + "/", "-u", "5", "--think", "500ms",
                              "-t", "2s")
        # 5 users x (1 + 2 s / 0.5 s) iterations = about 20-25
        assert 15 <= j["requests"] <= 30, j["requests"]


@test
def spawn_rate_ramps_users():
    with Target() as t:
        j, _, _ = hornet_json("run", "--url", t.url + "/", "-u", "6", "-r", "2", "-t", "3s",
                              "--think", "100ms")
        users = [p["users"] for p in j["timeline"]]
        assert users[0] <= 3, users
        assert max(users) == 6, users


@test
def scenario_file_weighted_tasks():
    with Target() as t, tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "s.yaml")
        with open(path, "w") as f:
            f.write("""
host: http://127.0.0.1:1
headers:
  X-Tenant: A
load:
  users: 8
  duration: 3s
tasks:
  - task: home
    weight: 3
    path: /
  - task: sign
    weight: 1
    method: POST
    path: /v1/keys/k1/sign
    body: {message: hello}
""")
        j, _, _ = hornet_json("run", path, "--host", t.url)
        c = t.counts()
        by = {(e["method"], e["name"]): e["requests"] for e in j["endpoints"]}
        eq(by[("GET", "/")], c["routes"].get("GET /"), "GET / vs server")
        sign = [v for k, v in c["routes"].items() if k.startswith("POST /v1/keys/")]
        eq(by[("POST", "/v1/keys/k1/sign")], sum(sign), "sign vs server")
        eq(j["requests"], c["total"], "total")
        ratio = by[("GET", "/")] / max(1, by[("POST", "/v1/keys/k1/sign")])
        assert 2.4 < ratio < 3.8, ratio
        eq(c.get("tenants", {}).get("A"), c["total"], "default header sent on every request")


@test
def tls_with_and_without_verification():
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["bash", os.path.join(ROOT, "tests/target/gen-certs.sh"), d],
                       check=True, capture_output=True)
        with Target("--tls-cert", os.path.join(d, "server.crt"),
                    "--tls-key", os.path.join(d, "server.key")) as t:
            j, _, _ = hornet_json("run", "--url", t.url + "/status", "-u", "2", "-t", "1s", "-k")
            eq(j["failures"], 0, "insecure TLS works")
            assert j["requests"] > 0
            j, _, _ = hornet_json("run", "--url", t.url + "/status", "-u", "2", "-t", "1s")
            assert j["requests"] > 0 and j["failures"] == j["requests"], j
            eq({e["kind"] for e in j["errors"]}, {"tls"}, "untrusted certificate is a TLS error")


@test
def bad_usage_exits_2_with_a_message():
    cases = [
        (["run"], "scenario file or --url"),
        (["run", "--url", "http://127.0.0.1:1/", "-u", "abc"], "--users"),
        (["run", "--url", "http://127.0.0.1:1/", "--rate", "0"], "--rate"),
        (["run", "--url", "http://127.0.0.1:1/", "-t", "5x"], "--duration"),
        (["run", "--url", "http://127.0.0.1:1/", "-u", "1", "--rate", "5"], "cannot be used together"),
        (["run", "--url", "http://127.0.0.1:1/", "--bogus"], "unknown option"),
        (["run", "--url", "ftp://127.0.0.1/"], "ftp"),
        (["run", "/nonexistent/scenario.yaml"], "/nonexistent/scenario.yaml"),
        (["frobnicate"], "unknown command"),
    ]
    for args, needle in cases:
        rc, out, err = hornet(*args, timeout=10)
        eq(rc, 2, "exit code of %s" % args)
        assert needle in err, "%s: %r not in %r" % (args, needle, err)


@test
def bad_scenario_names_file_and_line():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "bad.yaml")
        with open(path, "w") as f:
            f.write("host: http://127.0.0.1:1\ntasks:\n  - path: /\n    wieght: 2\n")
        rc, _, err = hornet("run", path, timeout=10)
        eq(rc, 2, "exit code")
        assert path + ":4:" in err and "wieght" in err, err


@test
def new_connection_per_request_works():
    with Target() as t:
        j, _, _ = hornet_json("run", "--url", t.url + "/", "-u", "4", "-t", "1s",
                              "--new-connection")
        eq(j["failures"], 0, "failures")
        eq(j["requests"], t.counts()["total"], "server total")


def main():
    if not (os.access(HORNET, os.X_OK) and os.access(TARGET, os.X_OK)):
        print("integration: build/hornet and build/target must be built first")
        print("integration: 0 passed, 1 failed")
        return 1
    names = sys.argv[1:]
    passed = failed = 0
    for fn in TESTS:
        if names and fn.__name__ not in names:
            continue
        t0 = time.time()
        try:
            fn()
            passed += 1
            print("PASS %-50s %5.1fs" % (fn.__name__, time.time() - t0), flush=True)
        except Exception:
            failed += 1
            print("FAIL %-50s %5.1fs" % (fn.__name__, time.time() - t0), flush=True)
            traceback.print_exc(limit=3)
    print("integration: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
