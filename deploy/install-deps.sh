#!/usr/bin/env bash
# Installs the Debian packages hornet needs to build, test and demo, and
# only those missing: a no-op (well under a second) when all are present.
# Run as root on Debian 12 (make demo / make test call it).
set -euo pipefail

PKGS=(
  gcc make pkg-config              # build
  libcurl4-openssl-dev             # HTTP engine (libcurl multi, OpenSSL, nghttp2)
  libczmq-dev libzmq3-dev          # master <-> worker transport, engine actors
  libmsgpack-dev                   # wire encoding of master <-> worker messages
  libmicrohttpd-dev                # master HTTP API / web UI, stand-in target
  libyaml-dev                      # scenario files
  libjansson-dev                   # JSON summaries and API bodies
  libpcre2-dev                     # regex captures and checks
  libcsv-dev                       # CSV data feeds (RFC 4180 parser)
  libssl-dev                       # crypto template functions, TLS
  libcmocka-dev                    # unit tests
  python3                          # integration test driver (stdlib only)
  openssl                          # test certificates for the TLS tests
  curl                             # demo and tests talk to the target
  nodejs                           # web UI unit tests (node --test, no npm packages)
)
if [[ "${HORNET_BENCH:-}" == 1 ]]; then
  PKGS+=(nginx-light wrk hey python3-locust util-linux)
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages and not root; run as root: apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
