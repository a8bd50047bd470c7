"""Generator health (issue 18, docs/metrics.md): a worker that cannot keep
up with the load asked of it is flagged, with the seconds it was saturated,
in the summary's `generator` section, on the log while it runs, in
GET /api/v1/state and in /metrics; a light run is not flagged; a worker
near its fd limit says so with the numbers.
"""
import json
import os
import resource
import subprocess
import tempfile
import time
import urllib.request

from harness import HORNET, Fleet, Target, api, eq, free_port, hornet, test


def _run(url, *args, timeout=60):
    """hornet run with --json into a temp dir; (summary, stderr)."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "out.json")
        rc, out, err = hornet("run", "--url", url, *args, "--json", path, "-q",
                              timeout=timeout)
        assert rc == 0, "hornet exit %d\nstdout:\n%s\nstderr:\n%s" % (rc, out, err)
        with open(path) as f:
            return json.load(f), err


def _check_shape(gen):
    assert isinstance(gen, dict), gen
    for k in ("saturated", "note", "workers"):
        assert k in gen, "generator.%s missing: %r" % (k, gen)
    assert len(gen["workers"]) == 1, gen
    w = gen["workers"][0]
    for k in ("worker", "cpu_pct", "lag_p50_ms", "lag_p99_ms", "lag_max_ms",
              "arrivals_late", "saturated_seconds", "seconds", "reasons", "fds"):
        assert k in w, "generator.workers[0].%s missing: %r" % (k, w)
    assert w["fds"]["limit"] > 0 and w["fds"]["open_max"] > 0, w
    assert w["lag_samples"] > 0, w
    return w


@test
def generator_saturated_when_rate_exceeds_one_thread():
    """One engine thread asked for 200k iterations/s cannot send them: the
    run is flagged saturated, names the worker and its seconds, and warns
    while it runs."""
    with Target() as t:
        s, err = _run(t.url + "/", "--threads", "1", "--rate", "200000",
                      "-t", "4s")
    w = _check_shape(s.get("generator"))
    assert s["generator"]["saturated"] is True, s["generator"]
    assert w["saturated"] is True and w["saturated_seconds"] >= 2, w
    assert w["seconds"] and all(a <= b for a, b in w["seconds"]), w
    assert set(w["reasons"]) & {"cpu", "loop_lag", "late_arrivals"}, w
    assert "include the generator's own delay" in s["generator"]["note"], s["generator"]
    assert "generator: worker " in err and "is saturated in second" in err, err
    assert "include the generator's own delay" in err, err


@test(serial=True)
def generator_not_flagged_on_a_light_run():
    """50 iterations/s is nothing for one thread: no saturated second, no
    warning, and the figures are there and small."""
    with Target() as t:
        s, err = _run(t.url + "/", "--threads", "1", "--rate", "50", "-t", "3s")
    w = _check_shape(s.get("generator"))
    assert s["generator"]["saturated"] is False, s["generator"]
    assert w["saturated_seconds"] == 0 and w["seconds"] == [], w
    assert w["cpu_pct"] < 50, w
    assert w["arrivals"] > 0, w
    assert "is saturated" not in err, err


def _gauge(text, name, worker):
    """The value of name{worker="worker",...} in an exposition, or None."""
    for line in text.splitlines():
        if line.startswith(name + "{") and 'worker="%s"' % worker in line:
            return float(line.rsplit(" ", 1)[1])
    return None


@test
def generator_saturation_reaches_metrics_state_and_master_log():
    """A worker process with one thread asked for 200k/s: /metrics has
    hornet_generator_saturated{worker="gw"} 1 and the lag/CPU gauges while
    it runs, GET /api/v1/state has the generator object, the master's log
    names the worker, and its summary's generator section names it too."""
    with Target() as t, Fleet() as f:
        port = free_port()
        base = "http://127.0.0.1:%d" % port
        mp, js, mlog = f.master_bg("--url", t.url + "/", "--rate", "200000", "-t", "6s",
                                   "--expect-workers", "1", "--web", "127.0.0.1:%d" % port,
                                   "--metrics-no-token", "-q")
        f.worker("gw")
        end, seen, state_gen = time.time() + 30, None, None
        while time.time() < end and mp.poll() is None:
            try:
                with urllib.request.urlopen(base + "/metrics", timeout=5) as r:
                    txt = r.read().decode()
                if _gauge(txt, "hornet_generator_saturated", "gw") == 1.0:
                    seen = txt
                    st, j = api(base, "GET", "/api/v1/state")
                    if st == 200 and isinstance(j, dict) and j.get("generator"):
                        state_gen = j["generator"]
                        break
            except OSError:
                pass
            time.sleep(0.3)
        assert seen, "hornet_generator_saturated{worker=\"gw\"} never became 1"
        for g in ("hornet_generator_cpu_ratio", "hornet_generator_loop_lag_p99_seconds",
                  "hornet_generator_saturated_seconds", "hornet_generator_open_fds",
                  "hornet_generator_fd_limit"):
            assert _gauge(seen, g, "gw") is not None, "%s missing:\n%s" % (g, seen[-3000:])
        assert _gauge(seen, "hornet_generator_fd_limit", "gw") > 0
        assert state_gen and state_gen["saturated"] is True, state_gen
        eq(mp.wait(60), 0, "master exit")
        with open(mlog) as fh:
            log = fh.read()
        assert "generator: worker gw is saturated in second" in log, log[-3000:]
        with open(js) as fh:
            s = json.load(fh)
        w = [w for w in s["generator"]["workers"] if w["worker"] == "gw"]
        assert w and w[0]["saturated_seconds"] >= 2, s["generator"]


@test
def generator_says_when_fds_near_their_limit():
    """A worker held to 128 descriptors with 110 users: the same channel
    says it is near its fd limit, with the numbers, on the log and in the
    summary (and that requests failed for lack of fds)."""
    def low_nofile():
        resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))

    with Target() as t, tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "out.json")
        p = subprocess.run([HORNET, "run", "--url", t.url + "/", "--threads", "1",
                            "-u", "110", "-t", "3s", "--json", path, "-q"],
                           capture_output=True, text=True, timeout=60,
                           preexec_fn=low_nofile)
        assert os.path.exists(path), p.stderr[-3000:]
        with open(path) as f:
            s = json.load(f)
    gen = s["generator"]
    assert gen["fd_pressure"] is True, gen
    w = gen["workers"][0]
    eq(w["fds"]["limit"], 128, "fd limit")
    assert w["fds"]["near_limit"] is True and w["fds"]["open_max"] >= 103, w
    assert "is near its file descriptor limit: " in p.stderr, p.stderr[-3000:]
    assert "of 128 open" in p.stderr, p.stderr[-3000:]
