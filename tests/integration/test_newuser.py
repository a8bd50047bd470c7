"""What a new user meets (issue 14): help that is each command's own,
`check` that describes schedules, --json - that pipes, asked rates that
match a shape, stage rates per second of the stage, runs that failed
entirely not passing, flags from the environment, bash completion."""
import json
import os
import re
import subprocess
import tempfile

from harness import HORNET, Target, eq, hornet, test, write


@test(once=True)
def each_command_has_its_own_help():
    rc, out, _ = hornet("master", "--help")
    eq(rc, 0, "master --help")
    for flag in ("--bind", "--expect-workers", "--headless", "--keys", "--web-token-file"):
        assert flag in out, (flag, out)
    assert "--threads" not in out, "run's --threads is not the master's"
    rc, out, _ = hornet("worker", "--help")
    assert "--master" in out and "--grace" in out and "--users" not in out, out
    rc, out, _ = hornet("run", "--help")
    assert "--threads" in out and "--bind" not in out, out
    rc, _, err = hornet("run", "--url", "http://127.0.0.1:1/", "--bind", "x")
    eq(rc, 2, "a master flag given to run")
    assert "--bind is an option of 'hornet master'" in err, err


@test(once=True)
def check_describes_a_schedule():
    with tempfile.TemporaryDirectory() as d:
        p = write(os.path.join(d, "s.yaml"),
                  "host: http://127.0.0.1:1\nload:\n  stages:\n"
                  "    - {duration: 10s, users: 20}\n    - {duration: 20s, users: 20}\n"
                  "tasks:\n  - path: /\nthresholds:\n  - p95 < 1s\n")
        rc, out, err = hornet("check", p)
        eq(rc, 0, "check\n" + err)
        assert "not set in the file" not in out, out
        assert "a 2-stage schedule of users over 30s, peak 20" in out, out
        assert "threshold: p95 < 1s" in out, out


@test
def json_to_stdout_pipes_and_the_table_goes_to_stderr():
    with Target() as t:
        rc, out, err = hornet("run", "--url", t.url + "/", "-u", "1", "-t", "1s", "-q",
                              "--json", "-")
        eq(rc, 0, "run\n" + err)
        j = json.loads(out)            # nothing but the JSON on stdout
        eq(j["requests"], t.counts()["total"], "total")
        assert "Aggregated" in err, err
        # floats with jansson's real precision: no 0.025000000000000001
        long_floats = re.findall(r"\d\.\d{15,}", out)
        eq(long_floats, [], "floats printed with spurious digits")


@test
def a_shape_reports_the_rate_it_asked():
    """--rate 1 with a burst shape said "asked 1.0/s, started 125/s"."""
    with Target() as t:
        rc, out, err = hornet("run", "--url", t.url + "/", "--rate", "1", "--shape",
                              "burst:base=50,multiplier=4,length=2s,every=4s,total=8s",
                              "-q", timeout=60)
        eq(rc, 0, "run\n" + err)
        m = re.search(r"Rate: asked ([\d.]+)/s, started ([\d.]+)/s", out)
        assert m, out
        asked, started = float(m.group(1)), float(m.group(2))
        assert abs(asked - 125) < 5, (asked, out)
        assert abs(started - asked) / asked < 0.1, (asked, started)


@test
def stage_rates_are_per_second_of_the_stage():
    with Target() as t:
        d = tempfile.mkdtemp()
        rc, out, err = hornet("run", "--url", t.url + "/", "--rate", "100",
                              "--stages", "2s:100,3s:100", "-q", "--json",
                              os.path.join(d, "s.json"), timeout=60)
        eq(rc, 0, "run\n" + err)
        j = json.load(open(os.path.join(d, "s.json")))
        for st in j["stages"]:
            length = st["end_s"] - st["start_s"]
            if length > 0:
                assert abs(st["rps"] - st["requests"] / length) < 1e-6, st


@test
def a_run_where_every_request_failed_does_not_pass():
    with Target() as t:
        rc, out, err = hornet("run", "--url", t.url + "/status/503", "-u", "2", "-t", "1s",
                              "-q")
        eq(rc, 3, "every request failed\n" + out)
        assert "every request failed" in out, out
        rc, out, err = hornet("run", "--url", t.url + "/", "-u", "2", "-t", "1s", "-q")
        eq(rc, 0, "none failed")
        rc, out, err = hornet("run", "--url", t.url + "/status/503", "-u", "2", "-t", "1s",
                              "-q", "--max-error-rate", "100%")
        eq(rc, 0, "all failed, but 100% is allowed")
        rc, _, err = hornet("run", "--url", t.url + "/", "--max-error-rate", "x")
        eq(rc, 2, "bad --max-error-rate")
        assert "--max-error-rate" in err, err


@test
def flags_come_from_the_environment_and_argv_wins():
    with Target() as t:
        env = dict(os.environ, HORNET_USERS="3", HORNET_DURATION="1s", HORNET_QUIET="1")
        d = tempfile.mkdtemp()
        p = subprocess.run([HORNET, "run", "--url", t.url + "/", "--json",
                            os.path.join(d, "s.json")], env=env, capture_output=True,
                           text=True, timeout=30)
        eq(p.returncode, 0, p.stderr)
        eq(json.load(open(os.path.join(d, "s.json")))["users"], 3, "HORNET_USERS")
        p = subprocess.run([HORNET, "run", "--url", t.url + "/", "-u", "2", "--json",
                            os.path.join(d, "s.json")], env=env, capture_output=True,
                           text=True, timeout=30)
        eq(json.load(open(os.path.join(d, "s.json")))["users"], 2, "-u over HORNET_USERS")
        env["HORNET_USERS"] = "many"
        p = subprocess.run([HORNET, "run", "--url", t.url + "/"], env=env,
                           capture_output=True, text=True, timeout=30)
        eq(p.returncode, 2, "bad HORNET_USERS")
        assert "HORNET_USERS" in p.stderr, p.stderr


@test(once=True)
def bash_completion_knows_every_flag():
    rc, script, _ = hornet("completion", "bash")
    eq(rc, 0, "completion bash")
    p = subprocess.run(["bash", "-c", script + "\nCOMP_WORDS=(hornet master --expect);"
                        " COMP_CWORD=2; _hornet; echo \"${COMPREPLY[@]}\""],
                       capture_output=True, text=True, timeout=10)
    eq(p.stdout.strip(), "--expect-workers", "completion of --expect")
