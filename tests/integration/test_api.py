"""The HTTP API: a ramp driven through it, Locust's endpoints, HTTPS and
an uploaded scenario, bad input and tokens, the web UI page.
"""
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request

from harness import (Fleet, HORNET, ROOT, Target, api, eq, free_port, hornet, test,
                     wait_state)


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
            # the probe needs no token and says nothing of the run
            st, hz = api(base, "GET", "/healthz", token=None)
            eq((st, hz), (200, {"status": "ok"}), "GET /healthz without a token")
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


def _swarm(base, form, timeout=15):
    """POST /swarm with a form; returns (status, JSON)."""
    req = urllib.request.Request(base + "/swarm", data=form.encode(), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@test
def api_start_host_model_and_profile_do_not_leak():
    """Issue 13: /swarm's host reaches a --url master's workers; a start
    with no fields runs the master's own profile and host, not the last
    run's; a users schedule runs users even when the profile is a rate."""
    with Target() as t1, Target() as t2, Fleet() as f:
        port = free_port()
        base = "http://127.0.0.1:%d" % port
        f.master_bg("--url", t1.url + "/delay?ms=5", "--rate", "20", "-t", "2s",
                    "--expect-workers", "1", "--web", "127.0.0.1:%d" % port, "-q",
                    headless=False)
        f.worker("a")
        wait_state(base, ("ready",))
        st, sw = _swarm(base, "user_count=2&spawn_rate=100&run_time=2s&host=" + t2.url)
        eq((st, sw["success"], sw["host"], sw["run_time"]), (200, True, t2.url, 2), sw)
        wait_state(base, ("running",))
        wait_state(base, ("stopped",))
        c1, c2 = t1.counts()["total"], t2.counts()["total"]
        assert c2 > 0 and c1 == 0, ("the new host got no requests", c1, c2)
        # empty start: the profile (2 s at 20/s, open) on the --url host
        st, j = api(base, "POST", "/api/v1/start", {})
        eq((st, j["model"], j["host"], j["duration_s"]), (200, "open", "", 2.0), j)
        wait_state(base, ("stopped",))
        assert t1.counts()["total"] > 0, "the profile's host got nothing"
        eq(t2.counts()["total"], c2, "the last run's host got more")
        # a users schedule on a rate profile runs users
        st, j = api(base, "POST", "/api/v1/start", {"stages": [{"duration": 2, "users": 3, "ramp": "step"}]})
        eq((st, j["model"]), (200, "closed"), j)
        time.sleep(1.5)
        st, s = api(base, "GET", "/api/v1/state")
        eq((s["model"], s["target_users"]), ("closed", 3), s)
        wait_state(base, ("stopped",))


@test
def api_killed_worker_current_rates_and_swarm_after_stop():
    """Issue 13: a killed worker is "missing" with 0 users (the users
    column sums to the run's); /api/v1/stats has each row's current
    req/s beside the header's; /swarm right after /stop starts (no 409);
    the event stream tells proxies not to buffer it."""
    with Target() as t, Fleet() as f:
        port = free_port()
        base = "http://127.0.0.1:%d" % port
        f.master_bg("--url", t.url + "/delay?ms=20", "--expect-workers", "2",
                    "--web", "127.0.0.1:%d" % port, "-q", headless=False)
        a = f.worker("a")
        f.worker("b")
        wait_state(base, ("ready",))
        st, sw = _swarm(base, "user_count=4&spawn_rate=100")
        eq(st, 200, sw)
        time.sleep(3)
        st, s = api(base, "GET", "/api/v1/stats")
        agg_cur, cur = s["current_rps"], s["current"]["rps"]
        eq(agg_cur, cur, "Aggregated current req/s vs the header's")
        assert cur > 0, s["current"]
        eq(sum(e["current_rps"] for e in s["endpoints"]), cur, "rows' current req/s")
        assert "current_fail_per_s" in s["endpoints"][0], s["endpoints"][0]
        a.kill()
        end = time.time() + 10
        while time.time() < end:
            st, ws = api(base, "GET", "/api/v1/workers")
            wa = [w for w in ws if w["id"] == "a"][0]
            if wa["missing"]:
                break
            time.sleep(0.3)
        eq((wa["state"], wa["users"]), ("missing", 0), wa)
        assert wa["last_seen_s"] > 3, wa
        time.sleep(1.5)
        st, ws = api(base, "GET", "/api/v1/workers")
        st, s = api(base, "GET", "/api/v1/state")
        eq(sum(w["users"] for w in ws), s["users"], "users column vs the run's")
        st, lr = api(base, "GET", "/stats/requests")
        lw = {w["id"]: w for w in lr["workers"]}
        eq((lw["a"]["state"], lw["a"]["user_count"]), ("missing", 0), lw)
        eq(lr["worker_count"], 1, "Locust worker_count")
        st, sp = api(base, "GET", "/stop")
        t0 = time.time()
        st, sw = _swarm(base, "user_count=2&spawn_rate=100")
        eq((st, sw["success"]), (200, True), sw)
        assert time.time() - t0 < 9, time.time() - t0
        st, s = api(base, "GET", "/api/v1/state")
        eq(s["state"], "running", s)
        sk = socket.create_connection(("127.0.0.1", port), timeout=10)
        sk.sendall(b"GET /api/v1/events HTTP/1.1\r\nHost: x\r\n\r\n")
        head = sk.recv(4096).decode(errors="replace")
        sk.close()
        assert "X-Accel-Buffering: no" in head, head
        api(base, "GET", "/stop")
