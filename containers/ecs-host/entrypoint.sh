#!/bin/sh
# AUTHORIZED_KEY: the public key allowed to log in as root. Host keys are made at first start.
set -eu
if [ -n "${AUTHORIZED_KEY:-}" ]; then
    printf '%s\n' "$AUTHORIZED_KEY" > /root/.ssh/authorized_keys
    chmod 600 /root/.ssh/authorized_keys
fi
ssh-keygen -A >/dev/null
/usr/sbin/sshd
exec dockerd --storage-driver vfs --host unix:///var/run/docker.sock
