"""Reads a systemd service unit the way systemd does, enough to start its
ExecStart= by hand: the unit file (sections, continuation lines, comments),
its EnvironmentFile= files (a port of systemd's env-file parser,
src/basic/env-file.c), the %-specifiers, and the $VAR / ${VAR} expansion of
ExecStart (systemd's replace_env_argv: "$VAR" as a whole word is split at
whitespace, "${VAR}" is always exactly its value, "$$" is "$").

Used by tests/fleet/run.py (the fleet test) and tests/fleet/deploy_check.py.
Only what hornet's units use is supported; anything else raises UnitError,
so a unit that grows a construct this module does not know fails loudly
instead of being started differently from how systemd would start it.
"""
import os
import shlex
import socket

WHITESPACE = " \t\n\r"
NEWLINE = "\n\r"
COMMENTS = "#;"
SHELL_NEED_ESCAPE = "\"\\`$"


class UnitError(Exception):
    pass


def parse_unit_text(text, name="unit"):
    """{section: [(key, value), ...]} in file order."""
    sections = {}
    cur = None
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line or line[0] in COMMENTS:
            continue
        # a trailing backslash continues the line (comment lines in between
        # are skipped, as systemd does)
        while line.endswith("\\") and i < len(lines):
            nxt = lines[i].strip()
            i += 1
            if nxt and nxt[0] in COMMENTS:
                continue
            line = line[:-1] + " " + nxt
        if line.startswith("[") and line.endswith("]"):
            cur = line[1:-1]
            sections.setdefault(cur, [])
            continue
        if cur is None:
            raise UnitError("%s: assignment outside a section: %r" % (name, line))
        if "=" not in line:
            raise UnitError("%s: not KEY=VALUE: %r" % (name, line))
        k, v = line.split("=", 1)
        sections[cur].append((k.strip(), v.strip()))
    return sections


def parse_env_text(text):
    """systemd's EnvironmentFile= parser (load_env_file): returns {KEY: VALUE}.
    Values are taken literally apart from quoting and backslashes: no
    variable is expanded."""
    env = {}
    PRE_KEY, KEY, PRE_VALUE, VALUE, VALUE_ESCAPE, SQ, DQ, DQ_ESCAPE, COMMENT, \
        COMMENT_ESCAPE = range(10)
    state = PRE_KEY
    key = []
    value = None
    last_value_ws = None
    last_key_ws = None

    def push():
        k = "".join(key)
        if last_key_ws is not None:
            k = k[:last_key_ws]
        env[k] = "".join(value) if value is not None else ""

    for c in text:
        if state == PRE_KEY:
            if c in COMMENTS:
                state = COMMENT
            elif c not in WHITESPACE:
                state = KEY
                last_key_ws = None
                key = [c]
        elif state == KEY:
            if c in NEWLINE:
                state = PRE_KEY
                key = []
            elif c == "=":
                state = PRE_VALUE
                last_value_ws = None
            else:
                if c not in WHITESPACE:
                    last_key_ws = None
                elif last_key_ws is None:
                    last_key_ws = len(key)
                key.append(c)
        elif state == PRE_VALUE:
            if c in NEWLINE:
                state = PRE_KEY
                push()
                key, value = [], None
            elif c == "'":
                state = SQ
            elif c == '"':
                state = DQ
            elif c == "\\":
                state = VALUE_ESCAPE
            elif c not in WHITESPACE:
                state = VALUE
                value = (value or []) + [c]
        elif state == VALUE:
            if c in NEWLINE:
                state = PRE_KEY
                if value is not None and last_value_ws is not None:
                    value = value[:last_value_ws]
                push()
                key, value = [], None
            elif c == "\\":
                state = VALUE_ESCAPE
                last_value_ws = None
            else:
                if c not in WHITESPACE:
                    last_value_ws = None
                elif last_value_ws is None:
                    last_value_ws = len(value or [])
                value = (value or []) + [c]
        elif state == VALUE_ESCAPE:
            state = VALUE
            if c not in NEWLINE:
                value = (value or []) + [c]
        elif state == SQ:
            if c == "'":
                state = PRE_VALUE
            else:
                value = (value or []) + [c]
        elif state == DQ:
            if c == '"':
                state = PRE_VALUE
            elif c == "\\":
                state = DQ_ESCAPE
            else:
                value = (value or []) + [c]
        elif state == DQ_ESCAPE:
            state = DQ
            if c in SHELL_NEED_ESCAPE:
                value = (value or []) + [c]
            elif c != "\n":
                value = (value or []) + ["\\", c]
        elif state == COMMENT:
            if c == "\\":
                state = COMMENT_ESCAPE
            elif c in NEWLINE:
                state = PRE_KEY
        elif state == COMMENT_ESCAPE:
            state = PRE_KEY if c in NEWLINE else COMMENT
    if state in (PRE_VALUE, VALUE, VALUE_ESCAPE, SQ, DQ, DQ_ESCAPE):
        if state == VALUE and value is not None and last_value_ws is not None:
            value = value[:last_value_ws]
        push()
    return env


def unescape_instance(s):
    """%I: the instance with systemd's \\xNN escapes undone."""
    out, i = [], 0
    while i < len(s):
        if s.startswith("\\x", i) and i + 4 <= len(s):
            out.append(chr(int(s[i + 2:i + 4], 16)))
            i += 4
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def expand_specifiers(s, unit_name, instance=""):
    prefix = unit_name.split("@", 1)[0] if "@" in unit_name else unit_name.rsplit(".", 1)[0]
    host = socket.gethostname()
    table = {
        "i": instance,
        "I": unescape_instance(instance),
        "n": unit_name,
        "N": unit_name.rsplit(".", 1)[0],
        "p": prefix,
        "P": prefix,
        "H": host,
        "l": host.split(".", 1)[0],
        "%": "%",
    }
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "%":
            if i + 1 >= len(s):
                raise UnitError("lone %% at the end of %r" % s)
            spec = s[i + 1]
            if spec not in table:
                raise UnitError("specifier %%%s in %r is not supported here" % (spec, s))
            out.append(table[spec])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def replace_env(word, env):
    """${VAR} and $$ inside a word (systemd's replace_env)."""
    out, i = [], 0
    while i < len(word):
        if word.startswith("$$", i):
            out.append("$")
            i += 2
        elif word.startswith("${", i):
            j = word.find("}", i)
            if j < 0:
                raise UnitError("unterminated ${ in %r" % word)
            out.append(env.get(word[i + 2:j], ""))
            i = j + 1
        elif word[i] == "$" and i + 1 < len(word) and (word[i + 1].isalnum() or word[i + 1] == "_"):
            raise UnitError("$NAME inside a word (%r): systemd would not expand it the "
                            "same way everywhere; use ${NAME}" % word)
        else:
            out.append(word[i])
            i += 1
    return "".join(out)


def replace_env_argv(argv, env):
    out = []
    for w in argv:
        if w.startswith("$") and len(w) > 1 and w[1] not in "{$":
            name = w[1:]
            if name in env:
                # split at whitespace, quotes honoured (EXTRACT_UNQUOTE)
                out.extend(shlex.split(env[name]))
            continue
        out.append(replace_env(w, env))
    return out


def unset_vars(argv_template, env):
    """Names of $VAR / ${VAR} in the ExecStart words that env does not define."""
    missing = []
    for w in argv_template:
        i = 0
        while i < len(w):
            if w.startswith("$$", i):
                i += 2
            elif w.startswith("${", i):
                j = w.find("}", i)
                name = w[i + 2:j]
                if name not in env:
                    missing.append(name)
                i = j + 1
            elif w[i] == "$" and i == 0:
                if w[1:] not in env:
                    missing.append(w[1:])
                break
            else:
                i += 1
    return missing


class Service:
    """A loaded service unit: .argv (expanded ExecStart), .env, .limits, and
    the unit's own settings (.settings: {key: [values]})."""

    def __init__(self, path, instance="", path_map=None, extra_env=None):
        self.path = path
        base = os.path.basename(path)
        if instance:
            if "@." not in base:
                raise UnitError("%s is not a template unit" % base)
            self.name = base.replace("@.", "@%s." % instance)
        else:
            self.name = base
        self.instance = instance
        self.path_map = path_map or {}
        with open(path) as f:
            self.sections = parse_unit_text(f.read(), base)
        svc = self.sections.get("Service")
        if svc is None:
            raise UnitError("%s has no [Service] section" % base)
        self.settings = {}
        for k, v in svc:
            self.settings.setdefault(k, []).append(v)
        self.env = {}
        self.env_files = []
        for v in self.settings.get("Environment", []):
            for assignment in shlex.split(expand_specifiers(v, self.name, instance)):
                k, _, val = assignment.partition("=")
                self.env[k] = val
        for v in self.settings.get("EnvironmentFile", []):
            optional = v.startswith("-")
            p = expand_specifiers(v.lstrip("-"), self.name, instance)
            real = self.map_path(p)
            if not os.path.exists(real):
                if optional:
                    continue
                raise UnitError("%s: EnvironmentFile %s (%s) does not exist" % (self.name, p, real))
            with open(real) as f:
                self.env.update(parse_env_text(f.read()))
            self.env_files.append(real)
        if extra_env:
            self.env.update(extra_env)
        starts = self.settings.get("ExecStart", [])
        if len(starts) != 1:
            raise UnitError("%s: expected one ExecStart=, found %d" % (self.name, len(starts)))
        line = starts[0]
        while line and line[0] in "@-:+!":
            if line[0] in "@:+!":
                raise UnitError("%s: ExecStart prefix %r is not supported here" % (self.name, line[0]))
            line = line[1:]
        words = [expand_specifiers(w, self.name, instance) for w in shlex.split(line)]
        self.argv_template = words
        self.missing = unset_vars(words, self.env)
        self.argv = replace_env_argv(words, self.env)
        if not self.argv or not os.path.isabs(self.argv[0]):
            raise UnitError("%s: ExecStart must start with an absolute path" % self.name)
        self.exec_path = self.argv[0]

    def map_path(self, p):
        for src, dst in self.path_map.items():
            if p == src or p.startswith(src.rstrip("/") + "/"):
                return dst + p[len(src):]
        return p

    def get(self, key, default=None):
        v = self.settings.get(key)
        return v[-1] if v else default

    def limit_nofile(self):
        v = self.get("LimitNOFILE")
        if v is None:
            return None
        soft, _, hard = v.partition(":")
        hard = hard or soft
        conv = lambda x: -1 if x == "infinity" else int(x)   # noqa: E731
        return conv(soft), conv(hard)

    def umask(self):
        v = self.get("UMask")
        return int(v, 8) if v else None

    def command(self, binary=None):
        """argv with ExecStart's program replaced (e.g. by build/hornet)."""
        argv = list(self.argv)
        if binary:
            argv[0] = binary
        return argv
