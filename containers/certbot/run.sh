#!/bin/sh
# Obtains the certificate for HTTPS_HOSTS (one certificate, all names, lineage "stack"), then
# renews it once it is due, ACME_RENEW_BEFORE its expiry (certbot's 30 days: a 90-day
# certificate at day 60), looking every ACME_RENEW_CHECK_SECONDS. nginx watches the files and reloads gracefully.
# A certificate already in the volume and not due is kept: a redeploy places no new order.
#
#   stack-certbot                          obtain, then keep renewing (the service)
#   stack-certbot renew [--force-renewal]  renew now (docker exec), what `deploy.certs` will run
set -eu

: "${HTTPS_HOSTS:?HTTPS_HOSTS: the host names to obtain a certificate for}"
: "${ACME_DIRECTORY:=https://acme-v02.api.letsencrypt.org/directory}"
: "${ACME_EMAIL:=}"
: "${ACME_EAB_KID:=}"
: "${ACME_EAB_HMAC_KEY:=}"
: "${ACME_CA_PEM:=}"
: "${ACME_RETRY_SECONDS:=60}"
: "${ACME_RENEW_CHECK_SECONDS:=43200}"
: "${ACME_RENEW_BEFORE:=30 days}"
WEBROOT=/var/www/acme
RENEWAL_CONF=/etc/letsencrypt/renewal/stack.conf

case "$ACME_RENEW_BEFORE" in
    *[!0-9a-z\ ]* | '') echo "stack-certbot: ACME_RENEW_BEFORE=$ACME_RENEW_BEFORE is not a span such as '30 days'" >&2; exit 64 ;;
esac

# certbot reads when a lineage is due from its renewal file (and keeps the line on renewal).
renew_before() {
    if [ -f "$RENEWAL_CONF" ]; then
        sed -i '/^renew_before_expiry *=/d' "$RENEWAL_CONF"
        sed -i "1i renew_before_expiry = $ACME_RENEW_BEFORE" "$RENEWAL_CONF"
    fi
}

if [ -n "$ACME_CA_PEM" ]; then
    # A private or test ACME server: certbot (requests) trusts its root for the directory.
    printf '%s\n' "$ACME_CA_PEM" > /tmp/acme-ca.pem
    export REQUESTS_CA_BUNDLE=/tmp/acme-ca.pem
fi

if [ "${1:-}" = renew ]; then
    shift
    renew_before
    # Asked for now: none of the random wait certbot puts before unattended renewals.
    exec certbot renew --non-interactive --no-random-sleep-on-renew --webroot -w "$WEBROOT" "$@"
fi

set -- --non-interactive --agree-tos --server "$ACME_DIRECTORY"
if [ -n "$ACME_EMAIL" ]; then
    set -- "$@" --email "$ACME_EMAIL"
else
    set -- "$@" --register-unsafely-without-email
fi
if [ -n "$ACME_EAB_KID" ]; then
    set -- "$@" --eab-kid "$ACME_EAB_KID" --eab-hmac-key "$ACME_EAB_HMAC_KEY"
fi
for host in $(echo "$HTTPS_HOSTS" | tr ',' ' '); do
    set -- "$@" -d "$host"
done

# PID 1 of the container: leave at once on the stop signal, even in a pause.
trap 'exit 0' TERM INT
pause() {
    sleep "$1" &
    wait $! || true
}

# --keep-until-expiring: a lineage with these names that is not due is left as it is;
# --expand: a host name added later joins the same lineage.
renew_before
until certbot certonly --webroot -w "$WEBROOT" --cert-name stack --keep-until-expiring \
    --expand "$@"; do
    echo "stack-certbot: no certificate yet from $ACME_DIRECTORY; trying again in ${ACME_RETRY_SECONDS}s" >&2
    pause "$ACME_RETRY_SECONDS"
done
renew_before
while :; do
    pause "$ACME_RENEW_CHECK_SECONDS"
    # certbot waits a random while first (up to 8 minutes) so CAs never see every client at once.
    certbot renew --non-interactive --webroot -w "$WEBROOT" \
        || echo "stack-certbot: renewal failed; the current certificate is kept, next try in ${ACME_RENEW_CHECK_SECONDS}s" >&2
done
