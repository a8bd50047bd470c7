#!/usr/bin/env python3
"""Runs deploy/docker/Dockerfile without a container engine, as closely as a
chroot allows: each stage FROM debian:12-slim becomes a fresh minimal
Debian 12 root (mmdebstrap --variant=apt), and its WORKDIR, COPY (the
context filtered by Dockerfile.dockerignore, or --from=an earlier stage),
USER and RUN lines are carried out in it, RUN through chroot as the
stage's user (with this machine's CA bundle in NODE_EXTRA_CA_CERTS, for a
network that intercepts TLS). Then the two runtime stages' entrypoints are run as their
user: `hornet version`, and the target answering GET / on 127.0.0.1.

Not part of make test: it downloads Debian 12's base and the build
packages (about 200 MB) from the Debian archive. Needs root and
mmdebstrap. Prints "dockerfile: N passed, N failed".
    python3 tests/fleet/dockerfile_chroot.py [WORKDIR]
"""
import fnmatch
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DOCKERFILE = os.path.join(ROOT, "deploy", "docker", "Dockerfile")
RESULTS = []


def sh(*cmd, **kw):
    print("  $ " + " ".join(cmd)[:200], flush=True)
    return subprocess.run(list(cmd), check=True, **kw)


def parse():
    with open(DOCKERFILE) as f:
        text = re.sub(r"\\\n", " ", f.read())
    stages = []
    for line in text.split("\n"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        ins, _, rest = line.partition(" ")
        if ins.upper() == "FROM":
            m = re.match(r"(\S+)\s+AS\s+(\S+)", rest, re.I)
            stages.append({"from": m.group(1), "name": m.group(2), "ins": []})
        else:
            stages[-1]["ins"].append((ins.upper(), rest.strip()))
    return stages


def ignored(rel, patterns):
    for p in patterns:
        p = p.rstrip("/")
        if fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(rel, p + "/*") or \
                (p.startswith("**/") and fnmatch.fnmatch(os.path.basename(rel), p[3:])):
            return True
        if rel == p or rel.startswith(p + "/"):
            return True
    return False


def copy_context(src_rel, dst, root):
    with open(DOCKERFILE + ".dockerignore") as f:
        pats = [x.strip() for x in f if x.strip() and not x.startswith("#")]
    src = os.path.normpath(os.path.join(ROOT, src_rel))
    for d, dirs, files in os.walk(src):
        rel_d = os.path.relpath(d, ROOT)
        dirs[:] = [x for x in dirs if not ignored(os.path.normpath(os.path.join(rel_d, x)), pats)]
        for fn in files:
            rel = os.path.normpath(os.path.join(rel_d, fn))
            if ignored(rel, pats):
                continue
            out = os.path.join(root, dst.lstrip("/"), os.path.relpath(os.path.join(d, fn), src))
            os.makedirs(os.path.dirname(out), exist_ok=True)
            shutil.copy2(os.path.join(d, fn), out)


class Mounts:
    def __init__(self, root):
        self.root = root
        self.done = []

    def __enter__(self):
        for src, dst, args in (("proc", "proc", ["-t", "proc"]), ("/dev", "dev", ["--rbind"]),
                               ("/sys", "sys", ["--rbind"])):
            p = os.path.join(self.root, dst)
            os.makedirs(p, exist_ok=True)
            sh("mount", *args, src, p)
            self.done.append(p)
        shutil.copy("/etc/resolv.conf", os.path.join(self.root, "etc/resolv.conf"))
        return self

    def __exit__(self, *a):
        for p in reversed(self.done):
            subprocess.run(["umount", "-R", "-l", p])


def check(name, ok, detail=""):
    RESULTS.append(ok)
    print("%s %s %s" % ("PASS" if ok else "FAIL", name, detail), flush=True)


def main():
    if os.geteuid() != 0 or not shutil.which("mmdebstrap"):
        print("dockerfile: skipped: needs root and mmdebstrap")
        print("dockerfile: 0 passed, 0 failed")
        return 0
    work = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="hornet-dockerfile-")
    os.makedirs(work, exist_ok=True)
    roots = {}
    users = {}
    try:
        for st in parse():
            assert st["from"] == "debian:12-slim", st["from"]
            root = os.path.join(work, st["name"])
            shutil.rmtree(root, ignore_errors=True)
            print("== stage %s" % st["name"], flush=True)
            sh("mmdebstrap", "--quiet", "--variant=apt", "--mode=root", "bookworm", root,
               "http://deb.debian.org/debian")
            roots[st["name"]] = root
            workdir, user = "/", "0:0"
            with Mounts(root):
                for ins, rest in st["ins"]:
                    if ins == "WORKDIR":
                        workdir = rest
                        os.makedirs(os.path.join(root, rest.lstrip("/")), exist_ok=True)
                    elif ins == "USER":
                        user = rest
                    elif ins == "COPY":
                        m = re.match(r"--from=(\S+)\s+(\S+)\s+(\S+)$", rest)
                        if m:
                            src = os.path.join(roots[m.group(1)], m.group(2).lstrip("/"))
                            dst = os.path.join(root, m.group(3).lstrip("/"))
                            os.makedirs(os.path.dirname(dst), exist_ok=True)
                            shutil.copy2(src, dst)
                        else:
                            *srcs, dst = rest.split()
                            dst = os.path.normpath(os.path.join(workdir, dst))
                            for src in srcs:
                                if os.path.isfile(os.path.join(ROOT, src)):
                                    out = os.path.join(root, dst.lstrip("/"), os.path.basename(src))
                                    os.makedirs(os.path.dirname(out), exist_ok=True)
                                    shutil.copy2(os.path.join(ROOT, src), out)
                                else:
                                    copy_context(src, dst, root)
                    elif ins == "RUN":
                        # this machine's CA bundle as well: its network may
                        # intercept TLS (npm) with a CA the image lacks
                        shutil.copy("/etc/ssl/certs/ca-certificates.crt",
                                    os.path.join(root, "host-ca.crt"))
                        try:
                            sh("chroot", "--userspec=" + user, root, "/usr/bin/env",
                               "NODE_EXTRA_CA_CERTS=/host-ca.crt", "/bin/sh", "-c",
                               "cd %s && %s" % (workdir, rest))
                        finally:
                            os.unlink(os.path.join(root, "host-ca.crt"))
                    elif ins in ("EXPOSE", "ENTRYPOINT", "CMD"):
                        pass
                    else:
                        raise RuntimeError("instruction %s not emulated" % ins)
            users[st["name"]] = user
            check("stage %s builds" % st["name"], True)
        # the runtime images: their user, their binaries, their libraries only
        h = roots["hornet"]
        with Mounts(h):
            r = subprocess.run(["chroot", "--userspec=" + users["hornet"], h,
                                "/usr/local/bin/hornet", "version"], capture_output=True, text=True)
            check("hornet image: hornet version as %s" % users["hornet"],
                  r.returncode == 0 and r.stdout.startswith("hornet "), r.stdout.strip()[:80])
            r = subprocess.run(["chroot", h, "ldd", "/usr/local/bin/hornet"],
                               capture_output=True, text=True)
            check("hornet image: every library found", "not found" not in r.stdout,
                  [x for x in r.stdout.splitlines() if "not found" in x])
            r = subprocess.run(["chroot", h, "dpkg-query", "-W", "-f", "${Package}\n"],
                               capture_output=True, text=True)
            dev = [p for p in r.stdout.split() if p.endswith("-dev") or p in ("gcc", "make")]
            check("hornet image: no compiler or -dev package", not dev, dev)
        t = roots["target"]
        with Mounts(t):
            p = subprocess.Popen(["chroot", "--userspec=" + users["target"], t,
                                  "/usr/local/bin/hornet-target", "--bind", "127.0.0.1",
                                  "--port", "0"], stdout=subprocess.PIPE, text=True)
            try:
                line = p.stdout.readline()
                addr = line.split("listening on ")[1].strip()
                with urllib.request.urlopen("http://%s/" % addr, timeout=5) as resp:
                    body = resp.read()
                check("target image: serves GET / as %s" % users["target"], body == b"hello\n",
                      repr(body))
            finally:
                p.terminate()
                p.wait(5)
        for name, root in roots.items():
            size = subprocess.run(["du", "-sh", root], capture_output=True, text=True).stdout.split()[0]
            print("   %s root: %s" % (name, size))
    except Exception as e:
        check("dockerfile", False, repr(e))
    finally:
        if len(sys.argv) <= 1:
            shutil.rmtree(work, ignore_errors=True)
    passed = sum(RESULTS)
    print("dockerfile: %d passed, %d failed" % (passed, len(RESULTS) - passed))
    return 0 if all(RESULTS) else 1


if __name__ == "__main__":
    socket.setdefaulttimeout(10)
    sys.exit(main())
