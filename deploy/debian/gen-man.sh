#!/bin/sh
# gen-man.sh HORNET VERSION OUT: writes the man page hornet(1) with help2man
# from `hornet --help`, plus one section per command from
# `hornet COMMAND --help` (the commands are read from the --help list, so a
# new command gets its section without a change here).
set -eu
if [ $# -ne 3 ]; then
    echo "usage: gen-man.sh HORNET VERSION OUT" >&2
    exit 2
fi
bin=$1 version=$2 out=$3
inc=$(mktemp)
trap 'rm -f "$inc"' EXIT

# roff-safe verbatim text: backslashes, and lines that start with . or '
roff() {
    sed -e 's/\\/\\e/g' -e 's/^\([.'"'"']\)/\\\&\1/' -e 's/-/\\-/g'
}

# The commands: the indented lines between "commands:" and the next blank
# line of `hornet --help`, less version and help.
commands=$("$bin" --help | awk '
    /^commands:/ { on = 1; next }
    on && /^[[:space:]]*$/ { exit }
    on && /^  [a-z]/ { print $1 }' | grep -v -x -e version -e help)
[ -n "$commands" ] || { echo "gen-man.sh: no commands in '$bin --help'" >&2; exit 1; }

for c in $commands; do
    upper=$(printf '%s' "$c" | tr '[:lower:]' '[:upper:]')
    printf '[HORNET %s]\n.nf\n' "$upper"
    # Some commands print their usage on stderr; it is the same text.
    "$bin" "$c" --help 2>&1 | roff
    printf '.fi\n\n'
done >"$inc"

cat >>"$inc" <<'H2M'
[FILES]
.TP
.I /etc/default/hornet\-master
Settings of hornet\-master.service: scenario, ZeroMQ and web addresses,
CURVE key directory, web token file, other master options.
.TP
.I /etc/default/hornet\-worker
Settings of every hornet\-worker@N.service: master address, key directory,
the master's public key, threads;
.I /etc/default/hornet\-worker\-N
overrides them for instance N.
.TP
.I /etc/hornet/keys
CURVE key pairs made by
.BR "hornet keys" ;
secret keys have mode 0600 and belong to the hornet user.
.TP
.I /var/lib/hornet
The master's state directory (run reports).

[ENVIRONMENT]
.TP
.B HORNET_WEB_TOKEN
The web API token when no \-\-web\-token is given (a file given with
\-\-web\-token\-file keeps it out of the environment and the command line).

[SEE ALSO]
/usr/share/doc/hornet/README.md.gz, /usr/share/doc/hornet/DEPLOY.md.gz,
/usr/share/doc/hornet/api.md, /usr/share/doc/hornet/scenario.md.gz,
/usr/share/doc/hornet/protocol.md.gz
H2M

mkdir -p "$(dirname "$out")"
help2man --no-info --section=1 --version-string="$version" \
    --name='distributed HTTP load testing' --include="$inc" \
    --output="$out" "$bin"
