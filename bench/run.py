#!/usr/bin/env python3
"""hornet vs wrk, hey and Locust on this machine (make bench).

The server (nginx, one worker process) is pinned to CPU 0 and every load
generator in turn to CPU 1, all with 50 connections against the same
loopback URL for the same duration. For each tool we print requests/s (as
the tool counts them) and CPU microseconds per request (user+sys of the
generator process, from wait4), plus hornet's ratios. nginx's own access
count is not used: wrk and hey stop at the deadline with responses in
flight, so their totals lag the server by up to the connection count.

This VM's speed drifts by 20-40% from one second to the next (a shared
host), so one run per tool says little. The tools run in --rounds rounds,
each round every tool once in turn; the table shows each tool's median
req/s and CPU per request, and hornet's ratio is the median of the ratios
within a round (tools that ran seconds apart, under the same conditions).

Usage: python3 bench/run.py [--duration S] [--conns N] [--rounds N] [--only TOOL,...]
(--only also takes the section names https, scale and master)
Traffic goes to 127.0.0.1 only; every run is bounded by --duration.
"""
import argparse
import json
import statistics
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HORNET = os.path.join(ROOT, "build", "hornet")
CURLLOOP = os.path.join(ROOT, "build", "bench", "bench_curlloop")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def taskset(cpu, argv):
    if shutil.which("taskset") and os.cpu_count() and os.cpu_count() > 1:
        return ["taskset", "-c", str(cpu), *argv]
    return argv


class Nginx:
    def __init__(self, cpu=0):
        self.dir = tempfile.mkdtemp(prefix="hornet-bench-")
        self.port = free_port()
        self.tls_port = free_port()
        # a self-signed certificate for the https rows (wrk, h2load and
        # hornet -k): the handshake is what case 4 of the scenarios loads
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-keyout",
                        os.path.join(self.dir, "key.pem"), "-out",
                        os.path.join(self.dir, "cert.pem")],
                       check=True, capture_output=True)
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write("""
worker_processes 1;
daemon off;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log warn;
worker_rlimit_nofile 20000;
events { worker_connections 19000; }
http {
  access_log off;
  client_body_temp_path %(d)s; proxy_temp_path %(d)s;
  fastcgi_temp_path %(d)s; uwsgi_temp_path %(d)s; scgi_temp_path %(d)s;
  keepalive_requests 100000000;
  server {
    listen 127.0.0.1:%(p)d;
    listen 127.0.0.1:%(tp)d ssl http2;
    ssl_certificate %(d)s/cert.pem;
    ssl_certificate_key %(d)s/key.pem;
    ssl_session_cache shared:bench:10m;
    http2_max_requests 100000000;
    location / { return 200 "hello\\n"; }
    location = /login {
      add_header Location /items/42;
      default_type application/json;
      return 201 '{"token": "t-0123456789abcdef", "user": {"id": 42}}';
    }
    location /items/ { return 200 "item\\n"; }
  }
}
""" % {"d": self.dir, "p": self.port, "tp": self.tls_port})
        self.proc = subprocess.Popen(taskset(cpu, ["nginx", "-c", conf]),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        self.url = "http://127.0.0.1:%d/" % self.port
        self.tls_url = "https://127.0.0.1:%d/" % self.tls_port

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def run_measured(argv, timeout, cwd=None, env=None):
    """Runs argv, returns (stdout+stderr text, cpu seconds of the child tree)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                       cwd=cwd, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if p.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (argv[0], p.returncode,
                                                 (p.stdout + p.stderr)[-800:]))
    return p.stdout + p.stderr, cpu


def bench_wrk(url, d, c, extra=()):
    out, cpu = run_measured(taskset(1, ["wrk", "-t1", "-c%d" % c, "-d%ds" % d, *extra,
                                        url]), d + 30)
    n = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return n, rps, cpu


def bench_hey(url, d, c):
    out, cpu = run_measured(taskset(1, ["hey", "-z", "%ds" % d, "-c", str(c), url]), d + 30)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"\[200\]\s+(\d+) responses", out)
    n = int(m.group(1)) if m else int(rps * d)
    return n, rps, cpu


def bench_h2load(url, d, c, h1=True):
    """h2load (nghttp2), a second C anchor beside wrk: HTTP/1.1 (--h1) or
    HTTP/2 (ALPN h2 on the https listener), one stream per connection at a
    time (-m 1) so it does what the other tools do."""
    argv = ["h2load", "-t1", "-c%d" % c, "-m1", "-D%d" % d, *(["--h1"] if h1 else []), url]
    out, cpu = run_measured(taskset(1, argv), d + 30)
    rps = float(re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", out).group(1))
    m = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded", out)
    return int(m.group(1)), rps, cpu


def bench_h2load_h1(url, d, c):
    return bench_h2load(url, d, c, h1=True)


def bench_h2load_h2(url, d, c):
    return bench_h2load(url, d, c, h1=False)


def engine_env(engine, **more):
    """The environment of a hornet run on one HTTP engine (worker/h1.h)."""
    return dict(os.environ, HORNET_ENGINE=engine, **more)


def bench_hornet(url, d, c, env=None, extra=()):
    """hornet on its native HTTP/1.1 path (issue 17), unless env says."""
    env = env or engine_env("native")
    with tempfile.TemporaryDirectory() as tmp:
        js = os.path.join(tmp, "out.json")
        out, cpu = run_measured(taskset(1, [HORNET, "run", "--url", url, "-u", str(c),
                                            "-t", "%ds" % d, "--threads", "1",
                                            "--json", js, "-q", *extra]), d + 30, env=env)
        with open(js) as f:
            j = json.load(f)
    if j["failures"]:
        raise RuntimeError("hornet saw %d failures" % j["failures"])
    return j["requests"], j["rps"], cpu


def bench_hornet_kernel_poll(url, d, c):
    """hornet with every poll() left to the kernel (worker/pollshim.h):
    what the shortcut saves."""
    return bench_hornet(url, d, c, env=engine_env("curl", HORNET_CURL_POLL="1"))


def bench_hornet_curl(url, d, c):
    """hornet on its libcurl path: what the native path gains."""
    return bench_hornet(url, d, c, env=engine_env("curl"))


def bench_curl_loop(url, d, c):
    """Bare libcurl: the tuned multi-socket loop of issue 3 with nothing of
    hornet in it (bench/bench_curlloop.c). hornet's ratio to it is what
    the engine, users and statistics cost over libcurl alone."""
    out, cpu = run_measured(taskset(1, [CURLLOOP, url, str(c), str(d)]), d + 30)
    m = re.search(r"(\d+) requests in ([\d.]+) s", out)
    n = int(m.group(1))
    return n, n / float(m.group(2)), cpu


LOCUSTFILE = """
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

class Bench(FastHttpUser):
    wait_time = constant(0)

    @task
    def root(self):
        self.client.get("/")
"""


def bench_locust(url, d, c):
    with tempfile.TemporaryDirectory() as tmp:
        lf = os.path.join(tmp, "locustfile.py")
        with open(lf, "w") as f:
            f.write(LOCUSTFILE)
        argv = taskset(1, ["locust", "-f", lf, "--headless", "-u", str(c), "-r", str(c),
                           "-t", "%ds" % d, "-H", url.rstrip("/"), "--only-summary",
                           "--csv", os.path.join(tmp, "r"), "--loglevel", "WARNING"])
        out, cpu = run_measured(argv, d + 60, cwd=tmp)
        with open(os.path.join(tmp, "r_stats.csv")) as f:
            rows = f.read().splitlines()
    head = rows[0].split(",")
    for row in rows[1:]:
        cols = row.split(",")
        if cols[head.index("Name")] == "Aggregated":
            n = int(cols[head.index("Request Count")])
            rps = float(cols[head.index("Requests/s")])
            return n, rps, cpu
    raise RuntimeError("no Aggregated row in locust csv")


FLOW = """
host: http://127.0.0.1:1
tasks:
  - task: flow
    steps:
      - method: POST
        path: /login
        body: {user: "u${user_index()}", nonce: "${base64(randbytes(16))}"}
        expect: {status: 201}
        capture:
          token: {json: $.token}
          item: {header: Location}
      - path: ${item}
        name: /items/[ID]
        headers: {Authorization: "Bearer ${token}"}
      - path: ${item}?n=${counter()}
        name: /items/[ID]?n
        headers: {Authorization: "Bearer ${token}"}
"""


def bench_flow(url, d, c, engine="native"):
    """The scenario language's cost: a 3-step flow with captures and
    templates, on one core, 50 users."""
    with tempfile.TemporaryDirectory() as tmp:
        sc = os.path.join(tmp, "flow.yaml")
        with open(sc, "w") as f:
            f.write(FLOW)
        js = os.path.join(tmp, "out.json")
        out, cpu = run_measured(taskset(1, [HORNET, "run", sc, "--host", url.rstrip("/"),
                                            "-u", str(c), "-t", "%ds" % d, "--threads",
                                            "1", "--json", js, "-q"]), d + 30,
                                env=engine_env(engine))
        with open(js) as f:
            j = json.load(f)
    if j["failures"]:
        raise RuntimeError("flow saw %d failures: %s" % (j["failures"], j["errors"][:3]))
    return j["requests"], j["rps"], cpu


def bench_flow_curl(url, d, c):
    return bench_flow(url, d, c, engine="curl")


TOOLS = [
    ("hornet", None, bench_hornet),
    ("hornet-curl", None, bench_hornet_curl),
    ("hornet-kpoll", None, bench_hornet_kernel_poll),
    ("curl-loop", None, bench_curl_loop),
    ("wrk", "wrk", bench_wrk),
    ("hey", "hey", bench_hey),
    ("locust", "locust", bench_locust),
    ("h2load-h1", "h2load", bench_h2load_h1),
    ("flow", None, bench_flow),
    ("flow-curl", None, bench_flow_curl),
]


# HTTPS on nginx's TLS listener (a self-signed P-256 certificate; hornet
# with -k): keep-alive, then a new connection (a full handshake) for every
# request, what case 4 of shared/scenarios loads. wrk makes a new
# connection per request when the server closes (Connection: close).
HTTPS_TOOLS = [
    ("hornet", None, lambda u, d, c: bench_hornet(u, d, c, extra=("-k",))),
    ("hornet-curl", None,
     lambda u, d, c: bench_hornet(u, d, c, env=engine_env("curl"), extra=("-k",))),
    ("wrk", "wrk", bench_wrk),
    ("h2load-h1", "h2load", bench_h2load_h1),
    ("h2load-h2", "h2load", bench_h2load_h2),
]
NEWCONN_TOOLS = [
    ("hornet", None,
     lambda u, d, c: bench_hornet(u, d, c, extra=("-k", "--new-connection"))),
    ("hornet-curl", None,
     lambda u, d, c: bench_hornet(u, d, c, env=engine_env("curl"),
                                  extra=("-k", "--new-connection"))),
    ("wrk", "wrk", lambda u, d, c: bench_wrk(u, d, c, extra=("-H", "Connection: close"))),
]


def available(tools, only=()):
    """The tools of a list that are installed (and asked for with --only)."""
    out = []
    for name, exe, fn in tools:
        if only and name not in only:
            continue
        if exe and not shutil.which(exe):
            print("%-8s skipped: %s is not installed" % (name, exe))
            continue
        out.append((name, fn))
    return out


def interleaved(tools, url, d, c, rounds, label=""):
    """Every tool once per round, in turn; {name: [(round, n, req/s, cpu s)]}."""
    runs = {}
    for r in range(rounds):
        line = []
        for name, fn in tools:
            try:
                n, rps, cpu = fn(url, d, c)
            except Exception as e:  # one tool failing must not hide the others
                print("%-8s failed: %s" % (name, e))
                continue
            runs.setdefault(name, []).append((r, n, rps, cpu))
            line.append("%s %.0f" % (name, rps))
        print("%sround %d/%d: %s" % (label, r + 1, rounds, ", ".join(line)), flush=True)
    return runs


def table_vs(runs, ref):
    """Median req/s and CPU per request of each tool, and its ratio to ref
    (the median of the within-round ratios)."""
    refs = {x[0]: x[2] for x in runs.get(ref, [])}
    print("%-12s %12s %14s %10s %16s" % ("tool", "req/s", "CPU us/req", "vs " + ref,
                                          "req/s range"))
    for name, xs in runs.items():
        v = [x[2] / refs[x[0]] for x in xs if refs.get(x[0])]
        rs = [x[2] for x in xs]
        print("%-12s %12.0f %14.2f %10s %16s" % (
            name, statistics.median(rs),
            statistics.median(1e6 * x[3] / max(x[1], 1) for x in xs),
            "%.2fx" % statistics.median(v) if v and name != ref else "",
            "%.0f-%.0f" % (min(rs), max(rs))))


def proc_cpu_s(pid):
    """utime + stime of a process, in seconds (from /proc)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_master_fleet(n, duration=12):
    """A master fed by n simulated workers (bench_master), 20 endpoints
    each, one snapshot per worker per second: the master's CPU while the
    run is on, and its decode+merge time per snapshot."""
    sim = os.path.join(ROOT, "build", "bench", "bench_master")
    with tempfile.TemporaryDirectory() as tmp:
        sc = os.path.join(tmp, "20.yaml")
        with open(sc, "w") as f:
            f.write("host: http://127.0.0.1:1\ntasks:\n")
            for i in range(20):
                f.write("  - path: /endpoint/%d\n" % i)
        port = free_port()
        ep = "tcp://127.0.0.1:%d" % port
        log = open(os.path.join(tmp, "m.log"), "w+")
        m = subprocess.Popen(taskset(0, [HORNET, "master", "--headless", sc, "-u", str(n), "-t",
                                          "%ds" % duration, "--bind", ep, "--expect-workers",
                                          str(n), "--start-timeout", "120s"]),
                             stdout=log, stderr=subprocess.STDOUT)
        time.sleep(0.3)
        b = subprocess.Popen(taskset(1, [sim, ep, str(n), sc]), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        cpu0 = t0 = None
        cpu1 = t1 = None
        deadline = time.time() + duration + 180
        try:
            while m.poll() is None and time.time() < deadline:
                text = open(log.name).read()
                if t0 is None and "master: starting" in text:
                    time.sleep(2)            # past the start-up burst
                    cpu0, t0 = proc_cpu_s(m.pid), time.time()
                if t0 is not None and t1 is None and "master: stopping" in text:
                    cpu1, t1 = proc_cpu_s(m.pid), time.time()
                time.sleep(0.05)
            m.wait(60)
            out, _ = b.communicate(timeout=60)
        finally:   # a failed run must not leave a simulator eating a core
            for p in (m, b):
                if p.poll() is None:
                    p.kill()
                    p.wait()
        text = open(log.name).read()
    merge = re.search(r"Merged (\d+) snapshots, ([\d.]+) us each", text)
    if t0 is None or t1 is None or not merge:
        raise RuntimeError("master run incomplete: %s" % text[-600:])
    return (100.0 * (cpu1 - cpu0) / (t1 - t0), float(merge.group(2)),
            int(merge.group(1)), out.strip())


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def hornet_rss_at(url, users, settle, run_s=None):
    """RSS of a hornet run with this many users thinking 1 s each, read
    after the ramp, while they run; the req/s the run made once all had
    started, and the p50 of its last 5 seconds (users that come due
    together and stay together show as a p50 that creeps up over a run)."""
    run_s = run_s or settle + 3
    with tempfile.TemporaryDirectory() as tmp:
        js = os.path.join(tmp, "out.json")
        # started over `settle - 3` seconds: all at once, every user's first
        # request would be in flight together and need its own connection
        # (idle users share the pooled ones, connections: shared)
        p = subprocess.Popen(taskset(1, [HORNET, "run", "--url", url, "-u", str(users),
                                         "-r", str(max(users // max(settle - 3, 1), 1)),
                                         "--think", "1s",
                                         "-t", "%ds" % run_s, "--threads", "1",
                                         "-q", "--json", js]),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(settle)
            rss = rss_kb(p.pid)
        finally:
            p.wait(run_s + 40)
        with open(js) as f:
            j = json.load(f)
    if j["failures"]:
        raise RuntimeError("%d users: %d failures: %s" % (users, j["failures"],
                                                          j["errors"][:2]))
    # the rate once every user runs (the seconds after the ramp's second,
    # up to the last whole one)
    full = [x for x in j["timeline"] if x["users"] >= users and x["t"] <= run_s]
    rate = statistics.mean([x["rps"] for x in full[1:] or full] or [0])
    late = statistics.median([x["p50_ms"] for x in full[-5:]] or [0])
    return rss, rate, late


def bench_idle_users(url, users=20000, run_s=30):
    """Memory per idle user (RSS at `users` minus RSS at 1) and the rate
    they made once all ran over a `run_s` run, against the rate they ask
    (users / 1 s think, each request's own time left out: it is under a
    millisecond here), and the p50 at the run's end."""
    base, _, _ = hornet_rss_at(url, 1, 8)
    full, rps, p50 = hornet_rss_at(url, users, 8, run_s)
    return base, full, 1024.0 * (full - base) / (users - 1), float(users), rps, p50


def bench_rate(url, rate, d, conns=None):
    extra = ["--max-connections", str(conns)] if conns else []
    with tempfile.TemporaryDirectory() as tmp:
        js = os.path.join(tmp, "out.json")
        run_measured(taskset(1, [HORNET, "run", "--url", url, "--rate", str(rate),
                                 "-t", "%ds" % d, "--threads", "1", "--json", js, "-q",
                                 *extra]), d + 30)
        with open(js) as f:
            j = json.load(f)
    r = j["rate"]
    return (r["asked"], r["achieved"], r["not_started"], j["requests"], j["failures"],
            j["latency_ms"]["p50"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--conns", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--only", default="")
    ap.add_argument("--fleet", default="100,500,1000",
                    help="simulated worker counts for the master benchmark ('' = skip)")
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))
    if not shutil.which("nginx"):
        sys.exit("bench: nginx is not installed (make bench installs it)")
    # the 50,000-user row needs more fds than a login shell's limit (one
    # per connection in use plus the engine's own); root may raise it
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (200000, 200000))
    except (ValueError, OSError):
        pass
    ng = Nginx(cpu=0)
    try:
        # name -> [(round, requests, req/s, cpu s)]
        runs = interleaved(available(TOOLS, only), ng.url, args.duration, args.conns,
                           args.rounds)
    finally:
        ng.close()

    def med_rps(name):
        return statistics.median(x[2] for x in runs[name])

    def med_cpu(name):
        return statistics.median(1e6 * x[3] / max(x[1], 1) for x in runs[name])

    def ratio(name):
        h = {x[0]: x[2] for x in runs.get("hornet", [])}
        v = [h[x[0]] / x[2] for x in runs[name] if x[0] in h and x[2] > 0]
        return statistics.median(v) if v else None

    print()
    print("HTTP GET of a 6-byte body from nginx on 127.0.0.1, %d connections, %d s x %d "
          "rounds, server on CPU 0, generator on CPU 1 (%s); medians" %
          (args.conns, args.duration, args.rounds, time.strftime("%Y-%m-%d")))
    print("%-12s %12s %14s %12s %16s" % ("tool", "req/s", "CPU us/req", "hornet is",
                                          "req/s range"))
    for name in runs:
        if name.startswith("flow"):
            continue
        q = ratio(name)
        rs = [x[2] for x in runs[name]]
        print("%-12s %12.0f %14.2f %12s %16s" % (
            name, med_rps(name), med_cpu(name),
            "" if name == "hornet" or q is None else "%.2fx" % q,
            "%.0f-%.0f" % (min(rs), max(rs))))
    if "flow" in runs and "hornet" in runs:
        print()
        print("scenario language: a 3-step flow (JSON body template, JSON and header")
        print("captures, captured values in path and header) vs the plain GET above:")
        for name in ("flow", "flow-curl"):
            if name not in runs:
                continue
            q = ratio(name)
            print("%-12s %12.0f %14.2f %11.0f%%" % (name, med_rps(name), med_cpu(name),
                                                   100.0 / q if q else 0))
    if not only or "https" in only:
        ng = Nginx(cpu=0)
        try:
            print()
            hs = interleaved(available(HTTPS_TOOLS), ng.tls_url, args.duration, args.conns,
                             args.rounds, "https ")
            nc = interleaved(available(NEWCONN_TOOLS), ng.tls_url, args.duration,
                             args.conns, args.rounds, "new connection ")
        finally:
            ng.close()
        print()
        print("HTTPS keep-alive GET (TLS 1.3, P-256 certificate, nginx as above), %d "
              "connections; medians:" % args.conns)
        table_vs(hs, "wrk")
        print()
        print("HTTPS with a new connection (full handshake) per request, %d connections:"
              % args.conns)
        table_vs(nc, "wrk")
    if not only or "scale" in only:
        ng = Nginx(cpu=0)
        try:
            print()
            print("engine at scale (one engine thread on CPU 1, nginx on CPU 0):")
            for users in (20000, 50000):
                try:
                    base, full, per, asked, got, p50 = bench_idle_users(ng.url, users)
                    print("memory: 1 user %d kB RSS, %d users thinking 1 s %d kB: "
                          "%.1f kB per user; over 30 s %.0f req/s of %.0f asked "
                          "(%.1f%%), p50 of the last 5 s %.2f ms" %
                          (base, users, full, per / 1024.0, got, asked,
                           100.0 * got / asked, p50))
                except Exception as e:
                    print("memory per idle user failed: %s" % e)
            # the open model at 90% of what wrk made on one core (issue 17),
            # and the last one shows why the open model caps connections
            rates = [(10000, None), (15000, None), (30000, None), (15000, 10000)]
            if "wrk" in runs:
                rates.insert(0, (int(0.9 * med_rps("wrk")), None))
            for rate, conns in rates:
                what = "--rate %d%s" % (rate, " --max-connections %d" % conns
                                        if conns else "")
                try:
                    asked, got, lost, n, fails, p50 = bench_rate(ng.url, rate,
                                                                 args.duration, conns)
                    print("%s for %d s: achieved %.0f/s (%.2f%% of asked), "
                          "%d not started, %d requests, %d failures, p50 %.2f ms" %
                          (what, args.duration, got, 100.0 * got / asked, lost, n,
                           fails, p50))
                except Exception as e:
                    print("%s failed: %s" % (what, e))
        finally:
            ng.close()
    fleet = [int(x) for x in args.fleet.split(",") if x]
    if fleet and (not only or "master" in only):
        print()
        print("master fed by simulated workers (20 endpoints each, 1 snapshot/s per worker),")
        print("master pinned to CPU 0, the simulator to CPU 1:")
        print("%8s %14s %18s %12s" % ("workers", "master CPU %", "us per snapshot", "snapshots"))
        for n in fleet:
            try:
                cpu, us, merged, _ = bench_master_fleet(n)
                print("%8d %14.1f %18.1f %12d" % (n, cpu, us, merged))
            except Exception as e:
                print("%8d failed: %s" % (n, e))
    return 0


if __name__ == "__main__":
    sys.exit(main())
