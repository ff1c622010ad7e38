#!/bin/sh
# The Swarm target's acme mode, one task on every node (the global certsync service): writes the
# certificate it was given as Swarm secrets (/run/secrets/fullchain.pem, privkey.pem) into the
# node's `tls` volume (TLS_DIR) as a new folder and points `current` at it in one rename, so the
# node's proxy (TLS_CERT_FILE=$TLS_DIR/current/fullchain.pem) never reads a half-written pair;
# nginx reloads gracefully once it sees the change. A new certificate is a new task (its secrets
# changed: swarm-secrets.py); without one yet, it waits, and the proxy serves port 80 only.
set -eu
: "${TLS_DIR:=/certificate}"
given=/run/secrets

trap 'exit 0' TERM INT
if [ -s "$given/fullchain.pem" ] && [ -s "$given/privkey.pem" ]; then
    version=$(cat "$given/fullchain.pem" | cksum | cut -d' ' -f1)
    folder="$TLS_DIR/cert-$version"
    if [ ! -d "$folder" ]; then
        rm -rf "$folder.new"
        mkdir -p "$folder.new"
        cp "$given/fullchain.pem" "$folder.new/fullchain.pem"
        (umask 077 && cp "$given/privkey.pem" "$folder.new/privkey.pem")
        mv "$folder.new" "$folder"
    fi
    ln -sfn "cert-$version" "$TLS_DIR/current.new"
    mv -T "$TLS_DIR/current.new" "$TLS_DIR/current"
    for old in "$TLS_DIR"/cert-*; do
        [ "$old" = "$folder" ] || rm -rf "$old"
    done
    echo "stack-certsync: this node's proxy serves certificate $version"
else
    echo "stack-certsync: no certificate yet (the ACME client has not obtained one)"
fi
while :; do
    sleep 3600 &
    wait $! || true
done
