"""GET /metrics (docs/metrics.md): Prometheus' text format from a
distributed run, checked by promtool and scraped by a real Prometheus
server (Debian's prometheus package) on 127.0.0.1, whose sums must equal
hornet's totals and what the target served; the token rule.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from harness import (ROOT, SKIPPED, Fleet, Target, api, eq, free_port, test, wait_state,
                     write)

TOKEN = "metrics-test-token"

# Three endpoints, two tags, failures (the target's /flaky answers 500 at
# random) and a name that needs escaping in a label value.
SCENARIO = """\
tasks:
  - task: home
    weight: 3
    path: /
    tag: {tenant: A}
  - task: flaky
    path: /flaky?fail=0.2
    name: '/flaky "odd" \\ name'
    tag: {tenant: B}
  - task: slow
    path: /delay?ms=20
"""
ODD_NAME = '/flaky "odd" \\ name'

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')


def _labels(s):
    """k="v",... with the format's escapes, as a dict."""
    out, i = {}, 0
    while i < len(s):
        eq_at = s.index("=", i)
        key = s[i:eq_at]
        assert s[eq_at + 1] == '"', s
        j, val = eq_at + 2, []
        while s[j] != '"':
            if s[j] == "\\":
                val.append({"n": "\n", "\\": "\\", '"': '"'}[s[j + 1]])
                j += 2
            else:
                val.append(s[j])
                j += 1
        out[key] = "".join(val)
        i = j + 1
        if i < len(s):
            assert s[i] == ",", s
            i += 1
    return out


def parse(text):
    """[(name, labels, value)] of every sample."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        out.append((m.group(1), _labels(m.group(2) or ""), float(m.group(3))))
    return out


def total(samples, metric, **match):
    """The sum of metric's samples whose labels include match."""
    return sum(v for (n, l, v) in samples
               if n == metric and all(l.get(k) == w for k, w in match.items()))


def get_metrics(base, token=None, query=""):
    """(status, text, content type) of GET /metrics."""
    req = urllib.request.Request(base + "/metrics" + query)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode(), r.headers.get("Content-Type")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers.get("Content-Type")


def promtool_check(text):
    """promtool check metrics on the text: it must parse it and find no lint
    problem (it prints each one and exits 1)."""
    p = subprocess.run(["promtool", "check", "metrics"], input=text,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and not p.stdout.strip() and not p.stderr.strip(), \
        "promtool check metrics (exit %d):\n%s%s" % (p.returncode, p.stdout, p.stderr)


def check_exposition(text):
    """What promtool does not check: every histogram is cumulative, +Inf is
    _count, requests by class add up to the histogram's count."""
    s = parse(text)
    series = {}
    for (n, l, v) in s:
        if n == "hornet_request_duration_seconds_bucket":
            key = tuple(sorted((k, x) for k, x in l.items() if k != "le"))
            series.setdefault(key, []).append((l["le"], v))
    assert series, "no histogram series"
    for key, buckets in series.items():
        counts = [v for (_, v) in buckets]
        assert counts == sorted(counts), (key, buckets)
        eq(buckets[-1][0], "+Inf", "last bucket")
        lab = dict(key)
        eq(buckets[-1][1], total(s, "hornet_request_duration_seconds_count", **lab),
           "+Inf bucket vs _count")
        eq(total(s, "hornet_requests_total", **lab),
           total(s, "hornet_request_duration_seconds_count", **lab),
           "requests by status class vs histogram count")
    return s


class Prometheus:
    """A Prometheus server on 127.0.0.1 with its own config and data dir,
    scraping one target every second; killed on close."""

    def __init__(self, target, workdir):
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        cfg = write(os.path.join(workdir, "prometheus.yml"), """\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: hornet
    static_configs:
      - targets: ['%s']
""" % target)
        self.log = open(os.path.join(workdir, "prometheus.log"), "w")
        self.proc = subprocess.Popen(
            ["prometheus", "--config.file=" + cfg,
             "--storage.tsdb.path=" + os.path.join(workdir, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT)
        end = time.time() + 30
        while time.time() < end:
            assert self.proc.poll() is None, "prometheus exited: see " + self.log.name
            try:
                with urllib.request.urlopen(self.base + "/-/ready", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError("prometheus not ready within 30 s")

    def query_all(self, q):
        """The result vector of an instant query (it must parse)."""
        url = self.base + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                j = json.loads(r.read())
        except urllib.error.HTTPError as e:
            raise AssertionError("Prometheus refused %r: %s" % (q, e.read().decode()))
        eq(j["status"], "success", j)
        return j["data"]["result"]

    def query(self, q):
        """The value of an instant query with one result, or None."""
        res = self.query_all(q)
        return float(res[0]["value"][1]) if res else None

    def wait_for(self, q, want, timeout=15):
        end, got = time.time() + timeout, None
        while time.time() < end:
            got = self.query(q)
            if got == want:
                return got
            time.sleep(0.5)
        raise AssertionError("Prometheus: %s = %r, expected %r" % (q, got, want))

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def check_dashboard(prom):
    """Every query of deploy/grafana/hornet.json runs on this Prometheus
    (Grafana's variables filled in); the main panels have data."""
    with open(os.path.join(ROOT, "deploy", "grafana", "hornet.json")) as fh:
        dash = json.load(fh)
    empty = []
    for p in dash["panels"]:
        for t in p["targets"]:
            q = (t["expr"].replace("$__rate_interval", "1m")
                 .replace("$job", ".*").replace("$instance", ".*"))
            if not prom.query_all(q):
                empty.append(p["title"])
    for title in ("Requests/s", "Requests per second by endpoint", "Users", "Workers",
                  "Worker CPU (cores)", "Latency percentiles from the histogram"):
        assert title not in empty, "dashboard panel %r has no data" % title


def _no_prometheus():
    missing = [b for b in ("prometheus", "promtool") if not shutil.which(b)]
    if missing:
        SKIPPED.append("%s not found: the Debian package prometheus is not "
                       "installed (deploy/install-deps.sh installs it)" % " and ".join(missing))
        return True
    return False


@test
def metrics_scraped_by_prometheus_equal_the_target_count():
    """Interactive master + 2 workers, open model: /metrics mid-run and at
    the end passes promtool check metrics; a real Prometheus scraping it
    every second ends with sum(hornet_requests_total) equal to hornet's
    total and the target's count; a stats reset from the API leaves every
    counter where it was (Prometheus sees no counter reset)."""
    if _no_prometheus():
        return
    with Target() as t, Fleet() as f:
        port = free_port()
        base = "http://127.0.0.1:%d" % port
        scen = write(os.path.join(f.dir, "s.yaml"), SCENARIO)
        f.master_bg(scen, "--host", t.url, "--expect-workers", "2",
                    "--web", "127.0.0.1:%d" % port, "--web-token", TOKEN,
                    "--metrics-no-token", "-q", headless=False)
        f.worker("a")
        f.worker("b")
        wait_state(base, ("ready",), token=TOKEN)
        # the API keeps its token; /metrics is open to this (loopback) client
        st, _ = api(base, "GET", "/api/v1/state")
        eq(st, 401, "API without the token")
        st, txt, ctype = get_metrics(base)
        eq(st, 200, txt)
        assert ctype.startswith("text/plain; version=0.0.4"), ctype
        promtool_check(txt)
        assert "hornet_requests_total" not in txt, "request series before any run"
        prom = Prometheus("127.0.0.1:%d" % port, f.dir)
        try:
            prom.wait_for('up{job="hornet"}', 1.0)
            st, j = api(base, "POST", "/api/v1/start", {"rate": 150, "duration": "6s"},
                        token=TOKEN)
            eq(st, 200, j)
            run = str(j["run"])
            # mid-run, once the timeline has seconds for the recent window
            end = time.time() + 8
            while True:
                st, txt, _ = get_metrics(base)
                eq(st, 200, txt)
                if ('hornet_run_state{state="running"} 1\n' in txt and
                        "hornet_recent_request_duration_seconds{" in txt) or time.time() > end:
                    break
                time.sleep(0.5)
            promtool_check(txt)
            s = check_exposition(txt)
            eq(total(s, "hornet_run_state", state="running"), 1.0, "running")
            eq(total(s, "hornet_workers_connected"), 2.0, "workers connected")
            eq(total(s, "hornet_asked_iterations_per_second"), 150.0, "asked rate")
            assert total(s, "hornet_achieved_iterations_per_second") > 100, txt
            assert len([1 for (n, l, v) in s if n == "hornet_worker_cpu_cores"]) == 2
            p99 = [v for (n, l, v) in s if n == "hornet_recent_request_duration_seconds"
                   and l["percentile"] == "99"]
            assert p99 and 0.02 <= p99[0] < 5, ("p99 of the last 10 s", p99)
            tags = {l["tag"] for (n, l, v) in s
                    if n == "hornet_tag_recent_request_duration_seconds"}
            eq(tags, {"tenant=A", "tenant=B"}, "recent percentiles per tag")
            assert {l["run"] for (n, l, v) in s if n == "hornet_requests_total"} == {run}
            wait_state(base, ("stopped",), timeout=30, token=TOKEN)
            st, stats = api(base, "GET", "/api/v1/stats", token=TOKEN)
            hornet_total, hornet_fail = stats["requests"], stats["failures"]
            c = t.counts()
            eq(hornet_total, c["total"], "hornet vs target")
            assert hornet_fail > 0, "the flaky endpoint failed nothing"
            st, txt, _ = get_metrics(base)
            promtool_check(txt)
            s = check_exposition(txt)
            eq(total(s, "hornet_requests_total"), float(hornet_total), "metrics total")
            eq(total(s, "hornet_request_failures_total"), float(hornet_fail),
               "metrics failures")
            eq(total(s, "hornet_requests_total", status_class="5xx"),
               float(c["status"].get("500", 0)), "5xx vs the target's 500s")
            eq(total(s, "hornet_requests_total", name=ODD_NAME),
               float(c["routes"]["GET /flaky"]), "escaped name vs target")
            assert "hornet_recent_request_duration_seconds" not in txt, "stopped: no window"
            # a reset empties the API's totals, not the counters
            st, j = api(base, "POST", "/api/v1/stats/reset", token=TOKEN)
            eq(st, 200, j)
            st, stats = api(base, "GET", "/api/v1/stats", token=TOKEN)
            eq(stats["requests"], 0, "API totals after the reset")
            st, txt2, _ = get_metrics(base)
            s2 = parse(txt2)
            eq(total(s2, "hornet_requests_total"), float(hornet_total), "after the reset")
            eq(total(s2, "hornet_stats_resets_total"), 1.0, "resets counted")
            # what Prometheus scraped
            prom.wait_for("sum(hornet_stats_resets_total)", 1.0)
            got = prom.wait_for("sum(hornet_requests_total)", float(hornet_total))
            eq(got, float(c["total"]), "Prometheus vs target")
            eq(prom.query("sum(hornet_request_duration_seconds_count)"),
               float(hornet_total), "Prometheus histogram count")
            eq(prom.query("sum(hornet_request_failures_total)"), float(hornet_fail),
               "Prometheus failures")
            eq(prom.query("sum(resets(hornet_requests_total[5m]))"), 0.0,
               "counter resets seen by Prometheus")
            eq(prom.query("max_over_time(hornet_workers_connected[5m])"), 2.0,
               "workers seen by Prometheus")
            names = {r["metric"]["name"]: float(r["value"][1]) for r in
                     prom.query_all("sum by (name) (hornet_requests_total)")}
            eq(names[ODD_NAME], float(c["routes"]["GET /flaky"]),
               "escaped label value through Prometheus")
            check_dashboard(prom)
            q = prom.query('histogram_quantile(0.5, sum by (le) '
                           '(hornet_request_duration_seconds_bucket{name="/delay?ms=20"}))')
            assert q is not None and 0.016 <= q <= 0.064, ("median of /delay?ms=20", q)
        finally:
            prom.close()


@test(once=True)
def metrics_follow_the_api_token_rule():
    """With --web-token, /metrics needs the token like the API (401 none,
    403 wrong; header or ?token=), and takes GET only."""
    with Fleet() as f:
        port = free_port()
        base = "http://127.0.0.1:%d" % port
        f.master_bg("--url", "http://127.0.0.1:9/", "--web", "127.0.0.1:%d" % port,
                    "--web-token", TOKEN, "-q", headless=False)
        wait_state(base, ("waiting",), token=TOKEN)
        eq(get_metrics(base)[0], 401, "no token")
        eq(get_metrics(base, token="wrong")[0], 403, "wrong token")
        st, txt, ctype = get_metrics(base, token=TOKEN)
        eq(st, 200, txt)
        assert ctype.startswith("text/plain; version=0.0.4"), ctype
        assert 'hornet_run_state{state="waiting"} 1\n' in txt, txt[:2000]
        eq(get_metrics(base, query="?token=" + TOKEN)[0], 200, "?token=")
        st, j = api(base, "POST", "/metrics", {}, token=TOKEN)
        eq(st, 405, j)
        if shutil.which("promtool"):
            promtool_check(txt)


def _wait_metric(base, metric, want, timeout=15):
    end = time.time() + timeout
    got = None
    while time.time() < end:
        st, txt, _ = get_metrics(base)
        if st == 200:
            got = total(parse(txt), metric)
            if got == want:
                return
        time.sleep(0.3)
    raise AssertionError("%s = %r, expected %r" % (metric, got, want))


@test
def metrics_stay_monotonic_when_a_worker_dies_and_rejoins():
    """A worker killed mid-run goes missing, a new process with its id
    rejoins; Prometheus, scraping every second, sees no counter reset, and
    its final sum is hornet's total."""
    if _no_prometheus():
        return
    with Target() as t, Fleet() as f:
        port = free_port()
        base = "http://127.0.0.1:%d" % port
        f.master_bg("--url", t.url + "/", "--expect-workers", "2",
                    "--web", "127.0.0.1:%d" % port, "-q", headless=False)
        f.worker("a")
        b = f.worker("b")
        wait_state(base, ("ready",))
        prom = Prometheus("127.0.0.1:%d" % port, f.dir)
        try:
            prom.wait_for('up{job="hornet"}', 1.0)
            st, j = api(base, "POST", "/api/v1/start", {"rate": 100, "duration": "12s"})
            eq(st, 200, j)
            time.sleep(2.5)
            b.kill()
            b.wait()
            _wait_metric(base, "hornet_workers_missing", 1.0)
            prom.wait_for("max(hornet_workers_missing)", 1.0)  # scraped, then back
            f.worker("b")
            _wait_metric(base, "hornet_workers_connected", 2.0)
            wait_state(base, ("stopped",), timeout=40)
            st, stats = api(base, "GET", "/api/v1/stats")
            hornet_total = float(stats["requests"])
            assert 0 < hornet_total <= t.counts()["total"], (hornet_total, t.counts())
            st, txt, _ = get_metrics(base)
            eq(total(parse(txt), "hornet_requests_total"), hornet_total, "metrics total")
            prom.wait_for("sum(hornet_requests_total)", hornet_total)
            eq(prom.query("sum(resets(hornet_requests_total[5m]))"), 0.0,
               "counter resets seen by Prometheus")
            eq(prom.query("sum(resets(hornet_request_duration_seconds_count[5m]))"), 0.0,
               "histogram count resets seen by Prometheus")
            eq(prom.query("max_over_time(hornet_workers_missing[5m])"), 1.0,
               "the missing worker seen by Prometheus")
        finally:
            prom.close()
