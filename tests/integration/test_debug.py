"""Writing and debugging a scenario (issue 14): `hornet run --debug N`
(worker/debug.c) prints the first N requests of each step in full, with
${env.*} values masked, on both engines; and `on_start_failure:` (retry,
stop, continue) decides what a user whose on_start failed does. Counts are
checked against the target's own /__counts.
"""
import collections
import json
import os
import re
import tempfile

from harness import Fleet, Target, eq, hornet, hornet_json, test, write

SECRET = "s3cr3t-Tok3n-9f2"

FLOW = """
host: http://127.0.0.1:1
headers: {X-Api-Key: "${env.HNT_DEBUG_SECRET}"}
tasks:
  - task: flow
    steps:
      - method: POST
        path: /auth/signin
        body: {email: a@b.c, password: pw-a}
        capture: {token: {json: $.token}}
        expect: {status: [201]}
      - path: /me
        headers: {Authorization: "Bearer ${token}"}
        expect: {body_contains: a@b.c}
      - method: POST
        path: /echo
        body: "key=${env.HNT_DEBUG_SECRET}&n=1"
"""

HEAD = re.compile(r"^==== debug (\d+)/(\d+): (\S+) (\S+) \(class 'default', "
                  r"task 'flow' step (\d) of 3, user (\d+), (\w+)\) ====$", re.M)


def _blocks(err):
    """{(method, name): [block text, ...]} from hornet's stderr."""
    out = collections.defaultdict(list)
    for m in HEAD.finditer(err):
        end = err.index("==== end %s/%s: %s %s ====" % m.group(1, 2, 3, 4), m.end())
        out[(m.group(3), m.group(4))].append((m, err[m.end():end]))
    return out


@test
def debug_dumps_the_first_n_of_each_step():
    engine = os.environ.get("HORNET_ENGINE") or "native"
    os.environ["HNT_DEBUG_SECRET"] = SECRET
    with Target() as t, tempfile.TemporaryDirectory() as d:
        path = write(os.path.join(d, "flow.yaml"), FLOW)
        j, _, err = hornet_json("run", path, "--host", t.url, "-u", "3", "-t", "2s",
                                "--threads", "2", "--debug", "2", "--engine", engine)
        c = t.counts()
        # it ran on as usual, and every request reached the target once
        eq(j["failures"], 0, "failures (errors: %s)" % j["errors"])
        eq(j["requests"], c["total"], "hornet total vs the target's")
        assert j["requests"] > 30, j["requests"]
        assert SECRET not in err, "the secret leaked into stderr"
        blocks = _blocks(err)
        steps = [("POST", "/auth/signin"), ("GET", "/me"), ("POST", "/echo")]
        eq(sorted(blocks), sorted(steps), "steps dumped")
        eq(len(HEAD.findall(err)), 6, "2 blocks per step, no more")
        eq(err.count("==== end "), 6, "every block closed")
        label = "libcurl" if engine == "curl" else "native"
        tokens = set()
        for i, (method, name) in enumerate(steps):
            bl = blocks[(method, name)]
            eq(sorted(m.group(1) for m, _ in bl), ["1", "2"], name + ": dump numbers")
            for m, text in bl:
                eq(m.group(5), str(i + 1), name + ": step number")
                eq(m.group(7), label, name + ": engine")
                assert "\nrequest: %s %s%s\n" % (method, t.url, name) in text, text
                # the head as sent, secret masked; the response as received
                assert "\n> %s %s HTTP/1.1\n" % (method, name) in text, text
                assert "\n> X-Api-Key: ${env.HNT_DEBUG_SECRET}\n" in text, text
                assert re.search(r"\n< HTTP/1\.1 20[01] ", text), text
                if name == "/auth/signin":
                    assert '\n> {"email":"a@b.c","password":"pw-a"}\n' in text, text
                    cap = re.search(r"\ncapture token = ([0-9a-f]{32})\n", text)
                    assert cap, text
                    assert cap.group(1) in text.split("\ncapture")[0], \
                        "the captured value is the one in the response body"
                    tokens.add(cap.group(1))
                    assert "\ncheck status in [201]: pass\n" in text, text
                    assert "\nresult: pass (HTTP 201 in " in text, text
                if name == "/me":
                    bearer = re.search(r"\n> Authorization: Bearer ([0-9a-f]{32})\n", text)
                    assert bearer, text
                    tokens.add(bearer.group(1))
                    assert "\ncheck status < 400: pass\n" in text, text
                    assert "\ncheck body contains 'a@b.c': pass\n" in text, text
                if name == "/echo":
                    # sent and echoed back: masked both ways
                    assert "\n> key=${env.HNT_DEBUG_SECRET}&n=1\n" in text, text
                    assert "\n< key=${env.HNT_DEBUG_SECRET}&n=1\n" in text, text
        assert len(tokens) >= 2, tokens


@test
def worker_debug_dumps_its_own_first_n():
    """hornet worker --debug N: each worker prints N blocks per step of the
    scenario its master sent, with its own environment's secrets masked."""
    env = dict(os.environ, HNT_DEBUG_SECRET=SECRET)
    with Target() as t, Fleet() as f, tempfile.TemporaryDirectory() as d:
        path = write(os.path.join(d, "flow.yaml"), FLOW)
        f.worker("d0", "--debug", "1", env=env)
        f.worker("d1", env=env)
        os.environ["HNT_DEBUG_SECRET"] = SECRET  # the master loads it too
        p, j = f.master(path, "--host", t.url, "-u", "4", "-t", "2s",
                        "--expect-workers", "2")
        eq(p.returncode, 0, "master exit: " + p.stderr[-2000:])
        for w in f.procs:
            w.wait(10)
        eq(j["requests"], t.counts()["total"], "master total vs the target's")
        logs = [open(os.path.join(f.dir, "%s.log" % w)).read() for w in ("d0", "d1")]
        eq(len(HEAD.findall(logs[0])), 3, "d0: one block per step")
        eq(len(HEAD.findall(logs[1])), 0, "d1 (no --debug): none")
        assert SECRET not in logs[0], "the secret leaked"
        eq(logs[0].count("\n> X-Api-Key: ${env.HNT_DEBUG_SECRET}\n"), 3, "masked header")
        assert "==== debug" not in p.stderr, "the master prints no block"


@test(once=True)
def debug_flag_is_validated():
    for bad in ("0", "-1", "x", "2.5", "99999999"):
        rc, _, err = hornet("run", "--url", "http://127.0.0.1:1/", "--debug", bad)
        eq(rc, 2, "--debug %s: exit code" % bad)
        assert "--debug: expected a whole number 1..1000000" in err, err
        rc, _, err = hornet("worker", "--master", "tcp://127.0.0.1:1", "--debug", bad)
        eq(rc, 2, "worker --debug %s: exit code" % bad)
        assert "--debug: expected a whole number 1..1000000" in err, err
    env = dict(os.environ, HORNET_DEBUG="none")
    import subprocess
    from harness import HORNET
    p = subprocess.run([HORNET, "run", "--url", "http://127.0.0.1:1/"], env=env,
                       capture_output=True, text=True, timeout=30)
    eq(p.returncode, 2, "HORNET_DEBUG=none: exit code")
    assert "HORNET_DEBUG" in p.stderr, p.stderr
    rc, out, _ = hornet("run", "--help")
    assert "--debug N" in out, out
    rc, out, _ = hornet("worker", "--help")
    assert "--debug N" in out, out


# on_start's first step fails once per user, deterministically: counter()
# is 0 on a user's first try (/status/200, not the 201 it expects) and 1
# on its second. The sign-in after it captures the token the task needs:
# a task run without it gets 401.
ON_START = """
host: http://127.0.0.1:1
classes:
  - name: member
    %s
    on_start:
      - path: /status/20${counter()}
        name: /status/20x
        expect: {status: [201]}
      - method: POST
        path: /auth/signin
        body: {email: a@b.c, password: pw-a}
        capture: {token: {json: %s}}
    tasks:
      - path: /me
        headers: {Authorization: "Bearer ${token}"}
"""


def _on_start(t, d, policy, path="$.token", users=4, secs="3s", extra=()):
    line = "on_start_failure: %s" % policy if policy else ""
    f = write(os.path.join(d, "%s.yaml" % (policy or "default")),
              ON_START % (line, path))
    j, _, err = hornet_json("run", f, "--host", t.url, "-u", str(users), "-t", secs,
                            "--max-error-rate", "100%", *extra)
    c = t.counts()
    eq(j["requests"], c["total"], policy + ": hornet total vs the target's")
    eps = {e["name"]: e for e in j["endpoints"]}
    return j, c, eps, err


@test
def on_start_retry_runs_no_task_before_it_succeeds():
    with Target() as t, tempfile.TemporaryDirectory() as d:
        j, c, eps, _ = _on_start(t, d, "retry")
        st = c["status"]
        # each user: /status/200 (failed), 1 s later /status/201, sign-in
        eq(c["routes"].get("GET /status/*"), 8, "two tries per user")
        eq(eps["/status/20x"]["failures"], 4, "the first try of each user failed")
        eq(c["routes"].get("POST /auth/signin"), 4, "one sign-in per user")
        eq(st.get("401", 0), 0, "no task ran without its token")
        assert c["routes"].get("GET /me", 0) > 4, c
        eq(eps["/me"]["failures"], 0, "task failures")
        eq(j["users_stopped_on_start"], 0, "users stopped")
        # the default is retry: the same without the key
        t.post("/__reset")
        j, c, _, out = _on_start(t, d, "", users=4)
        eq(c["routes"].get("GET /status/*"), 8, "default: two tries per user")
        eq(c["status"].get("401", 0), 0, "default: no task without its token")


@test
def on_start_retry_backs_off_while_it_keeps_failing():
    with Target() as t, tempfile.TemporaryDirectory() as d:
        # the sign-in's capture finds nothing: on_start never succeeds
        f = write(os.path.join(d, "never.yaml"), """
host: http://127.0.0.1:1
classes:
  - on_start:
      - method: POST
        path: /auth/signin
        body: {email: a@b.c, password: pw-a}
        capture: {token: {json: $.missing}}
    tasks:
      - path: /me
        headers: {Authorization: "Bearer ${token}"}
""")
        j, _, _ = hornet_json("run", f, "--host", t.url, "-u", "3", "-t", "3500ms",
                              "--max-error-rate", "100%")
        c = t.counts()
        eq(j["requests"], c["total"], "hornet total vs the target's")
        eps = {e["name"]: e for e in j["endpoints"]}
        eq(c["routes"].get("GET /me", 0), 0, "no task request at all")
        # tries at 0, 1 s and 3 s (1 s doubling): at most 3 per user
        n = c["routes"].get("POST /auth/signin", 0)
        assert 6 <= n <= 9, "sign-ins with back-off: %d" % n
        eq(eps["/auth/signin"]["failures"], n, "every sign-in failed its capture")
        assert any(e["kind"] == "capture" for e in j["errors"]), j["errors"]


@test
def on_start_stop_stops_and_counts_the_users():
    with Target() as t, tempfile.TemporaryDirectory() as d:
        j, c, eps, err = _on_start(t, d, "stop", users=5, secs="2s",
                                   extra=("--debug", "1"))
        eq(j["users_stopped_on_start"], 5, "users stopped, in the JSON")
        eq(c["routes"].get("GET /status/*"), 5, "one try per user")
        eq(c["routes"].get("POST /auth/signin", 0), 0, "the rest of on_start skipped")
        eq(c["routes"].get("GET /me", 0), 0, "no task request")
        eq(j["requests"], 5, "requests")
        # the debug block says why it failed
        assert "check status in [201]: FAIL (status 200 not in [201])" in err, err
        assert "result: FAIL [check] status 200 not in [201]" in err, err
        # and the table says how many stopped
        with tempfile.TemporaryDirectory() as d2:
            f = write(os.path.join(d2, "s.yaml"), ON_START % ("on_start_failure: stop",
                                                             "$.token"))
            rc, out, err = hornet("run", f, "--host", t.url, "-u", "2", "-t", "1s",
                                  "--max-error-rate", "100%")
            assert "Users stopped, on_start failed (on_start_failure: stop): 2" in \
                out + err, out + err


@test
def on_start_continue_goes_on_without_the_token():
    with Target() as t, tempfile.TemporaryDirectory() as d:
        j, c, eps, _ = _on_start(t, d, "continue", users=3, secs="1s")
        eq(c["routes"].get("GET /status/*"), 3, "one try per user")
        eq(c["routes"].get("POST /auth/signin", 0), 0, "the rest of on_start skipped")
        me = c["routes"].get("GET /me", 0)
        assert me > 3, c
        eq(c["status"].get("401", 0), me, "every task ran with an empty token")
        eq(eps["/me"]["failures"], me, "and failed")
        eq(j["users_stopped_on_start"], 0, "users stopped")


@test(once=True)
def on_start_failure_is_checked():
    with tempfile.TemporaryDirectory() as d:
        f = write(os.path.join(d, "bad.yaml"), ON_START % ("on_start_failure: sometimes",
                                                          "$.token"))
        rc, out, err = hornet("check", f)
        eq(rc, 2, "exit code")
        assert re.search(r"bad\.yaml:5:\d+: on_start_failure: 'sometimes' is not "
                         r"retry, stop or continue", err), err
        f = write(os.path.join(d, "stop.yaml"), ON_START % ("on_start_failure: stop",
                                                           "$.token"))
        rc, out, err = hornet("check", f)
        eq(rc, 0, "exit code (%s)" % err)
        assert "on_start (when it fails: stop):" in out, out
        f = write(os.path.join(d, "dflt.yaml"), ON_START % ("", "$.token"))
        rc, out, err = hornet("check", f)
        assert "on_start (when it fails: retry):" in out, out
        f = write(os.path.join(d, "none.yaml"), """
host: http://127.0.0.1:1
classes:
  - on_start_failure: stop
    tasks: [{path: /}]
""")
        rc, out, err = hornet("check", f)
        eq(rc, 2, "on_start_failure without on_start: exit code")
        assert "none.yaml:4:" in err and "without on_start" in err, err
