#!/usr/bin/env python3
"""Static checks of deploy/: everything that can be checked here without a
cluster, a cloud account or a container engine.

  shellcheck        every shell script of the repository (by name or #! line)
  systemd           systemd-analyze verify (and security) of the units, in a
                    temporary root; the units agree with their env files and
                    with the options the binary takes
  k8s               kubectl kustomize deploy/k8s renders; key fields checked
  terraform         HCL structure and references; the user data rendered as
                    Terraform would and shellchecked
  docker            compose.yaml and the Dockerfile checked; the runtime
                    packages cover the libraries build/hornet links
  lists             the build packages in install-deps.sh, debian/control
                    and the Dockerfile agree; the version is the Makefile's

Run from anywhere: python3 tests/fleet/deploy_check.py [-v] [NAME...]
Ends with one line "deploy: N passed, N failed".
"""
import base64
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback

try:
    import yaml
except ImportError:   # a python3 without PyYAML first on PATH: Debian's has it
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("deploy: PyYAML is missing (apt-get install python3-yaml)")
    print("deploy: 0 passed, 1 failed")
    sys.exit(1)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import systemd_unit as su  # noqa: E402

HORNET = os.environ.get("HORNET", os.path.join(ROOT, "build", "hornet"))
DEPLOY = os.path.join(ROOT, "deploy")
VERBOSE = "-v" in sys.argv
ONLY = [a for a in sys.argv[1:] if not a.startswith("-")]
RESULTS = []


def run(*cmd, **kw):
    kw.setdefault("timeout", 120)
    return subprocess.run(list(cmd), capture_output=True, text=True, **kw)


def have_hornet():
    return os.access(HORNET, os.X_OK)


def makefile_version():
    with open(os.path.join(ROOT, "Makefile")) as f:
        m = re.search(r"^VERSION\s*:?=\s*(\S+)", f.read(), re.M)
    return m.group(1)


class Fail(Exception):
    pass


def expect(cond, msg):
    if not cond:
        raise Fail(msg)


CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


# --- shell scripts ----------------------------------------------------------

def repo_files():
    r = run("git", "-C", ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    if r.returncode == 0:
        files = [f for f in r.stdout.split("\0") if f]
    else:   # not a checkout
        files = []
        for d, dirs, fs in os.walk(ROOT):
            dirs[:] = [x for x in dirs if x not in (".git", "build", "node_modules")]
            files += [os.path.relpath(os.path.join(d, f), ROOT) for f in fs]
    return sorted(f for f in files if os.path.isfile(os.path.join(ROOT, f))
                  and "node_modules" not in f.split("/"))


def shell_scripts():
    out = []
    for f in repo_files():
        if f.startswith("build/"):
            continue
        if f.endswith(".sh"):
            out.append(f)
            continue
        if "." in os.path.basename(f) and not f.endswith((".postinst", ".postrm",
                                                          ".preinst", ".prerm")):
            continue
        try:
            with open(os.path.join(ROOT, f), "rb") as fh:
                first = fh.readline(200)
        except OSError:
            continue
        if re.match(rb"#!\s*(/usr)?/bin/(env\s+)?(ba|da)?sh\b", first):
            out.append(f)
    return out


@check
def shellcheck():
    if not shutil.which("shellcheck"):
        raise Fail("shellcheck is not installed (deploy/install-deps.sh installs it)")
    scripts = shell_scripts()
    expect(len(scripts) >= 10, "found only %s" % scripts)
    bad = {}
    for f in scripts:
        r = run("shellcheck", "--format=gcc", f, cwd=ROOT)
        if r.returncode:
            bad[f] = r.stdout.strip().splitlines()
    for f, lines in bad.items():
        print("    %s:\n      %s" % (f, "\n      ".join(lines[:10])))
    expect(not bad, "findings in %d of %d scripts: %s" % (len(bad), len(scripts), sorted(bad)))
    return "%d scripts" % len(scripts)


# --- systemd ----------------------------------------------------------------

UNITS = os.path.join(DEPLOY, "systemd")


def unit_root():
    """A root with the system's units (for the targets the units name),
    the env files and an executable /usr/bin/hornet."""
    r = tempfile.mkdtemp(prefix="hornet-units-")
    for d in ("lib/systemd", "usr/bin", "etc/systemd/system", "etc/default"):
        os.makedirs(os.path.join(r, d), exist_ok=True)
    for src in ("/lib/systemd/system", "/usr/lib/systemd/system"):
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(r, "lib/systemd/system"), symlinks=True,
                            dirs_exist_ok=True)
            break
    if have_hornet():
        shutil.copy(HORNET, os.path.join(r, "usr/bin/hornet"))
    else:
        with open(os.path.join(r, "usr/bin/hornet"), "w") as f:
            f.write("#!/bin/sh\nexit 0\n")
        os.chmod(os.path.join(r, "usr/bin/hornet"), 0o755)
    for u in ("hornet-master.service", "hornet-worker@.service"):
        shutil.copy(os.path.join(UNITS, u), os.path.join(r, "etc/systemd/system", u))
    shutil.copy(os.path.join(UNITS, "hornet-master.default"), os.path.join(r, "etc/default/hornet-master"))
    shutil.copy(os.path.join(UNITS, "hornet-worker.default"), os.path.join(r, "etc/default/hornet-worker"))
    return r


@check
def systemd_analyze_verify():
    if not shutil.which("systemd-analyze"):
        raise Fail("systemd-analyze is missing (deploy/install-deps.sh installs systemd)")
    r = unit_root()
    try:
        p = run("systemd-analyze", "verify", "--man=no", "--root=" + r,
                "hornet-master.service", "hornet-worker@1.service")
        out = (p.stdout + p.stderr).strip()
        expect(p.returncode == 0 and not out, "exit %d: %s" % (p.returncode, out))
        scores = {}
        for u in ("hornet-master.service", "hornet-worker@1.service"):
            s = run("systemd-analyze", "security", "--offline=yes", "--root=" + r, u)
            m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", s.stdout + s.stderr)
            expect(m, "no exposure level for %s: %s" % (u, (s.stdout + s.stderr)[-300:]))
            scores[u] = float(m.group(1))
        expect(all(v <= 2.5 for v in scores.values()), "exposure above 2.5: %s" % scores)
        return "no findings; exposure %s" % ", ".join("%s %.1f" % kv for kv in scores.items())
    finally:
        shutil.rmtree(r, ignore_errors=True)


@check
def units_agree_with_env_files_and_binary():
    pmap = {"/etc/default/hornet-master": os.path.join(UNITS, "hornet-master.default"),
            "/etc/default/hornet-worker": os.path.join(UNITS, "hornet-worker.default")}
    m = su.Service(os.path.join(UNITS, "hornet-master.service"), path_map=pmap)
    w = su.Service(os.path.join(UNITS, "hornet-worker@.service"), instance="1", path_map=pmap)
    for s in (m, w):
        expect(not s.missing, "%s uses variables its env file lacks: %s" % (s.name, s.missing))
        expect(s.exec_path == "/usr/bin/hornet", "%s runs %s" % (s.name, s.exec_path))
        need = {"User": "hornet", "NoNewPrivileges": "yes", "ProtectSystem": "strict",
                "ProtectHome": "yes", "PrivateTmp": "yes", "Restart": "on-failure"}
        for k, v in need.items():
            expect(s.get(k) == v, "%s: %s=%s, want %s" % (s.name, k, s.get(k), v))
        expect(s.limit_nofile()[1] >= 65536, "%s: LimitNOFILE too low" % s.name)
        # secrets only as files
        expect("--web-token" not in s.argv, "%s passes --web-token on the command line" % s.name)
        expect("HORNET_WEB_TOKEN" not in s.env, "%s puts the token in the environment" % s.name)
    expect(m.argv[1] == "master" and w.argv[1] == "worker", "subcommands: %s %s" % (m.argv, w.argv))
    for flag in ("--keys", "--web-token-file", "--bind", "--web"):
        expect(flag in m.argv, "master ExecStart lacks %s" % flag)
    for flag in ("--master", "--keys", "--curve-server-key", "--threads", "--id"):
        expect(flag in w.argv, "worker ExecStart lacks %s" % flag)
    expect(w.argv[w.argv.index("--id") + 1].endswith("-1"), "worker id not per instance")
    if not have_hornet():
        return "units and env files agree (no build/hornet: options not checked)"
    # every option the units pass is one the binary documents
    unknown = []
    for s, cmd in ((m, "master"), (w, "worker")):
        h = run(HORNET, cmd, "--help")
        text = h.stdout + h.stderr
        for a in s.argv[2:]:
            if a.startswith("--") and not re.search(r"(^|[\s\[,])%s\b" % re.escape(a), text):
                unknown.append("%s %s" % (cmd, a))
    expect(not unknown, "not in the binary's --help: %s" % unknown)
    return "units, env files and the binary's options agree"


# --- Kubernetes ---------------------------------------------------------------

def k8s_render():
    if not shutil.which("kubectl"):
        raise Fail("kubectl is missing (deploy/install-deps.sh installs kubernetes-client)")
    tmp = tempfile.mkdtemp(prefix="hornet-k8s-")
    d = os.path.join(tmp, "k8s")
    shutil.copytree(os.path.join(DEPLOY, "k8s"), d, ignore=shutil.ignore_patterns("secrets"))
    env = dict(os.environ, HORNET_K8S_SECRETS=os.path.join(d, "secrets"))
    if have_hornet():
        p = run("bash", os.path.join(d, "make-secrets.sh"), HORNET, env=env)
        expect(p.returncode == 0, "make-secrets.sh: %s" % (p.stdout + p.stderr))
    else:   # stand-ins of the same names
        os.makedirs(os.path.join(d, "secrets", "keys"))
        for f in ("master.key", "master.key_secret", "worker.key", "worker.key_secret"):
            with open(os.path.join(d, "secrets", "keys", f), "w") as fh:
                fh.write('curve\n    public-key = "stand-in"\n')
        for f in ("master-public-key", "web-token"):
            with open(os.path.join(d, "secrets", f), "w") as fh:
                fh.write("stand-in")
    p = run("kubectl", "kustomize", d)
    expect(p.returncode == 0, "kubectl kustomize: %s" % p.stderr.strip()[-800:])
    docs = [x for x in yaml.safe_load_all(p.stdout) if x]
    with open(os.path.join(d, "secrets", "web-token")) as fh:
        token = fh.read().strip()
    shutil.rmtree(tmp, ignore_errors=True)
    return docs, p.stdout, token


@check
def k8s_kustomize_renders_and_fields():
    docs, text, token = k8s_render()
    by = {}
    for x in docs:
        by.setdefault(x["kind"], []).append(x)
    kinds = {k: len(v) for k, v in by.items()}
    expect(kinds == {"Namespace": 1, "Deployment": 2, "Service": 1, "ConfigMap": 2,
                     "Secret": 2, "NetworkPolicy": 1}, "kinds: %s" % kinds)
    for x in docs:
        if x["kind"] != "Namespace":
            expect(x["metadata"].get("namespace") == "hornet", "%s not in namespace hornet"
                   % x["metadata"]["name"])
    dep = {x["metadata"]["name"]: x for x in by["Deployment"]}
    cms = {x["metadata"]["name"].rsplit("-", 1)[0]: x for x in by["ConfigMap"]}
    secs = {x["metadata"]["name"].rsplit("-", 1)[0]: x for x in by["Secret"]}
    svc = by["Service"][0]

    m = dep["hornet-master"]
    ms = m["spec"]
    expect(ms["replicas"] == 1 and ms["strategy"]["type"] == "Recreate", "master replicas/strategy")
    mc = ms["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in mc["ports"]}
    expect(ports == {"zmq": 5557, "web": 8089}, "master ports %s" % ports)
    for probe in ("readinessProbe", "livenessProbe"):
        g = mc[probe]["httpGet"]
        expect(g["path"] == "/healthz" and g["port"] == "web", "%s: %s" % (probe, g))
    a = mc["args"]
    expect(a[0] == "master" and "--web-token-file" in a and "--keys" in a, "master args %s" % a)
    expect(token not in text.replace(base64.b64encode(token.encode()).decode(), ""),
           "the web token appears in clear in the rendered manifests")
    psc = ms["template"]["spec"]["securityContext"]
    expect(psc.get("runAsNonRoot") is True and psc.get("runAsUser"), "master runs as root")
    expect(mc["securityContext"].get("allowPrivilegeEscalation") is False, "master escalation")
    # the Service sends both ports to the master's pods
    labels = ms["template"]["metadata"]["labels"]
    expect(all(labels.get(k) == v for k, v in svc["spec"]["selector"].items()), "Service selector")
    sports = {p["name"]: (p["port"], p["targetPort"]) for p in svc["spec"]["ports"]}
    expect(sports == {"zmq": (5557, "zmq"), "web": (8089, "web")}, "Service ports %s" % sports)

    # the scenario ConfigMap: every file the scenario uses, at its path
    cm = cms["hornet-scenario"]
    scen = yaml.safe_load(cm["data"]["scenario.yaml"])
    used = sorted(set(re.findall(r"body_file:\s*(\S+)", cm["data"]["scenario.yaml"])))
    vols = {v["name"]: v for v in ms["template"]["spec"]["volumes"]}
    cmvol = vols["scenario"]["configMap"]
    expect(cmvol["name"] == cm["metadata"]["name"], "scenario volume does not name the ConfigMap")
    items = {i["path"]: i["key"] for i in cmvol["items"]}
    for path in used:
        key = items.get(path)
        expect(key and key in cm.get("binaryData", {}), "%s: no binaryData item for it" % path)
        with open(os.path.join(ROOT, "examples", path), "rb") as fh:
            expect(base64.b64decode(cm["binaryData"][key]) == fh.read(), "%s differs" % path)
    expect(items.get("scenario.yaml") == "scenario.yaml", "scenario.yaml item")
    expect("tasks" in scen, "scenario has no tasks")

    # secrets: the master's and the workers', each with only what it needs
    msec, wsec = secs["hornet-master-secrets"], secs["hornet-worker-secrets"]
    expect(set(msec["data"]) == {"master.key_secret", "master.key", "worker.key", "web-token"},
           "master secret keys %s" % sorted(msec["data"]))
    expect(set(wsec["data"]) == {"worker.key_secret", "worker.key", "master-public-key"},
           "worker secret keys %s" % sorted(wsec["data"]))
    expect(vols["secrets"]["secret"]["secretName"] == msec["metadata"]["name"],
           "master secret volume name")

    w = dep["hornet-worker"]
    ws = w["spec"]
    expect(ws["replicas"] >= 1, "worker replicas")
    wc = ws["template"]["spec"]["containers"][0]
    wa = wc["args"]
    i = wa.index("--master")
    expect(wa[i + 1] == "tcp://%s:5557" % svc["metadata"]["name"], "worker --master %s" % wa[i + 1])
    expect("--keys" in wa and "--curve-server-key" in wa, "worker args %s" % wa)
    ref = wc["env"][0]["valueFrom"]["secretKeyRef"]
    expect(ref["name"] == wsec["metadata"]["name"] and ref["key"] == "master-public-key",
           "worker secretKeyRef %s (kustomize did not rewrite the name?)" % ref)
    wvols = {v["name"]: v for v in ws["template"]["spec"]["volumes"]}
    expect(wvols["secrets"]["secret"]["secretName"] == wsec["metadata"]["name"], "worker volume")

    # one version: the image tag is the Makefile's
    ver = makefile_version()
    for d in (m, w):
        for c in d["spec"]["template"]["spec"]["containers"] + \
                d["spec"]["template"]["spec"].get("initContainers", []):
            expect(c["image"].endswith(":" + ver), "%s image %s, Makefile VERSION %s"
                   % (d["metadata"]["name"], c["image"], ver))
    # the copy of the example is the example
    for rel in ["attestation.yaml"] + used:
        a_ = os.path.join(DEPLOY, "k8s", "scenario", rel)
        b_ = os.path.join(ROOT, "examples", rel)
        with open(a_, "rb") as fa, open(b_, "rb") as fb:
            expect(fa.read() == fb.read(), "deploy/k8s/scenario/%s differs from examples/" % rel)
    if have_hornet():
        p = run(HORNET, "check", os.path.join(DEPLOY, "k8s", "scenario", "attestation.yaml"))
        expect(p.returncode == 0, "hornet check: %s" % p.stderr[-300:])
    kv = run("kubectl", "version", "--client").stdout.strip().splitlines()
    return "%d objects; %s" % (len(docs), kv[0] if kv else "")


# --- Terraform --------------------------------------------------------------

TF = os.path.join(DEPLOY, "terraform", "aws")


def hcl_strip(text):
    """The HCL text with comments removed and string contents blanked,
    except the ${...} interpolations inside them (kept, as code). Checks
    that quotes, braces, brackets and parentheses balance."""
    out = []
    stack = []     # '{', '[', '(', '"', '${'
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        top = stack[-1] if stack else None
        if top == '"':
            if c == "\\":
                out.append("  ")
                i += 2
                continue
            if text.startswith("${", i) or text.startswith("%{", i):
                stack.append("${")
                out.append(" {")
                i += 2
                continue
            if c == '"':
                stack.pop()
                out.append('"')
            elif c == "\n":
                raise Fail("newline inside a quoted string at offset %d" % i)
            else:
                out.append(" ")
            i += 1
            continue
        if c == "#" or text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i)
            if j < 0:
                raise Fail("unterminated /* comment")
            i = j + 2
            continue
        if text.startswith("<<", i):
            raise Fail("heredocs are not used in this module (keep HCL simple)")
        if c == '"':
            stack.append('"')
            out.append('"')
        elif c in "{[(":
            stack.append(c)
            out.append(c)
        elif c in "}])":
            want = {"}": ("{", "${"), "]": ("[",), ")": ("(",)}[c]
            if not stack or stack[-1] not in want:
                raise Fail("unbalanced %r at offset %d" % (c, i))
            stack.pop()
            out.append(c)
        else:
            out.append(c)
        i += 1
    if stack:
        raise Fail("unclosed %r" % stack[-1])
    return "".join(out)


def tf_module():
    src = {}
    for f in sorted(glob.glob(os.path.join(TF, "*.tf"))):
        with open(f) as fh:
            src[os.path.basename(f)] = fh.read()
    return src


@check
def terraform_structure_and_references():
    src = tf_module()
    expect(set(src) >= {"main.tf", "variables.tf", "outputs.tf", "versions.tf"}, sorted(src))
    code = {}
    for f, t in src.items():
        try:
            code[f] = hcl_strip(t)
        except Fail as e:
            raise Fail("%s: %s" % (f, e))
    raw = "\n".join(src.values())
    allc = "\n".join(code.values())
    variables = set(re.findall(r'^variable\s+"([\w-]+)"', raw, re.M))
    resources = set(re.findall(r'^resource\s+"(\w+)"\s+"(\w+)"', raw, re.M))
    datas = set(re.findall(r'^data\s+"(\w+)"\s+"(\w+)"', raw, re.M))
    locals_ = set()
    for t in code.values():
        for m in re.finditer(r"^locals\s*\{", t, re.M):
            depth, j = 1, m.end()
            start = j
            while depth:
                depth += {"{": 1, "}": -1}.get(t[j], 0)
                j += 1
            body = t[start:j - 1]
            # names at the block's own depth
            d = 0
            for line in body.split("\n"):
                if d == 0:
                    mm = re.match(r"\s*(\w+)\s*=", line)
                    if mm:
                        locals_.add(mm.group(1))
                d += line.count("{") + line.count("[") + line.count("(") \
                    - line.count("}") - line.count("]") - line.count(")")
    problems = []
    for v in set(re.findall(r"\bvar\.(\w+)", allc)):
        if v not in variables:
            problems.append("var.%s is not declared" % v)
    for v in variables:
        if not re.search(r"\bvar\.%s\b" % v, allc):
            problems.append("variable %s is never used" % v)
    for v in set(re.findall(r"\blocal\.(\w+)", allc)):
        if v not in locals_:
            problems.append("local.%s is not defined" % v)
    for t, n in set(re.findall(r"(?<!data\.)\b(aws_\w+)\.(\w+)\.", allc)):
        if (t, n) not in resources:
            problems.append("%s.%s is not a resource here" % (t, n))
    for t, n in set(re.findall(r"\bdata\.(\w+)\.(\w+)", allc)):
        if (t, n) not in datas:
            problems.append("data.%s.%s is not declared" % (t, n))
    for f in re.findall(r'file(?:base64)?\("\$\{path\.module\}/([^"]+)"\)', raw):
        if not os.path.exists(os.path.join(TF, f)):
            problems.append("%s does not exist" % f)
    expect(not problems, "; ".join(sorted(problems)))

    # the security groups: ZeroMQ only from the workers' group, web only from web_cidr
    def block(kind, name):
        m = re.search(r'^resource\s+"%s"\s+"%s"\s*\{(.*?)^\}' % (kind, name), raw, re.M | re.S)
        expect(m, "no %s.%s" % (kind, name))
        return m.group(1)
    z = block("aws_vpc_security_group_ingress_rule", "zmq_from_workers")
    expect(re.search(r"referenced_security_group_id\s*=\s*aws_security_group\.worker\.id", z)
           and "cidr_ipv4" not in z and "var.zmq_port" in z, "ZeroMQ rule: %s" % z)
    wr = block("aws_vpc_security_group_ingress_rule", "web")
    expect(re.search(r"cidr_ipv4\s*=\s*var\.web_cidr", wr) and "var.web_port" in wr, "web rule")
    ingress = re.findall(r'^resource\s+"aws_vpc_security_group_ingress_rule"\s+"(\w+)"', raw, re.M)
    expect(set(ingress) == {"zmq_from_workers", "web", "ssh_master", "ssh_worker"},
           "ingress rules %s" % ingress)
    asg = block("aws_autoscaling_group", "workers")
    expect("var.worker_spot" in asg and "var.worker_count" in asg and
           "var.worker_instance_type" in asg, "ASG size/type/spot from variables")
    outputs = set(re.findall(r'^output\s+"(\w+)"', raw, re.M))
    expect({"ui_url", "resize_command"} <= outputs, "outputs %s" % outputs)
    extra = ""
    h2j = os.environ.get("HCL2JSON")    # optional: a dir with @cdktf/hcl2json installed
    if h2j and shutil.which("node"):
        js = ("const {parse}=require('@cdktf/hcl2json');const fs=require('fs');"
              "(async()=>{for(const f of process.argv.slice(1)){"
              "await parse(f,fs.readFileSync(f,'utf8'));}})()"
              ".catch(e=>{console.error(String(e));process.exit(1)})")
        p = run("node", "-e", js, *sorted(glob.glob(os.path.join(TF, "*.tf"))),
                env=dict(os.environ, NODE_PATH=os.path.join(h2j, "node_modules")))
        expect(p.returncode == 0, "hcl2json: %s" % p.stderr[-500:])
        extra = "; HCL2 parser (hcl2json) accepts it"
    return "%d variables, %d resources, %d outputs%s" % (len(variables), len(resources),
                                                           len(outputs), extra)


def tf_vars_keys(raw, local):
    m = re.search(r"^\s*%s\s*=\s*\{(.*?)^\s*\}" % local, raw, re.M | re.S)
    expect(m, "no local %s" % local)
    return re.findall(r"^\s*(HORNET_\w+)\s*=", m.group(1), re.M)


@check
def terraform_user_data_renders_and_shellchecks():
    raw = tf_module()["main.tf"]
    done = []
    for role in ("master", "worker"):
        keys = tf_vars_keys(raw, "%s_vars" % role)
        with open(os.path.join(TF, "user-data", "%s.sh" % role)) as f:
            body = f.read()
        used = set(re.findall(r"\$\{?(HORNET_\w+)", body))
        assigned_in_body = set(re.findall(r"^\s*(?:export\s+)?(HORNET_\w+)=", body, re.M))
        expect(used - assigned_in_body <= set(keys),
               "%s.sh uses %s that Terraform does not set" % (role, sorted(used - set(keys) - assigned_in_body)))
        expect(set(keys) <= used, "%s_vars sets %s that %s.sh never uses"
               % (role, sorted(set(keys) - used), role))
        # as main.tf joins it: "#!/bin/bash", a comment, KEY='value' lines, the script
        sample = {k: "x'y z" for k in keys}
        lines = ["#!/bin/bash", "# hornet %s user data (deploy/terraform/aws)" % role]
        lines += ["%s='%s'" % (k, v.replace("'", "'\\''")) for k, v in sample.items()]
        rendered = "\n".join(lines + [body])
        with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as f:
            f.write(rendered)
        try:
            p = run("shellcheck", "--format=gcc", f.name)
            expect(p.returncode == 0, "rendered %s user data: %s" % (role, p.stdout[-800:]))
            p = run("bash", "-n", f.name)
            expect(p.returncode == 0, "bash -n: %s" % p.stderr)
            # main.tf's quoting keeps any value as it is (a CURVE key may hold $)
            tricky = "a$b'c\"d`e\\f ${g}"
            line = "%s='%s'" % (keys[0], tricky.replace("'", "'\\''"))
            p = run("bash", "-c", '%s; printf %%s "$%s"' % (line, keys[0]))
            expect(p.stdout == tricky, "quoting: %r != %r" % (p.stdout, tricky))
        finally:
            os.unlink(f.name)
        expect(len(rendered.encode()) < 12000, "user data near the 16 KB limit")
        done.append("%s (%d vars)" % (role, len(keys)))
    return ", ".join(done)


# --- Docker -----------------------------------------------------------------

DOCKER = os.path.join(DEPLOY, "docker")


def dockerfile_stages():
    with open(os.path.join(DOCKER, "Dockerfile")) as f:
        text = f.read()
    # join continuation lines
    text = re.sub(r"\\\n", " ", text)
    stages, cur = [], None
    for line in text.split("\n"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        ins, _, rest = line.partition(" ")
        ins = ins.upper()
        if ins == "FROM":
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?$", rest, re.I)
            expect(m, "FROM %s" % rest)
            cur = {"from": m.group(1), "name": m.group(2), "ins": []}
            stages.append(cur)
        else:
            expect(cur is not None, "instruction before FROM: %s" % line)
            cur["ins"].append((ins, rest))
    return stages


def apt_packages(stage):
    pk = []
    for ins, rest in stage["ins"]:
        if ins == "RUN" and "apt-get install" in rest:
            seg = rest.split("apt-get install", 1)[1].split("&&")[0]
            pk += [w for w in seg.split() if not w.startswith("-")]
    return pk


def direct_needed(binary):
    p = run("readelf", "-d", binary)
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", p.stdout)


@check
def dockerfile_stages_users_and_runtime_libs():
    st = dockerfile_stages()
    names = [s["name"] for s in st]
    expect(names == ["build", "target", "hornet"], "stages %s" % names)
    for s in st:
        expect(s["from"] == "debian:12-slim", "%s FROM %s" % (s["name"], s["from"]))
        for ins, rest in s["ins"]:
            expect(ins != "ADD", "ADD in %s (use COPY)" % s["name"])
            if ins == "RUN" and "apt-get install" in rest:
                expect("--no-install-recommends" in rest and "rm -rf /var/lib/apt/lists/*" in rest,
                       "%s: apt-get install without --no-install-recommends or list cleanup"
                       % s["name"])
            m = re.match(r"--from=(\S+)", rest) if ins == "COPY" else None
            if m:
                expect(m.group(1) in names[:names.index(s["name"])], "COPY --from=%s" % m.group(1))
    for s in st[1:]:
        users = [rest for ins, rest in s["ins"] if ins == "USER"]
        expect(users and not users[-1].split(":")[0] in ("0", "root"), "%s runs as root" % s["name"])
        expect(not any(p.endswith("-dev") for p in apt_packages(s)), "%s has -dev packages"
               % s["name"])
        expect(any(ins == "ENTRYPOINT" for ins, _ in s["ins"]), "%s has no ENTRYPOINT" % s["name"])
    if os.path.exists(os.path.join(ROOT, "package-lock.json")):
        # the build embeds npm packages: fetched in the build stage, from the lock
        b = st[0]
        expect({"nodejs", "npm"} <= set(apt_packages(b)), "build stage lacks nodejs/npm")
        runs = [rest for ins, rest in b["ins"] if ins == "RUN"]
        expect(any(r.startswith("npm ci") for r in runs), "build stage does not run npm ci")
        with open(os.path.join(DOCKER, "Dockerfile.dockerignore")) as f:
            expect("node_modules" in f.read().split(), "the context's node_modules is not ignored")
    runtime = set(apt_packages(st[2]))
    if not have_hornet():
        return "stages ok (no build/hornet: runtime libraries not checked)"
    # every library build/hornet names directly comes from a listed package
    # (libc6 is in the base image; their own dependencies apt pulls in)
    direct = direct_needed(HORNET)
    libs = {}
    p = run("ldd", HORNET)
    for line in p.stdout.splitlines():
        m = re.match(r"\s*(\S+)\s*=>\s*(/\S+)", line)
        if m:
            libs[m.group(1)] = m.group(2)
    missing = []
    for so in direct:
        path = libs.get(so)
        expect(path, "ldd does not resolve %s" % so)
        owner = None
        for cand in (path, os.path.realpath(path)):
            r = run("dpkg", "-S", cand)
            if r.returncode == 0:
                owner = r.stdout.split(":", 1)[0]
                break
        if owner is None and path.startswith("/lib"):
            r = run("dpkg", "-S", "/usr" + path)
            owner = r.stdout.split(":", 1)[0] if r.returncode == 0 else None
        expect(owner, "no package owns %s" % path)
        if owner not in runtime and owner != "libc6":
            missing.append("%s (%s)" % (owner, so))
    expect(not missing, "runtime stage lacks %s" % missing)
    return "3 stages; runtime packages cover %d direct libraries" % len(direct)


@check
def compose_file():
    with open(os.path.join(DOCKER, "compose.yaml")) as f:
        c = yaml.safe_load(f)
    s = c["services"]
    expect(set(s) == {"master", "worker", "target"}, "services %s" % sorted(s))
    stages = [x["name"] for x in dockerfile_stages()]
    for name, svc in s.items():
        b = svc.get("build")
        expect(b and b["dockerfile"] == "deploy/docker/Dockerfile" and b["target"] in stages,
               "%s build %s" % (name, b))
        expect(os.path.normpath(os.path.join(DOCKER, b["context"])) == ROOT, "%s context" % name)
    w = s["worker"]
    expect("container_name" not in w and "ports" not in w, "worker cannot be scaled "
           "(container_name or host ports)")
    cmd = w["command"]
    expect(cmd[0] == "worker" and cmd[cmd.index("--master") + 1] == "tcp://master:5557",
           "worker command %s" % cmd)
    m = s["master"]
    expect(all(str(p).startswith("127.0.0.1:") for p in m.get("ports", [])),
           "master ports published beyond loopback: %s" % m.get("ports"))
    mc = m["command"]
    expect(mc[mc.index("--host") + 1] == "http://target:8080", "master --host")
    ran = "YAML structure"
    for tool in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(tool[0]) and run(*tool, "version").returncode == 0:
            p = run(*tool, "-f", os.path.join(DOCKER, "compose.yaml"), "config", "-q")
            if p.returncode == 0:
                ran += "; %s config -q" % " ".join(tool)
                break
            raise Fail("%s config: %s" % (" ".join(tool), p.stderr.strip()[-500:]))
    return ran


# --- lists that must agree ---------------------------------------------------

def install_deps_packages():
    with open(os.path.join(DEPLOY, "install-deps.sh")) as f:
        text = f.read()
    m = re.search(r"^PKGS=\((.*?)^\)", text, re.M | re.S)
    pk = []
    for line in m.group(1).split("\n"):
        pk += line.split("#", 1)[0].split()
    return pk


@check
def build_dependency_lists_and_version_agree():
    dev = {p for p in install_deps_packages() if p.endswith("-dev") and p != "libcmocka-dev"}
    with open(os.path.join(DEPLOY, "debian", "control")) as f:
        control = f.read()
    bd = re.search(r"^Build-Depends:(.*?)^\S", control, re.M | re.S).group(1)
    bdeps = {re.sub(r"\s*\(.*\)", "", x).strip() for x in bd.split(",") if x.strip()}
    expect(dev <= bdeps, "debian/control Build-Depends lacks %s" % sorted(dev - bdeps))
    docker_build = set(apt_packages(dockerfile_stages()[0]))
    expect(dev <= docker_build, "Dockerfile build stage lacks %s" % sorted(dev - docker_build))
    expect("debhelper-compat" in bdeps and "debhelper-compat (= 13)" in bd,
           "debhelper-compat (= 13) not in Build-Depends")
    expect("${shlibs:Depends}" in control, "Depends lacks ${shlibs:Depends}")
    expect(os.access(os.path.join(DEPLOY, "debian", "rules"), os.X_OK), "debian/rules not executable")
    expect(not os.path.exists(os.path.join(DEPLOY, "debian", "changelog")),
           "debian/changelog is generated by build-deb.sh from the Makefile's VERSION")
    with open(os.path.join(ROOT, "Makefile")) as f:
        mk = f.read()
    expect(re.search(r"^deb:.*\n(\t.*\n)*\t.*build-deb\.sh \$\(VERSION\)", mk, re.M),
           "make deb does not pass $(VERSION) to build-deb.sh")
    ver = makefile_version()
    with open(os.path.join(DEPLOY, "k8s", "kustomization.yaml")) as f:
        k = yaml.safe_load(f)
    tags = {i["name"]: i.get("newTag") for i in k.get("images", [])}
    expect(tags.get("hornet") == ver, "k8s image tag %s, Makefile VERSION %s" % (tags, ver))
    return "%d -dev packages in all three lists; version %s" % (len(dev), ver)


def main():
    for fn in CHECKS:
        if ONLY and fn.__name__ not in ONLY:
            continue
        try:
            detail = fn() or ""
            RESULTS.append(True)
            print("PASS %-48s %s" % (fn.__name__, detail), flush=True)
        except Fail as e:
            RESULTS.append(False)
            print("FAIL %-48s %s" % (fn.__name__, e), flush=True)
        except Exception:
            RESULTS.append(False)
            print("FAIL %-48s" % fn.__name__, flush=True)
            traceback.print_exc(limit=3)
    passed = sum(RESULTS)
    print("deploy: %d passed, %d failed" % (passed, len(RESULTS) - passed))
    return 0 if passed == len(RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
