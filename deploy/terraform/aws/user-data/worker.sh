#!/bin/bash
# hornet worker, EC2 user data (runs once, as root, at first boot of every
# instance of the group). Terraform puts the HORNET_* assignments above this
# script (main.tf, worker_vars). Log: /var/log/hornet-user-data.log
set -euo pipefail
exec >>/var/log/hornet-user-data.log 2>&1
: "${HORNET_DEB_URL:?}" "${HORNET_DEB_SHA256?}" "${HORNET_MASTER_ADDR:?}"
: "${HORNET_MASTER_PUBLIC_KEY:?}" "${HORNET_THREADS:?}"
: "${HORNET_WORKER_KEY_SECRET_B64:?}" "${HORNET_WORKER_KEY_B64:?}"

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends ca-certificates curl
curl -fsSL --retry 5 --retry-delay 3 -o /tmp/hornet.deb "$HORNET_DEB_URL"
if [[ -n $HORNET_DEB_SHA256 ]]; then
    echo "$HORNET_DEB_SHA256  /tmp/hornet.deb" | sha256sum -c -
fi
apt-get install -y -q /tmp/hornet.deb

secret() {
    install -m 0600 -o hornet -g hornet /dev/null "$1"
    printf '%s' "$2" | base64 -d >"$1"
}
install -d -m 0700 -o hornet -g hornet /etc/hornet/keys
secret /etc/hornet/keys/worker.key_secret "$HORNET_WORKER_KEY_SECRET_B64"
secret /etc/hornet/keys/worker.key "$HORNET_WORKER_KEY_B64"

threads=$HORNET_THREADS
if [[ $threads == 0 ]]; then
    threads=$(nproc)
fi
# The public key goes in single quotes: it may hold $ and other characters
# (the env file is read by systemd, which does not expand them there).
cat >/etc/default/hornet-worker <<ENV
# Written by the EC2 user data (deploy/terraform/aws).
HORNET_MASTER=${HORNET_MASTER_ADDR}
HORNET_KEYS=/etc/hornet/keys
HORNET_MASTER_PUBLIC_KEY='${HORNET_MASTER_PUBLIC_KEY}'
HORNET_THREADS=${threads}
HORNET_WORKER_OPTS=
ENV

# One worker process per instance, with a thread per vCPU.
systemctl enable --now hornet-worker@1.service
echo "hornet worker user data: done"
