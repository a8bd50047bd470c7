"""What a run leaves behind and how it is judged (issue 12): thresholds and
exit code 3, abort, windows, baseline gates, --out DIR with Locust's CSVs,
the HTML report, the .hlog, `hornet report` and `hornet compare`."""
import csv
import io
import json
import os
import subprocess
import tempfile
import time

from harness import ROOT, Target, eq, hornet, test, write, SKIPPED

# Locust 2.x's header rows, from locust/stats.py (requests_csv_columns,
# stats_history_csv_columns, failures_csv_columns, exceptions_csv_columns
# of StatsCSV): the same from 2.0 through 2.43, Debian 12's 2.12.1 included.
PCT = ["50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%"]
LOCUST_STATS = ["Type", "Name", "Request Count", "Failure Count", "Median Response Time",
                "Average Response Time", "Min Response Time", "Max Response Time",
                "Average Content Size", "Requests/s", "Failures/s"] + PCT
LOCUST_HISTORY = (["Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s"] + PCT +
                  ["Total Request Count", "Total Failure Count", "Total Median Response Time",
                   "Total Average Response Time", "Total Min Response Time",
                   "Total Max Response Time", "Total Average Content Size"])
LOCUST_FAILURES = ["Method", "Name", "Error", "Occurrences"]
LOCUST_EXCEPTIONS = ["Count", "Message", "Traceback", "Nodes"]


def run_out(*args, timeout=60):
    """hornet run ... --out DIR -q: (rc, stdout, stderr, DIR, summary)."""
    d = tempfile.mkdtemp(prefix="hornet-out-")
    rc, out, err = hornet("run", *args, "--out", d, "-q", timeout=timeout)
    summary = None
    p = os.path.join(d, "summary.json")
    if os.path.exists(p):
        with open(p) as f:
            summary = json.load(f)
    return rc, out, err, d, summary


def rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


@test
def threshold_breach_exits_3_and_a_met_one_0():
    with Target() as t:
        rc, out, err, _, s = run_out("--url", t.url + "/", "-u", "2", "-t", "2s",
                                     "--threshold", "p95 < 1us",
                                     "--threshold", "error_rate < 1%")
        eq(rc, 3, "exit code with a breached threshold\n" + err)
        eq([x["ok"] for x in s["thresholds"]], [False, True], "verdicts")
        eq(s["thresholds"][0]["expr"], "p95 < 1us", "expression kept as given")
        assert s["thresholds"][0]["observed"] > 1, s["thresholds"]
        assert "FAIL p95 < 1us" in out and "ok   error_rate < 1%" in out, out
        rc, out, err, _, s = run_out("--url", t.url + "/", "-u", "2", "-t", "2s",
                                     "--threshold", "p95 < 10s", "--threshold", "requests > 10")
        eq(rc, 0, "exit code when every threshold holds\n" + err)
        assert all(x["ok"] for x in s["thresholds"]), s["thresholds"]


@test(once=True)
def bad_threshold_is_a_usage_error_naming_its_place():
    with tempfile.TemporaryDirectory() as d:
        rc, _, err = hornet("run", "--url", "http://127.0.0.1:1/", "--threshold", "p95 < 500",
                            timeout=10)
        eq(rc, 2, "exit code")
        assert "--threshold 'p95 < 500'" in err and "unit" in err, err
        path = write(os.path.join(d, "t.yaml"),
                     "host: http://127.0.0.1:1\ntasks:\n  - path: /\nthresholds:\n"
                     "  - p95 < 500ms\n  - 'GET /: p100 < 1s'\n")
        rc, _, err = hornet("run", path, timeout=10)
        eq(rc, 2, "exit code")
        assert path + ":6:" in err and "p100" in err, err
        path = write(os.path.join(d, "u.yaml"),
                     "host: http://127.0.0.1:1\ntasks:\n  - path: /\nthresholds:\n"
                     "  - 'POST /nothing: p95 < 1s'\n")
        rc, _, err = hornet("check", path, timeout=10)
        eq(rc, 2, "check refuses a scope no request has")
        assert "POST /nothing" in err, err
        rc2, _, err2 = hornet("run", path, "-t", "1s", timeout=10)
        eq(rc2, 2, "a scope no request has is refused before the run")
        assert "POST /nothing" in err2, err2


@test
def abort_stops_the_run_early():
    with Target() as t:
        t0 = time.monotonic()
        rc, out, err, _, s = run_out("--url", t.url + "/status/500", "-u", "2", "-t", "30s",
                                     "--threshold", "error_rate < 1% abort after 2s",
                                     timeout=60)
        took = time.monotonic() - t0
        eq(rc, 3, "exit code\n" + err)
        assert took < 15, "the run went on for %.1f s" % took
        assert s["duration_s"] < 10, s["duration_s"]
        eq(s["thresholds"][0]["aborted"], True, "aborted")
        assert "stopping the run" in err, err


@test(serial=True)
def window_threshold_catches_a_stall_second():
    """A 200 ms server stall in a 15 s open-model run at 300/s: ~60 arrivals
    wait for it (latency measured from when each was due), 30 of them over
    100 ms. That is 0.7% of the run, so the whole-run p99 stays low; in the
    2 s window around the stall it is 5%, so that window's p99 is high."""
    import threading
    with Target() as t:
        def stall():
            time.sleep(5)
            t.post("/__stall?ms=200")
        th = threading.Thread(target=stall)
        th.start()
        rc, out, err, _, s = run_out("--url", t.url + "/", "--rate", "300", "-t", "15s",
                                     "--threshold", "p99 < 100ms",
                                     "--threshold", "p99 over 2s < 100ms", timeout=60)
        th.join()
        by = {x["expr"]: x for x in s["thresholds"]}
        eq(by["p99 < 100ms"]["ok"], True, "whole-run p99 %r" % by["p99 < 100ms"])
        eq(by["p99 over 2s < 100ms"]["ok"], False, "windowed p99 %r" % by["p99 over 2s < 100ms"])
        assert by["p99 over 2s < 100ms"]["observed"] >= 100000, by
        eq(rc, 3, "exit code")


@test
def baseline_gate_fails_a_slower_run():
    with Target() as t:
        rc, _, err, base, s0 = run_out("--url", t.url + "/delay?ms=5", "-u", "4", "-t", "3s")
        eq(rc, 0, "baseline run\n" + err)
        # the same speed passes wide gates
        rc, out, err, _, s1 = run_out("--url", t.url + "/delay?ms=5", "-u", "4", "-t", "3s",
                                      "--baseline", base, "--baseline-gate", "p95=200%",
                                      "--baseline-gate", "rps=50%")
        eq(rc, 0, "same speed, wide gates\n" + out + err)
        eq(s1["baseline"]["ok"], True, "verdict")
        # 40 ms instead of 5 fails the default gates (p95 +10%, rps -10%)
        rc, out, err, _, s2 = run_out("--url", t.url + "/delay?ms=40", "-u", "4", "-t", "3s",
                                      "--baseline", os.path.join(base, "summary.json"))
        eq(rc, 3, "slower run against the baseline\n" + out + err)
        gates = {(g["scope"], g["metric"]): g for g in s2["baseline"]["gates"]}
        assert not gates[("total", "p95")]["ok"] and gates[("total", "p95")]["change_pct"] > 100, gates
        assert not gates[("total", "rps")]["ok"], gates
        assert "Baseline" in out and "FAILED" in out, out
        # hornet compare prints both side by side
        rc, out, err = hornet("compare", base, os.path.join(base, "summary.json"), "--json")
        eq(rc, 0, "compare\n" + err)
        cmp = json.loads(out)
        eq(cmp["rows"][0]["scope"], "total", "first row")
        eq(cmp["rows"][0]["change_pct"]["requests"], 0.0, "a run against itself")
        rc, out, err = hornet("compare", base, "/nonexistent/summary.json")
        eq(rc, 2, "compare with a missing file")
        assert "/nonexistent/summary.json" in err, err


@test
def report_reproduces_a_run_whose_host_came_from_host_flag():
    """A file without host: runs with --host; hornet report DIR must decode
    its scenario with the host the run used (it failed: "no host is set")."""
    with Target() as t:
        sc = write(os.path.join(tempfile.mkdtemp(prefix="hornet-nohost-"), "s.yaml"),
                   "tasks:\n  - task: a\n    path: /\n")
        rc, out, err, d, s = run_out(sc, "--host", t.url, "-u", "2", "-t", "2s")
        eq(rc, 0, "run\n" + err)
        with open(os.path.join(d, "summary.json"), "rb") as f:
            before = f.read()
        os.remove(os.path.join(d, "summary.json"))
        rc, out2, err = hornet("report", d)
        eq(rc, 0, "hornet report\n" + err)
        with open(os.path.join(d, "summary.json"), "rb") as f:
            eq(f.read(), before, "summary.json rendered again, byte for byte")
        eq(s["requests"], t.counts()["total"], "= what the target served")


@test
def out_dir_has_locust_csvs_html_hlog_and_report_reproduces_it():
    with Target() as t:
        rc, out, err, d, s = run_out("--url", t.url + "/", "-u", "3", "-t", "3s",
                                     "--csv-full-history", "--threshold", "p99 < 5s")
        eq(rc, 0, "run\n" + err)
        for name in ("summary.json", "stats.csv", "stats_history.csv", "failures.csv",
                     "exceptions.csv", "report.html", "run.hlog", "run.hnr"):
            assert os.path.exists(os.path.join(d, name)), name
        st = rows(os.path.join(d, "stats.csv"))
        eq(st[0], LOCUST_STATS, "stats.csv header")
        eq(st[-1][1], "Aggregated", "last row")
        eq(int(st[-1][2]), s["requests"], "Aggregated request count = summary")
        eq(int(st[-1][2]), t.counts()["total"], "= what the target served")
        hist = rows(os.path.join(d, "stats_history.csv"))
        eq(hist[0], LOCUST_HISTORY, "stats_history.csv header")
        agg = [r for r in hist[1:] if r[3] == "Aggregated"]
        assert len(agg) >= 3 and len(hist) - 1 == 2 * len(agg), len(hist)
        eq(int(agg[-1][17]), s["requests"], "last history row's total count")
        eq(rows(os.path.join(d, "failures.csv"))[0], LOCUST_FAILURES, "failures.csv header")
        eq(rows(os.path.join(d, "exceptions.csv"))[0], LOCUST_EXCEPTIONS, "exceptions.csv")
        try:
            import locust.stats as ls   # cross-check with Locust itself when installed
            for mine, theirs in ((LOCUST_STATS, "requests_csv_columns"),):
                if hasattr(ls.StatsCSV, theirs):
                    eq(mine, list(getattr(ls.StatsCSV, theirs)), theirs)
        except ImportError:
            pass
        with open(os.path.join(d, "summary.json"), "rb") as f:
            before = f.read()
        os.remove(os.path.join(d, "summary.json"))
        rc, out2, err = hornet("report", d)
        eq(rc, 0, "hornet report\n" + err)
        with open(os.path.join(d, "summary.json"), "rb") as f:
            eq(f.read(), before, "summary.json rendered again, byte for byte")
        assert "Aggregated" in out2 and "Thresholds:" in out2, out2
        rc, _, err = hornet("report", "/nonexistent")
        eq(rc, 2, "report of a directory without a run")
        html = open(os.path.join(d, "report.html")).read()
        assert 'id="hornet-data"' in html, "the summary is embedded"
        # self-contained: nothing loaded from anywhere (scripts, styles, images)
        import re
        eq(re.findall(r'<(?:script|link|img)[^>]+(?:src|href)=', html), [], "external loads")
        data = html.split('id="hornet-data">', 1)[1].split("</script>", 1)[0]
        eq(json.loads(data.replace("<\\/", "</"))["requests"], s["requests"],
           "the embedded summary is the run's")


@test
def hlog_decodes_with_hdr_histogram_js_to_the_summary_p99():
    node_mod = os.path.join(ROOT, "node_modules", "hdr-histogram-js")
    if not os.path.isdir(node_mod):
        SKIPPED.append("hdr-histogram-js not installed (npm ci)")
        return
    with Target() as t:
        rc, out, err, d, s = run_out("--url", t.url + "/delay?ms=2", "-u", "8", "-t", "3s")
        eq(rc, 0, "run\n" + err)
        p = subprocess.run(["node", os.path.join(ROOT, "tests", "hlog", "check.mjs"),
                            os.path.join(d, "run.hlog")], capture_output=True, text=True,
                           timeout=60)
        eq(p.returncode, 0, "check.mjs\n" + p.stdout + p.stderr)
        tags = {}
        for l in p.stdout.splitlines():
            if l.startswith("{"):
                r = json.loads(l)
                tags[r["tag"]] = r
        assert "-" in tags, p.stdout      # the untagged intervals: every request
        eq(tags["-"]["count"], s["requests"], "requests in the log")
        p99_us = tags["-"]["p99"]["capped"]
        eq(p99_us / 1000.0, s["latency_ms"]["p99"], "p99 of the decoded log vs summary")


@test
def disk_errors_are_reported_and_the_run_still_reports():
    with Target() as t:
        rc, out, err = hornet("run", "--url", t.url + "/", "-u", "1", "-t", "1s", "-q",
                              "--out", "/proc/hornet-cannot", "--json", "/dev/full")
        eq(rc, 1, "exit code\n" + err)
        assert "/proc/hornet-cannot" in err and "/dev/full" in err, err
        assert "Aggregated" in out, "the table is printed anyway"
        eq(t.counts()["total"] > 0, True, "the run ran")
