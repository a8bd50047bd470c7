"""The integration tests' harness: the runner, the stand-in target, hornet
runs, the master/worker fleet and the helpers the tests share.

Tests live in tests/integration/test_<area>.py; each is a function marked
@test, run in the order the files are imported (see run.py) and, within a
file, in the order it is written. A test passes when it returns, fails when
it raises, and is skipped (not counted) when it appends a reason to SKIPPED.

HORNET_BIN and HORNET_TARGET_BIN name the hornet and target binaries to test
(default: build/hornet and build/target of this tree).

HORNET_ENGINE=native|curl|auto picks the HTTP engine (worker/engine.c) of
every hornet process the tests start (they inherit it; unset: hornet's own
default), so the same tests run on either path:
  HORNET_ENGINE=native python3 tests/integration/run.py NAME...
hornet(..., engine=E) sets it for one run (the differential tests).
"""
import json
import os
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


def test(fn):
    assert fn.__name__ not in {t.__name__ for t in TESTS}, "two tests named " + fn.__name__
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


def main(argv):
    """Runs the registered tests (all, or those named in argv); --list prints
    their names instead. Ends with "integration: N passed, N failed" and
    returns 1 if any failed."""
    names = [a for a in argv if a != "--list"]
    selected = [fn for fn in TESTS if not names or fn.__name__ in names]
    for name in names:
        if name not in {fn.__name__ for fn in TESTS}:
            print("integration: no test named %r (see --list)" % name, file=sys.stderr)
    if "--list" in argv:
        for fn in selected:
            print(fn.__name__)
        return 0
    if not (os.access(HORNET, os.X_OK) and os.access(TARGET, os.X_OK)):
        print("integration: %s and %s must be built first" % (HORNET, TARGET))
        print("integration: 0 passed, 1 failed")
        return 1
    passed = failed = 0
    for fn in selected:
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
