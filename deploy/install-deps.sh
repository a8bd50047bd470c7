#!/usr/bin/env bash
# Installs the Debian packages hornet needs to build, test and demo, and
# only those missing, then the npm packages of package-lock.json: a no-op
# (well under a second) when all are present.
# Run as root on Debian 12 (make demo / make test call it).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

# The npm packages of package-lock.json into node_modules/ (uPlot, which the
# build embeds; playwright-core for the browser tests), when node_modules/ is
# missing or older than the lock file. HORNET_NPM_ONLY=1 (the Makefile's
# embed rule) does only this.
npm_deps() {
  local lock=$ROOT/package-lock.json stamp=$ROOT/node_modules/.package-lock.json
  if [[ -f $stamp && ! $lock -nt $stamp ]]; then
    return 0
  fi
  if ! command -v npm >/dev/null; then
    echo "install-deps: npm not found: run deploy/install-deps.sh as root (Debian packages nodejs, npm)" >&2
    return 1
  fi
  echo "install-deps: npm ci (package-lock.json into node_modules/)"
  if ! (cd "$ROOT" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error); then
    echo "install-deps: npm ci failed: uPlot, which the build embeds, comes from the npm registry" >&2
    return 1
  fi
}
if [[ "${HORNET_NPM_ONLY:-}" == 1 ]]; then
  npm_deps
  exit
fi

PKGS=(
  gcc make pkg-config              # build
  libcurl4-openssl-dev             # HTTP engine (libcurl multi, OpenSSL, nghttp2)
  libhttp-parser-dev               # native HTTP/1.1 engine: response parser (worker/h1.c)
  libczmq-dev libzmq3-dev          # master <-> worker transport, engine actors
  libmsgpack-dev                   # wire encoding of master <-> worker messages
  libmicrohttpd-dev                # master HTTP API / web UI, stand-in target
  libyaml-dev                      # scenario files
  libjansson-dev                   # JSON summaries and API bodies
  libpcre2-dev                     # regex captures and checks
  libcsv-dev                       # CSV data feeds (RFC 4180 parser)
  libssl-dev                       # crypto template functions, TLS
  zlib1g-dev                       # .hlog files (HdrHistogram compressed histograms)
  libcmocka-dev                    # unit tests
  clang-format                     # layout check (tests/check-style.sh)
  python3                          # integration test driver (stdlib only)
  openssl                          # test certificates for the TLS tests
  curl                             # demo and tests talk to the target
  nodejs                           # web UI tests (node --test), npm for package-lock.json
  chromium                         # browser tests of the web UI and HTML report (tests/webui)
  iproute2                         # fleet test: network namespaces, a bridge
  systemd                          # deploy checks: systemd-analyze verify of the units
  shellcheck python3-yaml          # deploy checks: shell scripts, rendered k8s manifests
  prometheus                       # /metrics test: promtool check metrics, a real scraper
)
# Test-only, like libcmocka-dev (not build dependencies of the package):
# libFuzzer targets (make fuzz, tests/run.sh) and the spoofing client of
# tests/integration/test_reliability.py.
PKGS+=(clang libclang-rt-14-dev python3-zmq python3-msgpack)
# kubectl kustomize renders deploy/k8s; Debian's kubectl is kubernetes-client
# (skipped when a kubectl from elsewhere is installed: they share the file).
if ! command -v kubectl >/dev/null; then
  PKGS+=(kubernetes-client)
fi
if ! command -v npm >/dev/null; then    # some nodejs builds ship npm, Debian's does not
  PKGS+=(npm)
fi
if [[ "${HORNET_BENCH:-}" == 1 ]]; then
  PKGS+=(nginx-light wrk hey python3-locust nghttp2-client util-linux)
fi
if [[ "${HORNET_DEB:-}" == 1 ]]; then   # make deb
  PKGS+=(debhelper help2man lintian)
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing packages and not root; run as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "install-deps: done"
fi
npm_deps
