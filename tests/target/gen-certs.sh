#!/usr/bin/env bash
# gen-certs.sh DIR - writes a throw-away CA, a server certificate for
# 127.0.0.1 / localhost and a client certificate into DIR, for the TLS
# tests of the stand-in target (build/target --tls-cert/--tls-key and
# --tls-client-ca). EC P-256 keys, valid for 2 days. Prints only errors.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
dir=$1
mkdir -p "$dir"
cd "$dir"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

newkey() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -pkeyopt ec_param_enc:named_curve -out "$1" 2>"$tmp/err" || {
        cat "$tmp/err" >&2
        return 1
    }
    chmod 600 "$1"
}

quiet() {
    "$@" >"$tmp/out" 2>&1 || {
        cat "$tmp/out" >&2
        return 1
    }
}

# CA (an explicit config, so the system openssl.cnf does not matter)
newkey ca.key
cat >"$tmp/ca.cnf" <<'CNF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = hornet test CA
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
CNF
quiet openssl req -new -x509 -config "$tmp/ca.cnf" -key ca.key -sha256 -days 2 -out ca.crt

# sign NAME CN EXTFILE: NAME.key + NAME.crt signed by the CA
sign() {
    local name=$1 cn=$2 ext=$3
    newkey "$name.key"
    quiet openssl req -new -config "$tmp/ca.cnf" -key "$name.key" -subj "/CN=$cn" \
        -out "$tmp/$name.csr"
    quiet openssl x509 -req -in "$tmp/$name.csr" -CA ca.crt -CAkey ca.key \
        -CAcreateserial -CAserial "$tmp/ca.srl" -sha256 -days 2 \
        -extfile "$ext" -out "$name.crt"
}

cat >"$tmp/server.ext" <<'EXT'
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
EXT
sign server 127.0.0.1 "$tmp/server.ext"

cat >"$tmp/client.ext" <<'EXT'
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
EXT
sign client "hornet test client" "$tmp/client.ext"
