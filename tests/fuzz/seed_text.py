#!/usr/bin/env python3
"""tests/fuzz/seed_text.py - writes the seed corpora of the text targets
(make fuzz-seed) from the repo's own examples and docs:

  scen  examples/*.yaml and the ```yaml blocks of docs/scenario.md
  tmpl  every template (text holding "${") quoted in docs/scenario.md and
        examples/*.yaml
  ctl   the API bodies of docs/api.md: curl -d '...' and JSON code, plus
        a /swarm form and a start carrying a scenario
  feed  the first 20 lines of examples/data/*.csv

Usage: seed_text.py CORPUS_DIR (writes CORPUS_DIR/{scen,tmpl,ctl,feed}/;
files named seed-* are replaced, others, e.g. crash reproducers, kept).
"""
import glob
import json
import os
import re
import sys


def put(d, name, data):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def clear(d):
    for p in glob.glob(os.path.join(d, "seed-*")):
        os.remove(p)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: seed_text.py CORPUS_DIR")
    root = sys.argv[1]
    dirs = {k: os.path.join(root, k) for k in ("scen", "tmpl", "ctl", "feed")}
    for d in dirs.values():
        clear(d)

    yamls = sorted(glob.glob("examples/*.yaml"))
    for p in yamls:
        put(dirs["scen"], "seed-" + os.path.basename(p), open(p, "rb").read())
    scen_md = open("docs/scenario.md").read()
    for i, m in enumerate(re.finditer(r"```yaml\n(.*?)```", scen_md, re.S)):
        put(dirs["scen"], "seed-scenario-md-%d.yaml" % i, m.group(1))

    tmpls = set()
    texts = [scen_md] + [open(p).read() for p in yamls]
    for t in texts:
        for m in re.finditer(r"\"([^\"\n]*\$\{[^\"\n]*)\"|'([^'\n]*\$\{[^'\n]*)'"
                             r"|`([^`\n]*\$\{[^`\n]*)`", t):
            tmpls.add(next(g for g in m.groups() if g is not None))
    for i, t in enumerate(sorted(tmpls)):
        put(dirs["tmpl"], "seed-%03d" % i, t)

    api_md = open("docs/api.md").read()
    bodies = set(re.findall(r"-d '([^']*)'", api_md))
    for m in re.finditer(r"```json\n(.*?)```", api_md, re.S):
        bodies.add(m.group(1).strip())
    for m in re.finditer(r"`(\{[^`]*\})`", api_md):
        bodies.add(m.group(1))
    # The form /swarm takes reaches ctl_parse as an object of strings
    # (master/api.c), and a start may carry a scenario and a ramp down.
    bodies.add('{"user_count": "50", "spawn_rate": "10", "host": '
               '"http://127.0.0.1:8080", "run_time": "1m30s"}')
    bodies.add(json.dumps({"users": 5, "max_inflight": 100, "rate": 0,
                           "stages": [{"duration": 10, "users": 5,
                                       "ramp": "step"}],
                           "ramp_down": "30s",
                           "host": "http://127.0.0.1:8080",
                           "scenario": open(yamls[0]).read()}))
    n = 0
    for b in sorted(bodies):
        try:
            json.loads(b)
        except ValueError:
            continue  # an elided example ("...") is no body
        put(dirs["ctl"], "seed-%03d.json" % n, b)
        n += 1

    for p in sorted(glob.glob("examples/data/*.csv")):
        with open(p, "rb") as f:
            head = b"".join(f.readline() for _ in range(20))
        put(dirs["feed"], "seed-" + os.path.basename(p), head)


if __name__ == "__main__":
    main()
