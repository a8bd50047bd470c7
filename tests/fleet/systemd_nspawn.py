#!/usr/bin/env python3
"""The .deb's units under a real systemd: a fresh Debian 12 root
(mmdebstrap, with systemd) gets the package (apt resolves its libraries
from the archive), keys made as the hornet user, a 0600 token file, and is
booted with systemd-nspawn --private-network (its own loopback only). Then:
the units run as hornet with their sandbox (seccomp, NoNewPrivileges), a
5 s run's total equals the stand-in target's count, `systemctl stop` ends
in success, a group-readable token file fails with exit 2 and is not
restarted, a killed master is restarted.

Not part of make test: it downloads Debian 12 with systemd (about 60 MB)
from the Debian archive. Needs root, mmdebstrap and systemd-container.
    python3 tests/fleet/systemd_nspawn.py build/deb/hornet_VERSION_amd64.deb [build/target]
Prints "nspawn: N passed, N failed".
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RESULTS = []
TOKEN = os.urandom(12).hex()

SCENARIO = """host: http://127.0.0.1:8080
load: {users: 10, think_time: {min: 10ms, max: 20ms}}
tasks:
  - task: home
    path: /
"""
TARGET_UNIT = """[Service]
ExecStart=/usr/local/bin/target --bind 127.0.0.1 --port 8080
DynamicUser=yes
[Install]
WantedBy=multi-user.target
"""


def check(name, ok, detail=""):
    RESULTS.append(bool(ok))
    print("%s %-46s %s" % ("PASS" if ok else "FAIL", name, detail), flush=True)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    deb = os.path.abspath(sys.argv[1])
    target = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "build", "target"))
    if os.geteuid() != 0 or not shutil.which("mmdebstrap") or not shutil.which("systemd-nspawn"):
        print("nspawn: skipped: needs root, mmdebstrap and systemd-nspawn (systemd-container)")
        print("nspawn: 0 passed, 0 failed")
        return 0
    tmp = tempfile.mkdtemp(prefix="hornet-nspawn-")
    root = os.path.join(tmp, "root")
    boot = None
    try:
        r = subprocess.run(["mmdebstrap", "--quiet", "--variant=apt", "--mode=root",
                            "--include=systemd,systemd-sysv,dbus,curl,ca-certificates",
                            "bookworm", root, "http://deb.debian.org/debian",
                            "--customize-hook=copy-in %s /tmp" % deb,
                            "--customize-hook=copy-in %s /usr/local/bin" % target,
                            '--customize-hook=chroot "$1" apt-get install -y /tmp/%s'
                            % os.path.basename(deb)],
                           capture_output=True, text=True, timeout=900)
        check("apt installs the .deb on a fresh Debian 12", r.returncode == 0,
              (r.stdout + r.stderr)[-400:] if r.returncode else
              re.search(r"\d+ newly installed", r.stdout + r.stderr).group(0)
              if re.search(r"\d+ newly installed", r.stdout + r.stderr) else "")
        if r.returncode:
            return 1

        def chroot(cmd):
            return subprocess.run(["chroot", root, "sh", "-c", cmd], capture_output=True,
                                  text=True, timeout=60)
        r = chroot("runuser -u hornet -- hornet keys /etc/hornet/keys >/dev/null && "
                   "install -m 0600 -o hornet -g hornet /dev/null /etc/hornet/web-token")
        assert r.returncode == 0, r.stderr
        with open(os.path.join(root, "etc/hornet/web-token"), "w") as f:
            f.write(TOKEN + "\n")
        with open(os.path.join(root, "etc/hornet/scenario.yaml"), "w") as f:
            f.write(SCENARIO)
        with open(os.path.join(root, "etc/systemd/system/target.service"), "w") as f:
            f.write(TARGET_UNIT)
        with open(os.path.join(root, "etc/hornet/keys/master.key")) as f:
            pub = re.search(r'public-key = "([^"]+)"', f.read()).group(1)
        for name, values in (("hornet-master", {"HORNET_BIND": "tcp://127.0.0.1:5557",
                                                "HORNET_WEB": "127.0.0.1:8089"}),
                             ("hornet-worker", {"HORNET_MASTER_PUBLIC_KEY": "'%s'" % pub})):
            p = os.path.join(root, "etc/default", name)
            with open(p) as f:
                s = f.read()
            for k, v in values.items():
                s, n = re.subn(r"(?m)^%s=.*$" % k, lambda m, k=k, v=v: "%s=%s" % (k, v), s)
                assert n == 1, k
            with open(p, "w") as f:
                f.write(s)
        r = chroot("systemctl enable target.service hornet-master.service "
                   "hornet-worker@1.service hornet-worker@2.service")
        assert r.returncode == 0, r.stderr

        log = open(os.path.join(tmp, "nspawn.log"), "w")
        boot = subprocess.Popen(["systemd-nspawn", "-D", root, "--private-network",
                                 "--register=no", "--keep-unit", "--console=passive", "-b",
                                 "-M", "hornet-nspawn"], stdout=log, stderr=subprocess.STDOUT)
        leader = None
        for _ in range(100):
            time.sleep(0.2)
            kids = subprocess.run(["ps", "-o", "pid=", "--ppid", str(boot.pid)],
                                  capture_output=True, text=True).stdout.split()
            if kids:
                leader = kids[0]
                break
        assert leader, "the container did not start"

        def inside(cmd, timeout=30):
            return subprocess.run(["nsenter", "-t", leader, "-a", "--", "sh", "-c", cmd],
                                  capture_output=True, text=True, timeout=timeout)

        def show(unit):
            out = inside("systemctl show -p ActiveState -p Result -p ExecMainStatus "
                         "-p NRestarts -p MainPID %s" % unit).stdout
            return dict(x.split("=", 1) for x in out.split())

        def api(method, path, body=None):
            cmd = "curl -s -X %s -H 'Authorization: Bearer %s' " % (method, TOKEN)
            if body is not None:
                cmd += "-H 'Content-Type: application/json' -d '%s' " % json.dumps(body)
            return inside(cmd + "http://127.0.0.1:8089" + path).stdout

        state = {}
        for _ in range(100):
            time.sleep(0.3)
            try:
                state = json.loads(api("GET", "/api/v1/state") or "{}")
            except ValueError:
                continue
            if state.get("workers") == 2:
                break
        check("units start under systemd, 2 workers join", state.get("workers") == 2, str(state)[:200])
        mpid = show("hornet-master")["MainPID"]
        wpid = show("hornet-worker@1")["MainPID"]
        st = inside("grep -E '^(Uid|NoNewPrivs|Seccomp):' /proc/%s/status /proc/%s/status" % (mpid, wpid)).stdout
        uid = inside("id -u hornet").stdout.strip()
        check("they run as hornet, NoNewPrivs, seccomp filter",
              st.count("Uid:\t%s" % uid) == 2 and st.count("NoNewPrivs:\t1") == 2 and
              st.count("Seccomp:\t2") == 2, " ".join(st.split()))
        cmdline = inside("tr '\\0' ' ' < /proc/%s/cmdline" % mpid).stdout
        check("the token is not on the command line", TOKEN not in cmdline and
              "--web-token-file" in cmdline, cmdline[:160])
        api("POST", "/api/v1/start", {"duration": "5s"})
        for _ in range(100):
            time.sleep(0.3)
            s = json.loads(api("GET", "/api/v1/state") or "{}")
            if s.get("state") == "stopped" and s.get("run") == 1:
                break
        time.sleep(0.5)
        rep = json.loads(inside("cat /var/lib/hornet/last-run.json").stdout or "{}")
        counts = json.loads(inside("curl -s http://127.0.0.1:8080/__counts").stdout or "{}")
        check("run total equals the target's count", rep.get("requests") and
              rep.get("requests") == counts.get("total"),
              "hornet %s, target %s" % (rep.get("requests"), counts.get("total")))
        sec = inside("systemd-analyze security hornet-master.service | tail -1").stdout.strip()
        check("systemd-analyze security (live)", "OK" in sec or "SAFE" in sec, sec)
        inside("systemctl stop hornet-worker@1 hornet-worker@2 hornet-master")
        sh_, sw = show("hornet-master"), show("hornet-worker@1")
        check("systemctl stop: inactive, success", sh_["ActiveState"] == "inactive" and
              sh_["Result"] == "success" and sw["Result"] == "success", "%s %s" % (sh_, sw))
        inside("chmod 0640 /etc/hornet/web-token; systemctl start hornet-master")
        time.sleep(3)
        s = show("hornet-master")
        check("group-readable token: exit 2, no restart", s["ExecMainStatus"] == "2" and
              s["NRestarts"] == "0" and s["ActiveState"] == "failed", str(s))
        inside("chmod 0600 /etc/hornet/web-token; systemctl reset-failed hornet-master; "
               "systemctl start hornet-master")
        time.sleep(2)
        inside("systemctl kill -s KILL hornet-master")
        time.sleep(4)
        s = show("hornet-master")
        check("a killed master is restarted", s["ActiveState"] == "active" and s["NRestarts"] == "1",
              str(s))
        inside("systemctl poweroff")
        boot.wait(30)
    except Exception as e:
        check("nspawn", False, repr(e)[:400])
    finally:
        if boot and boot.poll() is None:
            boot.terminate()
            try:
                boot.wait(15)
            except subprocess.TimeoutExpired:
                boot.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    passed = sum(RESULTS)
    print("nspawn: %d passed, %d failed" % (passed, len(RESULTS) - passed))
    return 0 if all(RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
