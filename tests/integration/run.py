#!/usr/bin/env python3
"""Integration tests: real hornet processes against the real stand-in target
(build/target) on 127.0.0.1. hornet's counts are checked against what the
target itself says it served (GET /__counts).

Run from the repository root: python3 tests/integration/run.py [NAME...]
Prints one line per test and ends with "integration: N passed, N failed".
All traffic goes to 127.0.0.1 and every run is bounded in time.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
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
        version = subprocess.run([HORNET, "--version"], capture_output=True,
                                 text=True).stdout.split()[1]
        eq(c["user_agents"], {"hornet/" + version: j["requests"]},
           "every request says hornet/VERSION")
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
        # the arrivals due since the run's start are all there: engines made
        # a few ms after it send them late, not never (that lost ~1.5%)
        assert j["rate"]["scheduled"] >= asked - 4, j["rate"]
        eq(j["model"], "open", "model")


@test
def open_model_connection_cap_queues_and_counts():
    """200 arrivals/s of 50 ms requests need about 10 connections; with
    --max-connections 4 the server must never see more than 4, the rest
    wait (counted, and their wait is in the corrected latency), and every
    request that started reaches the server exactly once."""
    with Target() as t:
        j, out, _ = hornet_json("run", "--url", t.url + "/delay?ms=50", "--rate", "200",
                                "-t", "3s", "--threads", "1", "--max-connections", "4")
        c = t.counts()
        eq(j["requests"], c["total"], "hornet vs server")
        eq(j["failures"], 0, "failures")
        assert c["connections"] - 1 <= 4, "server saw %d connections" % c["connections"]
        assert j["connection_waits"] > 100, j["connection_waits"]
        # 4 connections serve ~80/s: the queue grows, so waits show up in
        # the corrected latency, but not in the latency from actual send
        assert j["latency_ms"]["p90"] > 500, j["latency_ms"]
        assert j["latency_uncorrected_ms"]["p90"] < 400, j["latency_uncorrected_ms"]
        # what was still waiting at the end never started, and says so
        sched, started = j["rate"]["scheduled"], j["requests"]
        eq(j["rate"]["not_started"], sched - started, "not started = waiting at the stop")
    rc, _, err = hornet("run", "--url", "http://127.0.0.1:1/", "--rate", "5",
                        "--max-connections", "0")
    eq(rc, 2, "exit code")
    assert "--max-connections" in err, err


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
                                  "-H", "user-agent: provisioner/2",
                                  "-u", "2", "-t", "1s")
        finally:
            os.unlink(path)
        eq(j["failures"], 0, "target accepted the binary body")
        eq(t.counts()["user_agents"], {"provisioner/2": j["requests"]},
           "a User-Agent header replaces hornet's")
        assert j["bytes_out"] >= j["requests"] * 1024
        eq(j["requests"], t.counts()["routes"].get("POST /endorsement-provisioning/v1/submit"),
           "route count")


@test
def interrupt_stops_early_and_reports_everything():
    """Ctrl-C: in-flight requests finish, the report counts exactly what the
    target served; a second Ctrl-C cuts the grace short."""
    with Target() as t, tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "o.json")
        p = subprocess.Popen([HORNET, "run", "--url", t.url + "/delay?ms=200", "-u", "20",
                              "-t", "60s", "--json", out, "-q"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2.0)
        p.send_signal(signal.SIGINT)
        so, se = p.communicate(timeout=20)
        eq(p.returncode, 0, "exit after one interrupt: " + se[-2000:])
        with open(out) as f:
            j = json.load(f)
        assert 1.5 < j["duration_s"] < 4, j["duration_s"]
        eq(j["requests"], t.counts()["total"], "report vs what the target served")
        eq(j["failures"], 0, "in-flight requests were let finish")
        assert "Aggregated" in so, so
        # twice: requests stuck for 5 s are cut off at once, not awaited
        p = subprocess.Popen([HORNET, "run", "--url", t.url + "/delay?ms=5000", "-u", "5",
                              "-t", "60s", "-q"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        t0 = time.time()
        p.send_signal(signal.SIGINT)
        time.sleep(0.3)
        p.send_signal(signal.SIGINT)
        so, se = p.communicate(timeout=20)
        eq(p.returncode, 0, "exit after two interrupts: " + se[-2000:])
        assert time.time() - t0 < 2.5, "second interrupt did not cut off in-flight requests"
        assert "second interrupt" in se, se


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
        (["run", "--url", "http://127.0.0.1:1/", "--max-connections", "x"],
         "hornet run: --max-connections"),
        (["master", "--url", "http://127.0.0.1:1/", "-u", "abc"],
         "hornet master: --users"),
        (["master", "--url", "http://127.0.0.1:1/", "--bogus"],
         "see 'hornet master --help'"),
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


# --- scenario language: the examples/ of the five cases ---------------------

EXAMPLES = os.path.join(ROOT, "examples")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


@test
def every_example_checks_valid():
    env = dict(os.environ, CERTMGR_TOKEN="x")
    with tempfile.TemporaryDirectory() as d:
        shutil.copytree(EXAMPLES, os.path.join(d, "ex"))
        subprocess.run(["bash", os.path.join(ROOT, "tests/target/gen-certs.sh"),
                        os.path.join(d, "ex", "data", "tls")], check=True)
        for name in ["attestation", "certmanager", "kms", "tls", "signin", "demo"]:
            p = subprocess.run([HORNET, "check", os.path.join(d, "ex", name + ".yaml")],
                               capture_output=True, text=True, timeout=10, env=env)
            eq(p.returncode, 0, "hornet check %s: %s" % (name, p.stderr))
            assert ": valid" in p.stdout and "class " in p.stdout, p.stdout


@test
def example_attestation_counts_and_captures():
    with Target() as t:
        j, _, _ = hornet_json("run", os.path.join(EXAMPLES, "attestation.yaml"),
                              "--host", t.url, "-u", "6", "-t", "3s")
        c = t.counts()
        by = {(e["method"], e["name"]): e["requests"] for e in j["endpoints"]}
        eq(j["failures"], 0, "failures (errors: %s)" % j["errors"])
        eq(j["requests"], c["total"], "total vs server")
        sess = "/challenge-response/v1/[SESSION_ID]"
        eq(by[("POST", sess)], c["routes"].get("POST /challenge-response/v1/session/*"),
           "evidence posts reached known sessions")
        eq(by[("DELETE", sess)], c["routes"].get("DELETE /challenge-response/v1/session/*"),
           "deletes")
        eq(by[("POST", "/challenge-response/v1/newSession")],
           c["routes"].get("POST /challenge-response/v1/newSession"), "new sessions")
        eq(by[("POST", "/endorsement-provisioning/v1/submit")],
           c["routes"].get("POST /endorsement-provisioning/v1/submit"),
           "binary CBOR body accepted (content type checked by the server)")
        assert by[("POST", sess)] > 50, by


@test
def broken_capture_fails_and_stops_the_sequence():
    with Target() as t, tempfile.TemporaryDirectory() as d:
        path = write(os.path.join(d, "s.yaml"), """
host: http://127.0.0.1:1
tasks:
  - task: verify
    steps:
      - method: POST
        path: /challenge-response/v1/newSession?nonce=${base64(randbytes(32))}
        name: new
        capture: {session: {header: Locaton}}
      - method: POST
        path: /challenge-response/v1/${session}
        name: evidence
        body: x
""")
        j, _, _ = hornet_json("run", path, "--host", t.url, "-u", "2", "-t", "1s")
        c = t.counts()
        eq(c["routes"].get("POST /challenge-response/v1/session/*"), None,
           "no evidence sent without a session")
        assert j["requests"] > 0 and j["failures"] == j["requests"], j
        eq({e["kind"] for e in j["errors"]}, {"capture"}, "error kind")
        assert "Locaton" in j["errors"][0]["message"], j["errors"]
        eq(j["requests"], c["total"], "total vs server")
        # a capture from the wrong place: the server rejects unknown ids
        write(path, open(path).read().replace("Locaton", "Content-Type")
              .replace("${session}", "session/${session}"))
        j, _, _ = hornet_json("run", path, "--host", t.url, "-u", "2", "-t", "1s")
        ev = [e for e in j["endpoints"] if e["name"] == "evidence"][0]
        assert ev["requests"] > 0 and ev["failures"] == ev["requests"], ev
        assert ev["status_codes"].get("404") == ev["requests"], ev


@test
def example_certmanager_counter_and_token():
    with Target() as t:
        env = dict(os.environ, CERTMGR_TOKEN="test-token")
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "o.json")
            p = subprocess.run([HORNET, "run", os.path.join(EXAMPLES, "certmanager.yaml"),
                                "--host", t.url, "--rate", "300", "-t", "3s", "-q",
                                "--json", out], capture_output=True, text=True,
                               timeout=60, env=env)
            eq(p.returncode, 0, "exit: " + p.stderr)
            j = json.load(open(out))
        c = t.counts()
        eq(j["failures"], 0, "failures (errors: %s)" % j["errors"])
        eq(j["requests"], c["total"], "total vs server")
        eq(j["counters"]["acme_rate_limited"], c["status"].get("429", 0),
           "counter = the server's 429s")
        assert j["counters"]["acme_rate_limited"] > 0, j["counters"]
        eq(j["status_codes"].get("401"), None, "token from the environment was sent")
        by = {e["name"]: e["requests"] for e in j["endpoints"]}
        eq(by["/agents/[ID]/heartbeat"], c["routes"].get("POST /agents/*/heartbeat"),
           "heartbeats with agent ids from the data file")
        # without the variable the scenario does not load
        env.pop("CERTMGR_TOKEN")
        p = subprocess.run([HORNET, "check", os.path.join(EXAMPLES, "certmanager.yaml")],
                           capture_output=True, text=True, timeout=10, env=env)
        eq(p.returncode, 2, "exit without CERTMGR_TOKEN")
        assert "CERTMGR_TOKEN" in p.stderr and "certmanager.yaml:" in p.stderr, p.stderr


@test
def example_kms_mix_and_tenants():
    with Target() as t:
        j, _, _ = hornet_json("run", os.path.join(EXAMPLES, "kms.yaml"), "--host", t.url,
                              "--rate", "400", "-t", "4s")
        c = t.counts()
        eq(j["failures"], 0, "failures (errors: %s)" % j["errors"])
        eq(j["requests"], c["total"], "total vs server")
        ta, tb = j["tags"]["tenant=A"]["requests"], j["tags"]["tenant=B"]["requests"]
        eq(ta, c["tenants"]["A"], "tenant A by tag vs X-Tenant at the server")
        eq(tb, c["tenants"]["B"], "tenant B")
        share = ta / (ta + tb)
        assert 0.75 < share < 0.85, share
        sign = sum(v for k, v in c["routes"].items() if k.endswith("/sign"))
        wrap = sum(v for k, v in c["routes"].items() if k.endswith("/wrap"))
        unwrap = sum(v for k, v in c["routes"].items() if k.endswith("/unwrap"))
        eq(wrap, unwrap, "every wrap followed by an unwrap with the captured value")
        its = j["iterations"]
        assert 0.64 < sign / its < 0.76, (sign, its)


@test
def example_tls_mutual():
    with tempfile.TemporaryDirectory() as d:
        ex = os.path.join(d, "ex")
        os.makedirs(os.path.join(ex, "data"))
        shutil.copy(os.path.join(EXAMPLES, "tls.yaml"), ex)
        certs = os.path.join(ex, "data", "tls")
        subprocess.run(["bash", os.path.join(ROOT, "tests/target/gen-certs.sh"), certs],
                       check=True)
        with Target("--tls-cert", os.path.join(certs, "server.crt"),
                    "--tls-key", os.path.join(certs, "server.key"),
                    "--tls-client-ca", os.path.join(certs, "ca.crt")) as t:
            j, _, _ = hornet_json("run", os.path.join(ex, "tls.yaml"), "--host", t.url,
                                  "--rate", "200", "-t", "2s")
            eq(j["failures"], 0, "failures (errors: %s)" % j["errors"])
            assert j["requests"] > 300, j["requests"]
            # without the client certificate the server refuses
            text = open(os.path.join(ex, "tls.yaml")).read()
            text = "\n".join(l for l in text.splitlines()
                             if "cert_file" not in l and "key_file" not in l)
            write(os.path.join(ex, "nocert.yaml"), text)
            j, _, _ = hornet_json("run", os.path.join(ex, "nocert.yaml"), "--host", t.url,
                                  "--rate", "50", "-t", "1s")
            assert j["requests"] > 0 and j["failures"] == j["requests"], j


@test
def example_signin_one_row_per_user():
    with Target() as t:
        j, _, _ = hornet_json("run", os.path.join(EXAMPLES, "signin.yaml"), "--host", t.url,
                              "-u", "30", "-r", "30", "-t", "3s")
        c = t.counts()
        eq(j["failures"], 0, "failures (errors: %s)" % j["errors"])
        eq(j["requests"], c["total"], "total vs server")
        eq(c["routes"].get("POST /auth/signin"), 30, "one sign-in per user (on_start)")
        eq(c["routes"].get("GET /me"), {e["name"]: e["requests"] for e in j["endpoints"]}["/me"],
           "profile reads with the captured token")
        assert c["routes"].get("GET /me", 0) >= 30, c


@test
def unique_feed_runs_out_and_iterations_stop_users():
    with Target() as t, tempfile.TemporaryDirectory() as d:
        write(os.path.join(d, "ids.csv"), "id\n1\n2\n3\n")
        path = write(os.path.join(d, "s.yaml"), """
host: http://127.0.0.1:1
data:
  ids: {file: ids.csv, order: unique}
classes:
  - name: worker
    data: ids
    iterations: 4
    tasks:
      - path: /status/200?id=${id}
        name: /status/200
""")
        j, _, _ = hornet_json("run", path, "--host", t.url, "-u", "5", "-t", "2s")
        eq(j["requests"], 12, "3 users with a row x 4 iterations")
        eq(j["not_started_no_data"], 2, "users without a row")
        eq(t.counts()["total"], 12, "server total")


@test
def bad_template_is_a_load_error():
    with tempfile.TemporaryDirectory() as d:
        path = write(os.path.join(d, "s.yaml"),
                     "host: http://127.0.0.1:1\ntasks:\n  - path: /a/${sesion}\n")
        rc, _, err = hornet("check", path, timeout=10)
        eq(rc, 2, "exit code")
        assert path + ":3:" in err and "unknown variable 'sesion'" in err, err
        write(path, "host: http://127.0.0.1:1\ntasks:\n  - path: /a/${sha265('x')}\n")
        rc, _, err = hornet("run", path, timeout=10)
        eq(rc, 2, "exit code")
        assert "unknown function" in err and "sha265" in err, err


@test
def cookies_are_kept_per_user():
    with Target() as t, tempfile.TemporaryDirectory() as d:
        text = """
host: http://127.0.0.1:1
classes:
  - name: browser
    on_start: [{path: /cookie/login}]
    tasks: [{path: /cookie/whoami}]
"""
        path = write(os.path.join(d, "s.yaml"), text)
        j, _, _ = hornet_json("run", path, "--host", t.url, "-u", "3", "-t", "1s")
        eq(j["failures"], 0, "whoami saw the cookie (errors: %s)" % j["errors"])
        assert j["requests"] > 10, j
        write(path, "http: {cookies: false}\n" + text)
        j, _, _ = hornet_json("run", path, "--host", t.url, "-u", "3", "-t", "1s")
        by = {e["name"]: e for e in j["endpoints"]}
        eq(by["/cookie/whoami"]["failures"], by["/cookie/whoami"]["requests"],
           "without a jar every whoami is refused")


@test
def connections_per_user_or_shared():
    with tempfile.TemporaryDirectory() as d:
        text = """
host: http://127.0.0.1:1
load: {users: 20, spawn_rate: 20, think_time: 300ms}
http: {connections: %s}
tasks: [{path: /}]
"""
        path = os.path.join(d, "s.yaml")
        conns = {}
        for mode in ("per_user", "shared"):
            with Target() as t:
                write(path, text % mode)
                j, _, _ = hornet_json("run", path, "--host", t.url, "-t", "2s",
                                      "--threads", "1")
                c = t.counts()
                eq(j["requests"], c["total"], "total vs server")
                conns[mode] = c["connections"] - 1   # minus our /__counts
        eq(conns["per_user"], 20, "each user keeps its own connection")
        assert conns["shared"] < 20, conns


@test
def server_closing_idle_connections_costs_nothing():
    """The server drops kept-alive connections idle for 1 s while users
    think for 1.5 s: every reuse must notice, reconnect and lose nothing,
    with hornet's poll shortcut (worker/pollshim.h) and without it. HEAD is
    in the mix because curl never retries a HEAD on a dead connection."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "s.yaml")
        write(path, """
host: http://127.0.0.1:1
load: {users: 6, spawn_rate: 100, think_time: 1500ms}
http: {connections: per_user}
tasks:
  - {path: /, weight: 1}
  - {method: HEAD, path: /, weight: 1}
""")
        for env in ({}, {"HORNET_CURL_POLL": "1"}):
            with Target("--idle-timeout", "1") as t:
                old = dict(os.environ)
                os.environ.update(env)
                try:
                    j, _, _ = hornet_json("run", path, "--host", t.url, "-t", "4s",
                                          "--threads", "1")
                finally:
                    os.environ.clear()
                    os.environ.update(old)
                c = t.counts()
                eq(j["failures"], 0, "failures %r" % env)
                eq(j["requests"], c["total"], "total vs server %r" % env)
                # 6 users, each reconnects after every pause
                assert c["connections"] - 1 >= 2 * 6, (env, c["connections"])


# --- master and workers over ZeroMQ ----------------------------------------

class Fleet:
    """A master and worker processes on loopback; stops them all at exit."""

    def __init__(self):
        self.port = free_port()
        self.endpoint = "tcp://127.0.0.1:%d" % self.port
        self.procs = []
        self.dir = tempfile.mkdtemp(prefix="hornet-fleet-")

    def worker(self, wid, *args, env=None):
        log = open(os.path.join(self.dir, "%s.log" % wid), "w")
        p = subprocess.Popen([HORNET, "worker", "--master", self.endpoint,
                              "--threads", "1", "--id", wid, *args],
                             stdout=log, stderr=subprocess.STDOUT, env=env)
        self.procs.append(p)
        return p

    def master(self, *args, timeout=90):
        js = os.path.join(self.dir, "m.json")
        p = subprocess.run([HORNET, "master", "--headless", *args, "--bind", self.endpoint,
                            "--json", js, "--start-timeout", "20s"],
                           capture_output=True, text=True, timeout=timeout)
        j = json.load(open(js)) if os.path.exists(js) else None
        return p, j

    def master_bg(self, *args, headless=True):
        js = os.path.join(self.dir, "m.json")
        log = open(os.path.join(self.dir, "master.log"), "w")
        mode = ["--headless"] if headless else []
        p = subprocess.Popen([HORNET, "master", *mode, *args, "--bind", self.endpoint,
                              "--json", js, "--start-timeout", "20s"],
                             stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p, js, os.path.join(self.dir, "master.log")

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def exact_percentile(sorted_vals, p):
    import math
    rank = max(1, math.ceil(p / 100.0 * len(sorted_vals)))
    return sorted_vals[rank - 1]


def api(base, method, path, body=None, token=None, ctype="application/json",
        raw=None, ctx=None):
    """One HTTP call; returns (status, parsed JSON or text)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None and ctype:
        req.add_header("Content-Type", ctype)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
            st, txt = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        st, txt = e.code, e.read().decode()
    try:
        return st, json.loads(txt)
    except ValueError:
        return st, txt


def wait_state(base, want, timeout=20, token=None, ctx=None):
    end = time.time() + timeout
    while time.time() < end:
        try:
            st, j = api(base, "GET", "/api/v1/state", token=token, ctx=ctx)
            if st == 200 and j["state"] in want:
                return j
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("state never became %s" % (want,))


@test
def api_drives_a_three_stage_ramp_and_locust_swarm():
    """Interactive master + 2 workers: a stepped schedule started through
    the API, per-stage records, then Locust's /swarm, /stats/requests and
    /stop, all checked against what the target served."""
    with Target() as t, Fleet() as f:
        port = free_port()
        base = "http://127.0.0.1:%d" % port
        m, js, log = f.master_bg("--url", t.url + "/delay?ms=50", "--expect-workers", "2",
                                 "--web", "127.0.0.1:%d" % port, "-q", headless=False)
        f.worker("a")
        f.worker("b")
        j = wait_state(base, ("ready",))
        eq(j["workers"], 2, "workers ready")
        st, j = api(base, "POST", "/api/v1/start", {"stages": [
            {"duration": "3s", "users": 4, "ramp": "step"},
            {"duration": "3s", "users": 10, "ramp": "step"},
            {"duration": 3, "users": 2, "ramp": "step"}]})
        eq(st, 200, j)
        seen = []
        while True:
            st, j = api(base, "GET", "/api/v1/state")
            seen.append((j["elapsed_s"], j["target_users"], j["users"]))
            if j["state"] == "stopped":
                break
            time.sleep(0.25)
        targets = [tu for (e, tu, u) in seen if e > 0.5]
        assert 4 in targets and 10 in targets and 2 in targets, seen
        st, stages = api(base, "GET", "/api/v1/stages")
        eq(st, 200, stages)
        got = [(round(s["start_s"]), s["target"]) for s in stages]
        eq(got, [(0, 4), (3, 10), (6, 2)], "stage records")
        for s, want in zip(stages, (4, 10, 2)):
            # users measured inside each stage, ramping included
            assert want * 0.6 <= s["mean_users"] <= want * 1.1, (s, want)
        st, stats = api(base, "GET", "/api/v1/stats")
        c = t.counts()
        eq(stats["requests"], c["total"], "API stats vs target")
        eq(sum(s["requests"] for s in stages), c["total"], "stage sums vs target")
        before = c["total"]
        # Locust-compatible control
        req = urllib.request.Request(base + "/swarm", data=b"user_count=3&spawn_rate=100",
                                     method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            sw = json.loads(r.read())
        eq(sw["success"], True, sw)
        time.sleep(2.5)
        st, lr = api(base, "GET", "/stats/requests")
        eq(lr["state"], "running", lr)
        eq(lr["user_count"], 3, "Locust user_count")
        names = [r["name"] for r in lr["stats"]]
        assert "Aggregated" in names, names
        for key in ("total_rps", "fail_ratio", "errors", "current_response_time_percentile_1"):
            assert key in lr, key
        st, txt = api(base, "GET", "/stats/requests/csv")
        assert txt.startswith("Type,Name,Request Count,Failure Count"), txt[:100]
        st, sp = api(base, "GET", "/stop")
        eq(sp["success"], True, sp)
        wait_state(base, ("stopped",))
        st, lr = api(base, "GET", "/stats/requests")
        agg = [r for r in lr["stats"] if r["name"] == "Aggregated"][0]
        eq(agg["num_requests"], t.counts()["total"] - before, "swarm run vs target")
        m.send_signal(signal.SIGINT)
        eq(m.wait(15), 0, "interactive master exits 0 on Ctrl-C when idle")


@test
def api_over_https_runs_an_uploaded_scenario():
    """--web-cert/--web-key: the API answers over TLS only; a scenario sent
    as text in POST /api/v1/start replaces the one the master started
    with, for that run, and the target sees only its requests."""
    with tempfile.TemporaryDirectory() as d, Target() as t, Fleet() as f:
        subprocess.run(["bash", os.path.join(ROOT, "tests/target/gen-certs.sh"), d],
                       check=True, capture_output=True)
        ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.crt"))
        port = free_port()
        base = "https://127.0.0.1:%d" % port
        m, js, log = f.master_bg("--url", t.url + "/status", "--expect-workers", "1",
                                 "--web", "127.0.0.1:%d" % port,
                                 "--web-cert", os.path.join(d, "server.crt"),
                                 "--web-key", os.path.join(d, "server.key"), "-q",
                                 headless=False)
        f.worker("a")
        wait_state(base, ("ready",), ctx=ctx)
        try:   # plain HTTP on the TLS port gets no API answer
            st, _ = api("http://127.0.0.1:%d" % port, "GET", "/api/v1/state")
            assert st != 200, st
        except (OSError, http.client.HTTPException):
            pass
        scen = """
host: %s
load: {users: 2, spawn_rate: 100, think_time: 20ms}
tasks:
  - {name: uploaded, path: /delay?ms=1}
""" % t.url
        st, j = api(base, "POST", "/api/v1/start",
                    {"scenario": scen, "duration": "2s"}, ctx=ctx)
        eq(st, 200, j)
        wait_state(base, ("stopped",), ctx=ctx)
        st, stats = api(base, "GET", "/api/v1/stats", ctx=ctx)
        c = t.counts()
        names = {e["name"] for e in stats["endpoints"]}
        eq(names, {"uploaded"}, "endpoints of the uploaded scenario")
        eq(stats["failures"], 0, "failures")
        eq(stats["requests"], c["routes"].get("GET /delay"), "uploaded requests vs target")
        assert "GET /status" not in c["routes"], c["routes"]
        st, j = api(base, "POST", "/api/v1/start", {"scenario": "tasks: [{pth: /}]"},
                    ctx=ctx)
        eq(st, 400, j)
        assert "pth" in j["error"], j
        m.send_signal(signal.SIGINT)
        eq(m.wait(15), 0, "interactive master exits 0 on Ctrl-C when idle")


@test
def api_bad_input_changes_nothing():
    with Target() as t:
        port = free_port()
        base = "http://127.0.0.1:%d" % port
        tok = "s3cret-token"
        p = subprocess.Popen([HORNET, "run", "--url", t.url + "/", "-u", "2", "-t", "8s",
                              "--think", "50ms", "-q", "--web", "127.0.0.1:%d" % port,
                              "--web-token", tok],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_state(base, ("running",), token=tok)
            cases = [
                ("no token", dict(token=None), 401, "Authorization"),
                ("wrong token", dict(token="nope"), 403, "Authorization"),
                ("malformed", dict(raw=b'{"users": 5'), 400, None),
                ("wrong type", dict(body={"users": "five"}), 400, "users"),
                ("negative", dict(body={"users": -5}), 400, "users"),
                ("fraction", dict(body={"users": 2.5}), 400, "users"),
                ("unknown field", dict(body={"users": 5, "colour": "red"}), 400, "colour"),
                ("both models", dict(body={"users": 5, "rate": 3}), 400, "rate"),
                ("not an object", dict(raw=b'[1,2]'), 400, None),
                ("not JSON", dict(raw=b'users=5', ctype="text/plain"), 415, "Content-Type"),
                ("wrong model", dict(body={"rate": 5}), 409, "rate"),
            ]
            for name, kw, want, field in cases:
                token = kw.pop("token", tok)
                st, j = api(base, "POST", "/api/v1/load", token=token, **kw)
                eq(st, want, "%s: %s" % (name, j))
                assert isinstance(j, dict) and j.get("error"), (name, j)
                if field:
                    eq(j.get("field"), field, name)
                st, s = api(base, "GET", "/api/v1/state", token=tok)
                eq((s["state"], s["target_users"]), ("running", 2), "after " + name)
            # oversized: refused from the declared length, before the body
            sk = socket.create_connection(("127.0.0.1", port), timeout=10)
            sk.sendall(("POST /api/v1/load HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                        "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                        % (tok, 2 << 20)).encode() + b'{"users": 5, "x": "aaaa')
            head = sk.recv(4096).decode(errors="replace")
            sk.close()
            assert head.startswith("HTTP/1.1 413"), head
            assert "1 MiB" in head, head
            st, s2 = api(base, "GET", "/api/v1/state", token=tok)
            eq(s2["target_users"], 2, "after oversized")
            st, j = api(base, "GET", "/api/v1/nope", token=tok)
            eq(st, 404, j)
            st, j = api(base, "DELETE", "/api/v1/state", token=tok)
            eq(st, 405, j)
            st, j = api(base, "PUT", "/api/v1/schedule", {"stages": [{"duration": "1s"}]},
                        token=tok)
            eq((st, j.get("field")), (400, "stages[0]"), j)
            st, j = api(base, "GET", "/api/v1/timeseries?since=abc", token=tok)
            eq((st, j.get("field")), (400, "since"), j)
            # the token also works as a query parameter (EventSource)
            st, j = api(base, "GET", "/api/v1/state?token=" + tok)
            eq(st, 200, j)
            # the UI itself needs no token
            st, txt = api(base, "GET", "/")
            assert st == 200 and "<html" in txt.lower(), txt[:200]
        finally:
            out, err = p.communicate(timeout=30)
        eq(p.returncode, 0, err[-2000:])
        assert "Aggregated" in out
        # a public address without a token is refused before anything runs
        rc, out, err = hornet("run", "--url", t.url + "/", "-t", "1s", "--web", "0.0.0.0:%d" % port)
        eq(rc, 2, err)
        assert "--web-token" in err, err


@test
def burst_schedule_gives_the_rate_pattern_at_the_server():
    with Target() as t:
        p = subprocess.Popen([HORNET, "run", "--url", t.url + "/", "--rate", "1", "-q",
                              "--shape", "burst:base=20,multiplier=5,length=1s,every=2s,total=6s"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        samples = []
        while p.poll() is None:
            samples.append((time.time(), t.counts()["total"]))
            time.sleep(0.1)
        p.communicate()
        eq(p.returncode, 0, "exit")
        rates = []
        for i, (t0, c0) in enumerate(samples):
            for t1, c1 in samples[i:]:
                if t1 - t0 >= 0.5:
                    rates.append((c1 - c0) / (t1 - t0))
                    break
        assert max(rates) > 70, rates     # the 100/s bursts
        assert min(r for r in rates[5:-5]) < 35, rates   # the 20/s base between
        total = t.counts()["total"]
        assert 300 <= total <= 420, total   # 3 s at 20/s + 3 s at 100/s = 360


@test
def parallel_streams_with_a_start_offset():
    """Two 40/s streams, the second 2 s later: each class's own schedule,
    counted per route at the target."""
    with Target() as t, tempfile.TemporaryDirectory() as d:
        path = write(os.path.join(d, "streams.yaml"), """
host: http://127.0.0.1:1
load: {duration: 5s}
classes:
  - {name: a, schedule: {rate: 40}, tasks: [{path: /status/200, name: a}]}
  - {name: b, schedule: {start_after: 2s, rate: 40}, tasks: [{path: /status/201, name: b}]}
""")
        p = subprocess.Popen([HORNET, "run", path, "--host", t.url, "-q"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        early = t.counts()["routes"]   # /status/* counts both streams
        _, err = p.communicate(timeout=30)
        eq(p.returncode, 0, err[-2000:])
        assert early.get("GET /status/*", 0) >= 40, early
        assert early["GET /status/*"] <= 1.5 * 40 + 10, (early, "stream b before its offset")
        st = t.counts()["status"]
        a, b = st.get("200", 0), st.get("201", 0)
        assert 170 <= a <= 230, (a, "5 s at 40/s")
        assert 100 <= b <= 140, (b, "3 s at 40/s")


@test
def master_three_workers_counts_and_percentiles():
    import array
    with Target() as t, Fleet() as f:
        dump = os.path.join(f.dir, "lat")
        env = dict(os.environ, HORNET_DUMP_LATENCY=dump)
        for i in range(3):
            f.worker("w%d" % i, env=env)
        p, j = f.master("--url", t.url + "/delay?ms=2", "-u", "30", "-t", "3s",
                        "--expect-workers", "3")
        eq(p.returncode, 0, "master exit: " + p.stderr[-2000:])
        for w in f.procs:
            w.wait(10)          # workers quit when the headless master ends
        c = t.counts()
        eq(j["requests"], c["total"], "master total vs server")
        assert j["requests"] > 1000, j["requests"]
        eq(j["failures"], 0, "failures")
        vals = array.array("Q")
        for name in os.listdir(f.dir):
            if name.startswith("lat."):
                with open(os.path.join(f.dir, name), "rb") as fh:
                    vals.frombytes(fh.read())
        eq(len(vals), j["requests"], "raw samples from all workers")
        vals = sorted(vals)
        for key, pct in (("p50", 50), ("p95", 95), ("p99", 99)):
            exact_ms = exact_percentile(vals, pct) / 1000.0
            got = j["latency_ms"][key]
            assert abs(got - exact_ms) <= exact_ms * 0.001 + 0.0011, (key, got, exact_ms)
        assert "w0" in p.stdout and "w2" in p.stdout, p.stdout


@test
def master_keeps_class_mix_across_workers():
    with Target() as t, Fleet() as f, tempfile.TemporaryDirectory() as d:
        path = write(os.path.join(d, "mix.yaml"), """
host: http://127.0.0.1:1
load: {think_time: {pacing: 20ms}}
classes:
  - {name: heavy, weight: 2, tasks: [{path: /status/200, name: heavy}]}
  - {name: light, weight: 1, tasks: [{path: /status/201, name: light}]}
""")
        for i in range(3):
            f.worker("m%d" % i)
        p, j = f.master(path, "--host", t.url, "-u", "3", "-t", "3s",
                        "--expect-workers", "3")
        eq(p.returncode, 0, "master exit: " + p.stderr[-2000:])
        by = {e["name"]: e["requests"] for e in j["endpoints"]}
        ratio = by["heavy"] / max(1, by["light"])
        # Paced users make the same number of requests each whatever the CPU
        # share of their worker, so the ratio counts users, not speed.
        assert 1.7 < ratio < 2.3, (by, "3 workers x 1 user must give 2 heavy + 1 light")
        eq(j["requests"], t.counts()["total"], "total vs server")


@test
def master_moves_load_of_a_killed_worker():
    with Target() as t, Fleet() as f:
        ws = [f.worker("k%d" % i) for i in range(3)]
        mp, js, mlog = f.master_bg("--url", t.url + "/", "-u", "30", "-t", "9s",
                                   "--expect-workers", "3", "-q")
        # wait for the run to start, then kill one worker hard
        deadline = time.time() + 20
        while time.time() < deadline and "starting 30 users" not in open(mlog).read():
            time.sleep(0.1)
        time.sleep(2.0)
        killed_at = time.time()
        ws[1].kill()
        seen_missing = None
        while time.time() < killed_at + 8:
            text = open(mlog).read()
            if "k1 is missing" in text:
                seen_missing = time.time()
                break
            time.sleep(0.1)
        assert seen_missing and seen_missing - killed_at <= 4.5, (seen_missing, text[-1500:])
        mp.wait(60)
        eq(mp.returncode, 0, "master exit")
        text = open(mlog).read()
        assert "k0 gets 15 users" in text and "k2 gets 15 users" in text, text[-2000:]
        j = json.load(open(js))
        c = t.counts()
        lost = c["total"] - j["requests"]
        # only the killed worker's last, unreported second can be missing
        assert 0 <= lost < j["rps"], (lost, j["requests"], c["total"])
        tl = [pt["users"] for pt in j["timeline"]]
        assert tl[-2] == 30 or tl[-3] == 30, tl


@test
def master_gives_a_late_worker_a_share():
    with Target() as t, Fleet() as f:
        f.worker("a0")
        mp, js, mlog = f.master_bg("--url", t.url + "/", "-u", "20", "-t", "5s",
                                   "--expect-workers", "1", "-q")
        deadline = time.time() + 20
        while time.time() < deadline and "starting 20 users" not in open(mlog).read():
            time.sleep(0.1)
        time.sleep(1.0)
        f.worker("a1")
        mp.wait(60)
        eq(mp.returncode, 0, "master exit")
        text = open(mlog).read()
        assert "a1 gets 10 users" in text and "a0 gets 10 users" in text, text[-2000:]
        j = json.load(open(js))
        eq(j["requests"], t.counts()["total"], "total vs server")


@test
def master_with_curve_keys_refuses_strangers():
    with Target() as t, Fleet() as f:
        keys = os.path.join(f.dir, "keys")
        p = subprocess.run([HORNET, "keys", keys], capture_output=True, text=True, timeout=10)
        eq(p.returncode, 0, "hornet keys: " + p.stderr)
        pub = [l.split(": ")[1].split()[0] for l in p.stdout.splitlines()
               if l.startswith("master public key")][0]
        f.worker("c0", "--keys", keys, "--curve-server-key", pub)
        p, j = f.master("--url", t.url + "/", "-u", "4", "-t", "2s", "--keys", keys,
                        "--expect-workers", "1")
        eq(p.returncode, 0, "master exit: " + p.stderr[-1500:])
        eq(j["requests"], t.counts()["total"], "total vs server")
        # a worker without the keys never gets in
        f.worker("c1")
        p2 = subprocess.run([HORNET, "master", "--headless", "--url", t.url + "/", "-t", "1s",
                             "--bind", f.endpoint, "--keys", keys,
                             "--start-timeout", "3s"],
                            capture_output=True, text=True, timeout=30)
        eq(p2.returncode, 1, "no authorised worker: " + p2.stderr[-800:])
        assert "only 0 of 1 workers" in p2.stderr, p2.stderr


@test
def master_restart_mid_run_loses_nothing():
    with Target() as t, Fleet() as f:
        for i in range(2):
            f.worker("r%d" % i, "--grace", "30s")
        args = ["--url", t.url + "/", "-u", "10", "-t", "8s", "--expect-workers", "2", "-q"]
        mp, js, mlog = f.master_bg(*args)
        deadline = time.time() + 20
        while time.time() < deadline and "starting 10 users" not in open(mlog).read():
            time.sleep(0.1)
        time.sleep(2.5)
        mp.kill()                   # the master dies mid-run
        mp.wait()
        time.sleep(1.0)
        p, j = f.master(*args)      # and comes back on the same port
        eq(p.returncode, 0, "restarted master: " + p.stderr[-2000:])
        assert "taking it over" in p.stderr, p.stderr[-2000:]
        for w in f.procs[:2]:
            w.wait(15)
        eq(j["requests"], t.counts()["total"], "totals after a master restart vs server")
        assert j["duration_s"] > 6, j["duration_s"]


SKIPPED = []


def sh(*cmd):
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=20)


@test
def master_workers_in_network_namespaces():
    """3 workers, each in its own network namespace behind a veth pair, so
    their traffic crosses a real interface to the target and the master."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        SKIPPED.append("master_workers_in_network_namespaces: needs root and iproute2")
        return
    tag = "hn%d" % (os.getpid() % 10000)
    made = []
    try:
        for i in range(3):
            ns, host, peer = "%s-%d" % (tag, i), "%sh%d" % (tag, i), "%sn%d" % (tag, i)
            r = sh("ip", "netns", "add", ns)
            if r.returncode:
                SKIPPED.append("master_workers_in_network_namespaces: ip netns add: "
                               + r.stderr.strip())
                return
            made.append((ns, host))
            for cmd in (["ip", "link", "add", host, "type", "veth", "peer", "name", peer],
                        ["ip", "link", "set", peer, "netns", ns],
                        ["ip", "addr", "add", "10.77.%d.1/24" % i, "dev", host],
                        ["ip", "link", "set", host, "up"],
                        ["ip", "netns", "exec", ns, "ip", "addr", "add",
                         "10.77.%d.2/24" % i, "dev", peer],
                        ["ip", "netns", "exec", ns, "ip", "link", "set", peer, "up"],
                        ["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"],
                        ["ip", "netns", "exec", ns, "ip", "route", "add", "10.77.0.0/16",
                         "via", "10.77.%d.1" % i]):
                r = sh(*cmd)
                assert r.returncode == 0, (cmd, r.stderr)
        with Target("--bind", "0.0.0.0") as t, Fleet() as f:
            port = t.addr.rsplit(":", 1)[1]
            url = "http://10.77.0.1:%s/" % port
            master_ep = "tcp://10.77.%d.1:%d"
            for i in range(3):
                log = open(os.path.join(f.dir, "ns%d.log" % i), "w")
                f.procs.append(subprocess.Popen(
                    ["ip", "netns", "exec", made[i][0], HORNET, "worker", "--master",
                     master_ep % (i, f.port), "--threads", "1", "--id", "ns%d" % i],
                    stdout=log, stderr=subprocess.STDOUT))
            js = os.path.join(f.dir, "m.json")
            p = subprocess.run([HORNET, "master", "--headless", "--url", url, "-u", "15", "-t", "3s",
                                "--bind", "tcp://*:%d" % f.port, "--expect-workers", "3",
                                "--json", js, "--start-timeout", "20s"],
                               capture_output=True, text=True, timeout=90)
            if p.returncode != 0:
                logs = ""
                for i in range(3):
                    with open(os.path.join(f.dir, "ns%d.log" % i)) as fh:
                        logs += "\n--- worker ns%d:\n%s" % (i, fh.read()[-1500:])
                raise AssertionError("master exit %d: %s%s" % (p.returncode,
                                                              p.stderr[-2000:], logs))
            assert "WITHOUT encryption" in p.stderr, "the non-loopback warning"
            j = json.load(open(js))
            c = t.counts()
            eq(j["failures"], 0, "failures: %s" % j["errors"])
            eq(j["requests"], c["total"], "master total vs server across veths")
            assert j["requests"] > 300, j["requests"]
    finally:
        for ns, host in made:
            sh("ip", "link", "del", host)
            sh("ip", "netns", "del", ns)


@test
def master_and_worker_bad_usage():
    cases = [
        (["worker"], "--master"),
        (["worker", "--master", "http://x"], "not tcp://"),
        (["worker", "--master", "tcp://127.0.0.1:1", "--threads", "0"], "--threads"),
        (["master", "--url", "http://127.0.0.1:1/", "--expect-workers", "0"], "--expect-workers"),
        (["run", "--url", "http://127.0.0.1:1/", "--bind", "tcp://*:1"], "hornet master"),
        (["master", "--url", "http://127.0.0.1:1/", "--bind", "tcp://256.0.0.1:1"], "cannot bind"),
    ]
    for args, needle in cases:
        rc, out, err = hornet(*args, timeout=10)
        eq(rc, 2, "exit code of %s (%s)" % (args, err))
        assert needle in err, "%s: %r not in %r" % (args, needle, err)


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
        skipped_before = len(SKIPPED)
        try:
            fn()
            if len(SKIPPED) > skipped_before:
                print("SKIP %-50s %s" % (fn.__name__, SKIPPED[-1]), flush=True)
                continue
            passed += 1
            print("PASS %-50s %5.1fs" % (fn.__name__, time.time() - t0), flush=True)
        except Exception:
            failed += 1
            print("FAIL %-50s %5.1fs" % (fn.__name__, time.time() - t0), flush=True)
            traceback.print_exc(limit=3)
    for why in SKIPPED:
        print("skipped (not counted): " + why)
    print("integration: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
