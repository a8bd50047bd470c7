#!/usr/bin/env bash
# Makes the files deploy/k8s's secretGenerator reads, in deploy/k8s/secrets/
# (git-ignored): CURVE key pairs (hornet keys), the master's public key
# alone, and a random web token. Existing keys and token are kept.
#   deploy/k8s/make-secrets.sh [HORNET]   (default: hornet on PATH, or build/hornet)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
hornet=${1:-}
if [[ -z $hornet ]]; then
    if command -v hornet >/dev/null; then
        hornet=hornet
    else
        hornet=$here/../../build/hornet
    fi
fi
out=${HORNET_K8S_SECRETS:-$here/secrets}
umask 077
mkdir -p "$out/keys"
"$hornet" keys "$out/keys" >/dev/null
sed -n 's/^[[:space:]]*public-key = "\(.*\)"$/\1/p' "$out/keys/master.key" |
    tr -d '\n' >"$out/master-public-key"
[[ -s $out/master-public-key ]] || { echo "make-secrets: no public key in $out/keys/master.key" >&2; exit 1; }
if [[ ! -s $out/web-token ]]; then
    od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$out/web-token"
fi
echo "make-secrets: keys and web token in $out"
echo "make-secrets: the web token (for the UI and the API) is in $out/web-token"
