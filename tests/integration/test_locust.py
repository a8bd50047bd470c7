"""Locust drop-in: the endpoint assertions of Locust 2.12's own
locust/test/test_web.py, ported to run against hornet's master (one
worker, the stand-in target). Each check names the Locust test it comes
from. Where Locust's test feeds its stats directly (log_request), the
same figures come from real requests here: 120 ms from /delay?ms=120.
What differs by design is said where it is checked (the report's title,
/exceptions being always empty: hornet runs no user code that raises).
"""
import csv
import io
import json
import os
import time
import urllib.error
import urllib.request

from harness import Fleet, Target, api, eq, free_port, test, wait_state, write


def _get(base, path):
    """GET; returns (status, headers, text)."""
    try:
        with urllib.request.urlopen(base + path, timeout=15) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def _swarm(base, form):
    req = urllib.request.Request(base + "/swarm", data=form.encode(), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _csv_headers(h, prefix):
    """test_web.py _check_csv_headers: text/csv, an attachment named
    PREFIX_..."""
    assert "text/csv" in h.get("Content-Type", ""), dict(h)
    disp = h.get("Content-disposition", "")
    assert "attachment" in disp and ("filename=" + prefix) in disp, disp


def _fleet(f, *args):
    port = free_port()
    base = "http://127.0.0.1:%d" % port
    f.master_bg(*args, "--expect-workers", "1", "--web", "127.0.0.1:%d" % port, "-q",
                headless=False)
    f.worker("a")
    wait_state(base, ("ready",))
    return base


@test
def locust_web_stats_endpoints():
    """test_index, test_stats_no_data, test_stats, test_stats_rounding,
    test_request_stats_csv, test_request_stats_full_history_csv_not_present,
    test_failure_stats_csv, test_request_stats_with_errors,
    test_reset_stats, test_exceptions, test_exceptions_csv, test_tasks
    (shape), test_report_page, test_report_page_empty_stats,
    test_report_download, test_report_host."""
    with Target() as t, Fleet() as f:
        scen = write(os.path.join(f.dir, "s.yaml"), """
host: %s
load: {users: 1, think_time: 0s}
tasks:
  - {name: "/<html>", path: "/delay?ms=120", weight: 3}
  - {name: "/fail", path: "/status/500", weight: 1}
""" % t.url)
        base = _fleet(f, scen)
        st, h, txt = _get(base, "/")
        eq(st, 200, "test_index")
        # test_stats_no_data (+ the issue: null current percentiles, "ready")
        st, h, txt = _get(base, "/stats/requests")
        eq(st, 200, "test_stats_no_data")
        d = json.loads(txt)
        eq(d["state"], "ready", d)
        eq(d["user_count"], 0, d)
        eq(d["current_response_time_percentile_50"], None, d)
        eq(d["current_response_time_percentile_95"], None, d)
        # test_report_page_empty_stats
        st, h, txt = _get(base, "/stats/report")
        eq(st, 200, "test_report_page_empty_stats")
        assert "<title>" in txt and "text/html" in h["Content-Type"], txt[:200]
        # a run: 120 ms requests plus failing ones
        st, sw = _swarm(base, "user_count=2&spawn_rate=100&run_time=5s")
        eq((st, sw["success"]), (200, True), sw)
        time.sleep(3.5)  # the timeline waits up to 2.5 s for every worker
        st, h, txt = _get(base, "/stats/requests")
        d = json.loads(txt)
        assert d["current_response_time_percentile_50"] is not None, d
        assert set(d["current_response_time_percentiles"]) == {
            "response_time_percentile_0.5", "response_time_percentile_0.95"}, d
        eq(d["worker_count"], 1, "worker_count")
        w = d["workers"][0]
        for k in ("id", "state", "user_count", "cpu_usage", "memory_usage"):
            assert k in w, (k, w)
        wait_state(base, ("stopped",))
        # test_stats: one row per endpoint, then Aggregated
        st, h, txt = _get(base, "/stats/requests")
        eq(st, 200, "test_stats")
        d = json.loads(txt)
        eq(len(d["stats"]), 3, "two endpoints plus Aggregated")
        row = d["stats"][0]
        eq(row["name"], "/<html>", "name")
        eq(row["safe_name"], "/&lt;html&gt;", "safe_name")
        eq(row["method"], "GET", "method")
        assert 119 <= row["avg_response_time"] < 160, row
        agg = d["stats"][-1]
        eq(agg["name"], "Aggregated", "last row")
        eq(agg["num_requests"], sum(r["num_requests"] for r in d["stats"][:-1]), "total")
        # test_stats_rounding: whole-ms min and max
        for r in d["stats"]:
            assert isinstance(r["min_response_time"], int), r
            assert isinstance(r["max_response_time"], int), r
        assert row["min_response_time"] >= 120, row
        for k in ("current_rps", "current_fail_per_sec", "median_response_time",
                  "ninetieth_response_time", "ninety_ninth_response_time",
                  "avg_content_length", "num_failures"):
            assert k in row, k
        for k in ("total_rps", "fail_ratio", "errors", "state", "user_count", "workers"):
            assert k in d, k
        # avg_content_length is the body's bytes only, as Locust's
        # len(response.content): the target answers /delay with "ok\n" and
        # /status/500 with "status 500\n" (headers not counted)
        eq(row["avg_content_length"], 3.0, "avg_content_length of /<html>")
        eq(d["stats"][1]["avg_content_length"], 11.0, "avg_content_length of /fail")
        n0, n1 = row["num_requests"], d["stats"][1]["num_requests"]
        assert abs(agg["avg_content_length"] - (3.0 * n0 + 11.0 * n1) / (n0 + n1)) < 1e-9, agg
        # test_request_stats_with_errors
        assert d["errors"] and "500" in txt, d["errors"]
        e = d["errors"][0]
        eq(sorted(e), ["error", "method", "name", "occurrences"], e)
        # test_request_stats_csv, test_failure_stats_csv
        st, h, txt = _get(base, "/stats/requests/csv")
        eq(st, 200, "test_request_stats_csv")
        _csv_headers(h, "requests")
        rows = list(csv.reader(io.StringIO(txt)))
        eq(rows[0][:4], ["Type", "Name", "Request Count", "Failure Count"], rows[0])
        size = rows[0].index("Average Content Size")
        eq([(r[1], r[size]) for r in rows[1:3]], [("/<html>", "3.00"), ("/fail", "11.00")],
           "the CSV's content size is the body's too")
        st, h, txt = _get(base, "/stats/failures/csv")
        eq(st, 200, "test_failure_stats_csv")
        _csv_headers(h, "failures")
        rows = list(csv.reader(io.StringIO(txt)))
        eq(rows[0], ["Method", "Name", "Error", "Occurrences"], rows[0])
        assert len(rows) >= 2, rows
        st, h, txt = _get(base, "/stats/requests_full_history/csv")
        eq(st, 404, "test_request_stats_full_history_csv_not_present")
        # test_exceptions, test_exceptions_csv (never any: no user code)
        st, h, txt = _get(base, "/exceptions")
        eq((st, json.loads(txt)), (200, {"exceptions": []}), "test_exceptions")
        st, h, txt = _get(base, "/exceptions/csv")
        eq(st, 200, "test_exceptions_csv")
        _csv_headers(h, "exceptions")
        eq(list(csv.reader(io.StringIO(txt))), [["Count", "Message", "Traceback", "Nodes"]],
           "exceptions CSV")
        # /tasks: Locust's per_class/total ratios
        st, h, txt = _get(base, "/tasks")
        d = json.loads(txt)
        eq(sorted(d), ["per_class", "total"], d)
        cls = d["per_class"]["default"]
        eq(round(cls["tasks"]["/<html>"]["ratio"], 3), 0.75, cls)
        # test_report_page, test_report_host, test_report_download
        st, h, txt = _get(base, "/stats/report")
        eq(st, 200, "test_report_page")
        assert t.url in txt, "test_report_host"
        assert "attachment" not in h.get("Content-Disposition", ""), dict(h)
        st, h, txt = _get(base, "/stats/report?download=1")
        eq(st, 200, "test_report_download")
        assert "attachment" in h.get("Content-Disposition", ""), dict(h)
        # test_reset_stats
        st, h, txt = _get(base, "/stats/reset")
        eq((st, txt), (200, "ok"), "test_reset_stats")
        d = json.loads(_get(base, "/stats/requests")[2])
        eq([r["num_requests"] for r in d["stats"]], [0, 0, 0], "after reset")
        eq(d["errors"], [], "errors after reset")
        # percentiles of no data are 0 as in Locust's rows
        eq(d["stats"][0]["median_response_time"], 0, d["stats"][0])


@test
def locust_web_swarm():
    """test_swarm_host_value_specified, test_swarm_userclass_specified
    (unknown fields ignored), test_swarm_custom_argument,
    test_swarm_host_value_not_specified, test_swarm_run_time,
    test_swarm_run_time_invalid_input, test_swarm_run_time_empty_input;
    the issue's "spawning" state and success/message in every error."""
    with Target() as t, Target() as t2, Fleet() as f:
        base = _fleet(f, "--url", t.url + "/delay?ms=10")
        # test_swarm_run_time_invalid_input: 200, success false, still ready
        st, j = _swarm(base, "user_count=1&spawn_rate=1&host=%s&run_time=bad" % t.url)
        eq((st, j["success"]), (200, False), j)
        eq(j["message"], "Valid run_time formats are : 20, 20s, 3m, 2h, 1h20m, 3h30m10s, "
           "etc.", j)
        eq(json.loads(_get(base, "/stats/requests")[2])["state"], "ready", "after bad run_time")
        # test_swarm_host_value_not_specified: null with --url and no --host
        st, j = _swarm(base, "user_count=1&spawn_rate=1")
        eq((st, j["host"]), (200, None), j)
        eq(_get(base, "/stop")[0], 200, "stop")
        # issue 13: stopped before its start time, it used to stay
        # "stopping" for --stop-timeout + 5 s waiting for workers that
        # never began it
        wait_state(base, ("stopped",), timeout=3)
        # test_swarm_host_value_specified (+ user_classes, shape_class and a
        # custom argument, which Locust ignores here too)
        st, j = _swarm(base, "user_count=1&spawn_rate=1&host=%s&user_classes=User1"
                       "&shape_class=Default&my_argument=42" % t2.url)
        eq((st, j["success"], j["host"]), (200, True, t2.url), j)
        st, j = api(base, "GET", "/stop")
        eq(j["message"], "Test stopped", j)
        wait_state(base, ("stopped",))
        st, j = _swarm(base, "user_count=1&spawn_rate=1&host=%s/other" % t2.url)
        eq((st, j["host"]), (200, t2.url + "/other"), j)
        api(base, "GET", "/stop")
        wait_state(base, ("stopped",))
        # test_swarm_run_time: echoed in seconds, stopped after it
        st, j = _swarm(base, "user_count=1&spawn_rate=1&host=%s&run_time=1s" % t.url)
        eq((st, j["host"], j["run_time"]), (200, t.url, 1), j)
        time.sleep(2.5)
        eq(json.loads(_get(base, "/stats/requests")[2])["state"], "stopped", "after run_time")
        # test_swarm_run_time_empty_input: runs until stopped
        st, j = _swarm(base, "user_count=4&spawn_rate=1&host=%s&run_time=" % t.url)
        eq((st, j["success"]), (200, True), j)
        assert "run_time" not in j, j
        time.sleep(1.2)
        d = json.loads(_get(base, "/stats/requests")[2])
        eq(d["state"], "spawning", "users ramping at 1/s")
        end = time.time() + 10
        while time.time() < end:
            d = json.loads(_get(base, "/stats/requests")[2])
            if d["state"] != "spawning":
                break
            time.sleep(0.3)
        eq((d["state"], d["user_count"]), ("running", 4), d)
        # errors: success false and a message, beside hornet's error/field
        st, j = _swarm(base, "spawn_rate=1")
        eq((st, j["success"], j["field"]), (400, False, "user_count"), j)
        assert j["message"], j
        api(base, "GET", "/stop")
        wait_state(base, ("stopped",))


def _locust_window(points, key):
    """Locust's StatsEntry.current_rps (stats.py) over hornet's timeline:
    the mean of seconds L-12 .. L-3 (not before the start), L the last
    second with a request; 0 with none."""
    sec = {int(round(p["t"])) - 1: p for p in points}  # point t covers t-1..t
    with_req = [k for k, p in sec.items() if p["rps"] > 0]
    if not with_req:
        return 0.0
    last = max(with_req)
    window = list(range(max(last - 12, 0), last - 2))
    return sum(sec[k][key] if k in sec else 0 for k in window) / max(len(window), 1)


@test
def locust_current_rps_is_locusts_window():
    """Issue 13: /stats/requests' current_rps, current_fail_per_sec and
    total_rps are Locust's windowed figures (the mean of the 10 seconds
    ending 3 s before the last second with a request), not the last
    second; /api/v1/stats keeps hornet's last second. The load goes up 5x
    mid-run: the last second follows at once, Locust's figure lags."""
    with Target() as t, Fleet() as f:
        scen = write(os.path.join(f.dir, "s.yaml"), """
host: %s
load: {users: 1, think_time: 100ms}
tasks:
  - {name: ok, path: /, weight: 3}
  - {name: fail, path: /status/500, weight: 1}
""" % t.url)
        base = _fleet(f, scen)
        st, j = api(base, "POST", "/api/v1/start", {"users": 1})
        eq(st, 200, j)
        time.sleep(14)
        st, j = api(base, "POST", "/api/v1/load", {"users": 5})
        eq(st, 200, j)
        time.sleep(4.5)
        # one consistent look: no new second between the calls
        for _ in range(20):
            st, t1 = api(base, "GET", "/api/v1/timeseries")
            d = json.loads(_get(base, "/stats/requests")[2])
            st, hs = api(base, "GET", "/api/v1/stats")
            st, t2 = api(base, "GET", "/api/v1/timeseries")
            if len(t1) == len(t2):
                break
            time.sleep(0.2)
        eq(len(t1), len(t2), "a second came between the calls every time")
        want_rps = _locust_window(t1, "rps")
        want_fail = _locust_window(t1, "fails_per_s")
        agg = d["stats"][-1]
        eq(agg["name"], "Aggregated", "last row")
        assert abs(agg["current_rps"] - want_rps) < 1e-6, (agg["current_rps"], want_rps, t1)
        assert abs(agg["current_fail_per_sec"] - want_fail) < 1e-6, (agg, want_fail, t1)
        assert abs(d["total_rps"] - want_rps) < 1e-6, (d["total_rps"], want_rps)
        rows = d["stats"][:-1]
        assert abs(sum(r["current_rps"] for r in rows) - want_rps) < 1e-6, rows
        assert abs(sum(r["current_fail_per_sec"] for r in rows) - want_fail) < 1e-6, rows
        assert want_fail > 0, t1
        # the rate went up 5x: the last second shows it, Locust's window not yet
        last = t1[-1]["rps"]
        assert last > 2 * want_rps, (last, want_rps, [p["rps"] for p in t1])
        eq(hs["current_rps"], last, "/api/v1/stats: the last second")
        assert d["current_response_time_percentile_50"] is not None, d
        assert d["current_response_time_percentile_95"] >= d["current_response_time_percentile_50"], d
        api(base, "POST", "/api/v1/stop")
        wait_state(base, ("stopped",))
