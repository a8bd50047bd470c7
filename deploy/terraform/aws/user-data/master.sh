#!/bin/bash
# hornet master, EC2 user data (runs once, as root, at first boot). Terraform
# puts the HORNET_* assignments above this script (main.tf, master_vars).
# Log: /var/log/hornet-user-data.log
set -euo pipefail
exec >>/var/log/hornet-user-data.log 2>&1
: "${HORNET_DEB_URL:?}" "${HORNET_DEB_SHA256?}" "${HORNET_ZMQ_PORT:?}" "${HORNET_WEB_PORT:?}"
: "${HORNET_TARGET_URL:?}" "${HORNET_EXPECT_WORKERS:?}" "${HORNET_SCENARIO_B64?}"
: "${HORNET_MASTER_KEY_SECRET_B64:?}" "${HORNET_MASTER_KEY_B64:?}" "${HORNET_WORKER_KEY_B64:?}"
: "${HORNET_WEB_TOKEN_B64:?}"

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends ca-certificates curl
curl -fsSL --retry 5 --retry-delay 3 -o /tmp/hornet.deb "$HORNET_DEB_URL"
if [[ -n $HORNET_DEB_SHA256 ]]; then
    echo "$HORNET_DEB_SHA256  /tmp/hornet.deb" | sha256sum -c -
fi
apt-get install -y -q /tmp/hornet.deb   # creates the hornet user and /etc/hornet/keys

# secret FILE B64: writes a file only the hornet user can read (0600)
secret() {
    install -m 0600 -o hornet -g hornet /dev/null "$1"
    printf '%s' "$2" | base64 -d >"$1"
}
install -d -m 0700 -o hornet -g hornet /etc/hornet/keys
secret /etc/hornet/keys/master.key_secret "$HORNET_MASTER_KEY_SECRET_B64"
secret /etc/hornet/keys/master.key "$HORNET_MASTER_KEY_B64"
secret /etc/hornet/keys/worker.key "$HORNET_WORKER_KEY_B64"
secret /etc/hornet/web-token "$HORNET_WEB_TOKEN_B64"

if [[ -n $HORNET_SCENARIO_B64 ]]; then
    printf '%s' "$HORNET_SCENARIO_B64" | base64 -d >/etc/hornet/scenario.yaml
else
    cp /usr/share/doc/hornet/examples/demo.yaml /etc/hornet/scenario.yaml
fi
chmod 0644 /etc/hornet/scenario.yaml

# The unit's settings (hornet-master.service reads nothing else).
cat >/etc/default/hornet-master <<ENV
# Written by the EC2 user data (deploy/terraform/aws).
HORNET_SCENARIO=/etc/hornet/scenario.yaml
HORNET_BIND=tcp://*:${HORNET_ZMQ_PORT}
HORNET_KEYS=/etc/hornet/keys
HORNET_WEB=0.0.0.0:${HORNET_WEB_PORT}
HORNET_WEB_TOKEN_FILE=/etc/hornet/web-token
HORNET_MASTER_OPTS="--host '${HORNET_TARGET_URL}' --expect-workers ${HORNET_EXPECT_WORKERS} --start-timeout 0 --json /var/lib/hornet/last-run.json"
ENV

systemctl enable --now hornet-master.service
echo "hornet master user data: done"
