"""The integration tests' harness: the runner, the stand-in target, hornet
runs, the master/worker fleet and the helpers the tests share.

Tests live in tests/integration/test_<area>.py; each is a function marked
@test. A test passes when it returns, fails when it raises, and is skipped
(not counted) when it appends a reason to SKIPPED.

Engines. A test runs once per HTTP engine (worker/engine.c: the native
HTTP/1.1 path and libcurl), as NAME[native] and NAME[curl]: every hornet
process it starts inherits HORNET_ENGINE, so the same test and its counts
against the target are checked on both paths. @test(once=True) runs it
once, under hornet's own default engine: for tests that send no traffic
(usage, help, check) and for those that pick engines themselves
(test_engines.py, test_hostile.py). HORNET_ENGINE=native|curl|auto set
when running the suite runs each test on that engine only:
  HORNET_ENGINE=native python3 tests/integration/run.py NAME...
hornet(..., engine=E) sets it for one run (the differential tests).

Parallel. Each test runs in its own forked process (its own process
group, output captured and printed after its result line), up to -j N at
once (default HORNET_TEST_JOBS, else 4): most tests wait on fixed-length
runs. Ports are picked free (the target binds port 0). @test(serial=True)
runs a test with nothing else running: tests whose assertions depend on
CPU being there when asked (rates, saturation, stall detection) or that
use fixed shared resources (network namespace addresses). The longest
tests of the last run (build/integration.log) start first.

HORNET_BIN and HORNET_TARGET_BIN name the hornet and target binaries to test
(default: build/hornet and build/target of this tree).
"""
import json
import os
import re
import select
import signal
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HORNET = os.path.abspath(os.environ.get("HORNET_BIN") or os.path.join(ROOT, "build", "hornet"))
TARGET = os.path.abspath(os.environ.get("HORNET_TARGET_BIN")
                         or os.path.join(ROOT, "build", "target"))
EXAMPLES = os.path.join(ROOT, "examples")
TESTS = []
SKIPPED = []   # a test that cannot run here appends why, and returns


def test(fn=None, *, once=False, serial=False):
    """Registers a test; @test or @test(once=..., serial=...), see above."""
    def reg(f):
        assert f.__name__ not in {t.__name__ for t in TESTS}, "two tests named " + f.__name__
        f.once = once
        f.serial = serial
        TESTS.append(f)
        return f
    return reg(fn) if fn is not None else reg


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


ENGINE = os.environ.get("HORNET_ENGINE", "")


def hornet(*args, timeout=60, engine=None):
    """Runs hornet (on `engine` when given, else HORNET_ENGINE's); returns
    (exit code, stdout, stderr)."""
    env = None if engine is None else dict(os.environ, HORNET_ENGINE=engine)
    p = subprocess.run([HORNET, *args], capture_output=True, text=True, timeout=timeout,
                       env=env)
    return p.returncode, p.stdout, p.stderr


def hornet_json(*args, timeout=60, engine=None):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "out.json")
        rc, out, err = hornet(*args, "--json", path, "-q", timeout=timeout,
                              engine=engine)
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


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


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


ENGINES = ("native", "curl")
TEST_TIMEOUT = 300   # s: a test still running then is killed and failed


def variants(fns):
    """(name, fn, engine) for each run of fns: engine None = inherited."""
    only = os.environ.get("HORNET_ENGINE")
    out = []
    for fn in fns:
        if fn.once:
            out.append((fn.__name__, fn, None))
        else:
            for e in (only,) if only else ENGINES:
                out.append(("%s[%s]" % (fn.__name__, e), fn, e))
    return out


def _last_times():
    """Seconds each test took in the last full run, to start long ones first."""
    times = {}
    for name in ("integration.log", "integration.last.log"):   # run.sh moves it
        try:
            with open(os.path.join(ROOT, "build", name)) as f:
                for line in f:
                    m = re.match(r"(?:PASS|FAIL) (\S+)\s+([0-9.]+)s$", line.strip())
                    if m:
                        times[m.group(1)] = float(m.group(2))
        except OSError:
            pass
    return times


def _child(fn, engine, w):
    """In the forked process: runs fn, writes its outcome to fd w."""
    status = {"ok": False}
    try:
        os.setpgid(0, 0)
        if engine:
            os.environ["HORNET_ENGINE"] = engine
        fn()
        status = {"ok": True, "skip": SKIPPED[-1] if SKIPPED else None}
    except BaseException:
        traceback.print_exc(limit=3)
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
            os.write(w, json.dumps(status).encode())
        finally:
            os._exit(0)


class _Run:
    def __init__(self, name, fn, engine):
        self.name, self.fn, self.engine = name, fn, engine
        self.out = tempfile.TemporaryFile()
        r, w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        self.t0 = time.time()
        self.pid = os.fork()
        if self.pid == 0:
            os.close(r)
            os.dup2(self.out.fileno(), 1)
            os.dup2(self.out.fileno(), 2)
            _child(fn, engine, w)
        os.close(w)
        self.r = r
        self.msg = b""

    def kill(self):
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except OSError:
            pass

    def finish(self, timed_out):
        """Reaps it; returns (status dict, seconds, captured output)."""
        secs = time.time() - self.t0
        while True:
            chunk = os.read(self.r, 65536)
            if not chunk:
                break
            self.msg += chunk
        os.close(self.r)
        self.kill()   # whatever it left running
        self.out.seek(0)
        text = self.out.read().decode(errors="replace")
        self.out.close()
        try:
            st = json.loads(self.msg)
        except ValueError:
            st = {"ok": False}
        if timed_out:
            st = {"ok": False}
            text += "killed: still running after %d s\n" % TEST_TIMEOUT
        return st, secs, text


def main(argv):
    """Runs the registered tests (all, or those named in argv: NAME runs
    each of its engine variants, NAME[engine] one), -j N at once; --list
    prints the names instead. Ends with "integration: N passed, N failed"
    and returns 1 if any failed."""
    jobs = int(os.environ.get("HORNET_TEST_JOBS") or 4)
    args = []
    it = iter(argv)
    for a in it:
        if a == "-j":
            jobs = int(next(it))
        elif a.startswith("-j") and a[2:].isdigit():
            jobs = int(a[2:])
        else:
            args.append(a)
    names = [a for a in args if a != "--list"]
    allv = variants(TESTS)
    selected = [v for v in allv
                if not names or v[0] in names or v[1].__name__ in names]
    known = {v[0] for v in allv} | {fn.__name__ for fn in TESTS}
    for name in names:
        if name not in known:
            print("integration: no test named %r (see --list)" % name, file=sys.stderr)
    if "--list" in args:
        for v in selected:
            print(v[0] + ("  (serial)" if v[1].serial else ""))
        return 0
    if not (os.access(HORNET, os.X_OK) and os.access(TARGET, os.X_OK)):
        print("integration: %s and %s must be built first" % (HORNET, TARGET))
        print("integration: 0 passed, 1 failed")
        return 1
    last = _last_times()
    order = sorted(selected, key=lambda v: -last.get(v[0], last.get(v[1].__name__, 5.0)))
    todo = [v for v in order if not v[1].serial] + [v for v in order if v[1].serial]
    running = {}
    passed = failed = 0
    skipped = []
    try:
        while todo or running:
            serial_running = any(r.fn.serial for r in running.values())
            while todo and len(running) < max(1, jobs) and not serial_running:
                if todo[0][1].serial and running:
                    break   # it waits for the others to end
                r = _Run(*todo.pop(0))
                running[r.r] = r
                serial_running = r.fn.serial
            ready, _, _ = select.select(list(running), [], [], 0.5)
            now = time.time()
            for fd in list(running):
                r = running[fd]
                late = now - r.t0 > TEST_TIMEOUT
                if fd not in ready and not late:
                    continue
                if late:
                    r.kill()
                st, secs, text = r.finish(late)
                os.waitpid(r.pid, 0)
                del running[fd]
                if st["ok"] and st.get("skip"):
                    skipped.append(st["skip"])
                    print("SKIP %-50s %s" % (r.name, st["skip"]), flush=True)
                elif st["ok"]:
                    passed += 1
                    print("PASS %-50s %5.1fs" % (r.name, secs), flush=True)
                else:
                    failed += 1
                    print("FAIL %-50s %5.1fs" % (r.name, secs), flush=True)
                if text.strip():
                    sys.stdout.write(text if text.endswith("\n") else text + "\n")
                    sys.stdout.flush()
    except KeyboardInterrupt:
        for r in running.values():
            r.kill()
        raise
    for why in skipped:
        print("skipped (not counted): " + why)
    print("integration: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0
