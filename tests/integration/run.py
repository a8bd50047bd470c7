#!/usr/bin/env python3
"""Integration tests: real hornet processes against the real stand-in target
(build/target) on 127.0.0.1. hornet's counts are checked against what the
target itself says it served (GET /__counts).

Run from the repository root: python3 tests/integration/run.py [-j N] [NAME...]
(--list prints the test names instead). A test that sends traffic runs once
per HTTP engine, as NAME[native] and NAME[curl] (NAME runs both); N tests
run at once (default 4, HORNET_TEST_JOBS), each in its own process; see
harness.py. Prints one line per test as it ends and ends with
"integration: N passed, N failed"; exits 1 if any failed.
All traffic goes to 127.0.0.1 (or to network namespaces a test creates) and
every run is bounded in time.

This file is only the entry point. harness.py holds the runner and the
helpers the tests share (the target, hornet runs, the master/worker fleet,
the API client); the tests are in test_<area>.py, by area:
  test_run.py       hornet run: counts, errors, open model, stop, TLS, shapes
  test_scenario.py  the scenario language and every example in examples/
  test_fleet.py     master and workers: totals, class mix, keys, namespaces
  test_api.py       the HTTP API, Locust's endpoints, the web UI page
  test_faults.py    bad input, closed connections, killed or restarted processes
  test_results.py   thresholds, baselines, --out DIR, hornet report and compare
  test_newuser.py   help, check, piping JSON, asked rates, exit codes, env, completion
They are registered in that order (a test_*.py not listed here after them);
the runner starts the longest of the last run (build/integration.log) first.
"""
import glob
import importlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
AREAS = ["test_run", "test_scenario", "test_fleet", "test_api", "test_faults",
         "test_results", "test_newuser"]

if __name__ == "__main__":
    sys.path.insert(0, HERE)
    import harness
    found = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(HERE, "test_*.py")))
    for name in AREAS + [m for m in found if m not in AREAS]:
        importlib.import_module(name)
    sys.exit(harness.main(sys.argv[1:]))
