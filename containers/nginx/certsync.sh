#!/bin/sh
# The Swarm target's files and acme modes, one task on every node (the global certsync service,
# the proxy's image): writes the certificate it was given as Swarm secrets (CERT_SECRET and
# KEY_SECRET under /run/secrets: the given chain, or certbot's) into the node's `tls` volume
# (TLS_DIR) as a new folder and points `current` at it in one rename, so the node's proxy
# (TLS_CERT_FILE=$TLS_DIR/current/fullchain.pem) never reads a half-written pair; nginx reloads
# gracefully once it sees the change. A new certificate is a new task (its secrets changed);
# without one yet (acme), it waits, and the proxy serves port 80 only.
set -eu
: "${TLS_DIR:=/certificate}"
: "${CERT_SECRET:=fullchain.pem}"
: "${KEY_SECRET:=privkey.pem}"
given=/run/secrets

trap 'exit 0' TERM INT
if [ -s "$given/$CERT_SECRET" ] && [ -s "$given/$KEY_SECRET" ]; then
    version=$(cksum < "$given/$CERT_SECRET" | cut -d' ' -f1)
    folder="$TLS_DIR/cert-$version"
    if [ ! -d "$folder" ]; then
        rm -rf "$folder.new"
        mkdir -p "$folder.new"
        cp "$given/$CERT_SECRET" "$folder.new/fullchain.pem"
        (umask 077 && cp "$given/$KEY_SECRET" "$folder.new/privkey.pem")
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
