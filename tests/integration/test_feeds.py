"""Data feeds across a fleet (issue 14): `order: unique` rows and
global_counter() values are unique fleet-wide, not per worker process. The
master grants each worker process disjoint ranges of rows; users that get
no row are counted as not started, as in `hornet run`.

Each sign-in carries its row in an X-Tenant header, so the target's
`tenants` counts say how often each row was used. Certificates are named
by global_counter(), and the target answers 409 to a name used twice.
"""
import json
import os
import signal
import tempfile
import time

from harness import Fleet, Target, eq, hornet_json, test, write

SCENARIO = """
host: http://127.0.0.1:1
data:
  creds: {file: users.csv, order: unique}
classes:
  - name: member
    data: creds
    think_time: {pacing: 100ms}
    on_start:
      - method: POST
        path: /auth/signin
        headers: {X-Tenant: "${row}"}
        body: {email: "${email}", password: "${password}"}
        expect: {status: 201}
    tasks:
      - method: POST
        path: /api/v1/certificates
        name: create
        headers: {Authorization: Bearer test-token}
        body: {name: "c-${global_counter()}"}
        expect: {status: 201}
"""


def scenario(d, rows):
    lines = ["row,email,password"]
    for i in range(rows):
        lines.append("r%d,u%d@x.test,pw-u%d" % (i, i, i))
    write(os.path.join(d, "users.csv"), "\n".join(lines) + "\n")
    return write(os.path.join(d, "s.yaml"), SCENARIO)


def check_rows(c, j, rows, not_started, what):
    tenants = c.get("tenants", {})
    eq(sorted(tenants), sorted("r%d" % i for i in range(rows)), what + ": rows used")
    eq(sorted(set(tenants.values())), [1], what + ": each row once (%s)" % tenants)
    eq(c["routes"].get("POST /auth/signin"), rows, what + ": sign-ins at the target")
    eq(j["not_started_no_data"], not_started, what + ": users without a row")
    # global_counter() names: a name used twice gets 409, a failure
    eq(c["status"].get("409", 0), 0, what + ": a certificate name used twice")
    assert c["routes"].get("POST /api/v1/certificates", 0) > 20, c


@test
def fleet_unique_feed_one_row_per_user():
    with Target() as t, Fleet() as f, tempfile.TemporaryDirectory() as d:
        path = scenario(d, 10)
        f.worker("f0")
        f.worker("f1")
        p, j = f.master(path, "--host", t.url, "-u", "12", "-t", "2s",
                        "--expect-workers", "2")
        eq(p.returncode, 0, "master exit: " + p.stderr[-2000:])
        eq(j["failures"], 0, "failures (errors: %s)" % j["errors"])
        c = t.counts()
        eq(j["requests"], c["total"], "master total vs server")
        check_rows(c, j, 10, 2, "master + 2 workers")
        # hornet run, the same scenario: the same answer
        t.post("/__reset")
        jr, _, _ = hornet_json("run", path, "--host", t.url, "-u", "12", "-t", "2s")
        check_rows(t.counts(), jr, 10, 2, "hornet run")


def wait_for(log, text, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        with open(log) as fh:
            if text in fh.read():
                return True
        time.sleep(0.1)
    return False


@test
def fleet_unique_rows_of_a_dead_worker_stay_used():
    """12 users on 2 workers over 20 rows: 6 each. f1 is killed: its 6 rows
    stay used and f0 gets 6 more for f1's users. f1 comes back as a new
    process: it gets the 2 rows left, so 4 of its users do not start. Every
    row is signed in with exactly once."""
    with Target() as t, Fleet() as f, tempfile.TemporaryDirectory() as d:
        path = scenario(d, 20)
        f.worker("f0")
        w1 = f.worker("f1")
        mp, js, mlog = f.master_bg(path, "--host", t.url, "-u", "12", "-t", "9s",
                                   "--expect-workers", "2")
        assert wait_for(mlog, "f1 gets 6 users", 20), open(mlog).read()[-2000:]
        time.sleep(1.5)
        w1.send_signal(signal.SIGKILL)
        w1.wait(5)
        assert wait_for(mlog, "f1 is missing", 10), open(mlog).read()[-2000:]
        assert wait_for(mlog, "f0 gets 12 users", 5), open(mlog).read()[-2000:]
        time.sleep(0.5)
        f.worker("f1")  # a new process with the same id
        mp.wait(60)
        text = open(mlog).read()
        eq(mp.returncode, 0, "master exit: " + text[-2000:])
        assert text.count("f1 gets 6 users") >= 2, text[-2000:]
        j = json.load(open(js))
        c = t.counts()
        tenants = c.get("tenants", {})
        eq(sorted(tenants), sorted("r%d" % i for i in range(20)), "every row used")
        eq(sorted(set(tenants.values())), [1], "each row once (%s)" % tenants)
        eq(c["routes"].get("POST /auth/signin"), 20, "sign-ins at the target")
        eq(j["not_started_no_data"], 4, "the new f1's users without a row")
        eq(c["status"].get("409", 0), 0, "a certificate name used twice")


@test
def fleet_unique_rows_after_a_master_takeover():
    """The master dies while 4 users run on 2 workers and a restarted one
    takes the run over; then the schedule steps to 12 users. The new
    master knows from the workers' profiles how many rows were handed out
    and grants only later ones: no row is signed in with twice."""
    with Target() as t, Fleet() as f, tempfile.TemporaryDirectory() as d:
        path = scenario(d, 40)
        for i in range(2):
            f.worker("k%d" % i, "--grace", "30s")
        args = [path, "--host", t.url, "--stages", "4s:4:step,6s:12:step",
                "--expect-workers", "2"]
        mp, js, mlog = f.master_bg(*args)
        assert wait_for(mlog, "k1 gets 2 users", 20), open(mlog).read()[-2000:]
        time.sleep(1.0)
        mp.kill()
        mp.wait()
        time.sleep(1.0)
        p, j = f.master(*args)
        eq(p.returncode, 0, "restarted master: " + p.stderr[-2000:])
        assert "taking it over" in p.stderr, p.stderr[-2000:]
        c = t.counts()
        tenants = c.get("tenants", {})
        said = [l for l in (open(mlog).read() + p.stderr).splitlines()
                if " gets " in l or "taking" in l]
        eq(sorted(set(tenants.values())), [1], "each row once (%s)\n%s" % (tenants, said))
        # users that the take-over moved between workers start again with
        # a new row each: at least 12 sign-ins, never a row twice
        eq(c["routes"].get("POST /auth/signin"), len(tenants), "sign-ins at the target")
        assert len(tenants) >= 12, tenants
        eq(j["not_started_no_data"], 0, "users without a row")
        eq(c["status"].get("409", 0), 0, "a certificate name used twice")
