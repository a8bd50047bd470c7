"""The scenario language: weighted tasks, every example in examples/,
captures, counters, tags, data feeds, cookies, connection modes, classes
with their own schedules.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time

from harness import EXAMPLES, HORNET, ROOT, Target, eq, hornet_json, test, write


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


@test(once=True)
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
        j, _, _ = hornet_json("run", path, "--host", t.url, "-u", "2", "-t", "1s",
                              "--max-error-rate", "100%")
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
                                  "--rate", "50", "-t", "1s", "--max-error-rate", "100%")
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
