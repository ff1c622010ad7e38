#!/bin/sh
# Obtains the certificate for HTTPS_HOSTS (one certificate, all names, lineage "stack"), then
# renews it once it is due, ACME_RENEW_BEFORE its expiry (certbot's 30 days: a 90-day
# certificate at day 60), looking every ACME_RENEW_CHECK_SECONDS. nginx watches the files and reloads gracefully.
# A certificate already in the volume and not due is kept: a redeploy places no new order.
#
#   stack-certbot                          obtain, then keep renewing (the service)
#   stack-certbot renew [--force-renewal]  renew now (docker exec), what `deploy.certs` will run
#
# On the Swarm target (ACME_SWARM_APP set, README "HTTPS") the CA may ask any node for the
# challenge: every node's proxy passes it here over the app's network, and certbot answers
# it itself (standalone, port 80 of this container). A new certificate is handed to every node as
# Swarm secrets by swarm-secrets.py (certbot's deploy hook, and once at each start).
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
: "${ACME_SWARM_APP:=}"
: "${ACME_PROXY:=}"
: "${ACME_PROXIES:=1}"
: "${ACME_PROXY_WAIT_SECONDS:=120}"
WEBROOT=/var/www/acme
SWARM_SECRETS="/usr/bin/python3 /usr/local/bin/stack-certbot-swarm-secrets"

# certbot, meeting the challenge through the host's proxy (the shared webroot) or, on a swarm,
# itself behind every node's proxy, handing each new certificate to the nodes.
certbot_challenged() {
    if [ -n "$ACME_SWARM_APP" ]; then
        certbot "$@" --standalone --http-01-port 80 --deploy-hook "$SWARM_SECRETS"
    else
        certbot "$@" --webroot -w "$WEBROOT"
    fi
}
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
    certbot_challenged renew --non-interactive --no-random-sleep-on-renew "$@"
    exit 0
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

if [ -n "$ACME_PROXY" ]; then
    # The CA reaches certbot only through the proxies and may ask any node: no order before
    # ACME_PROXIES of them pass the challenge path here (a first deploy, or one from another
    # HTTPS mode, starts them after this accessory), or ACME_PROXY_WAIT_SECONDS have passed.
    /usr/bin/python3 - "$ACME_PROXY" "$ACME_PROXIES" "$ACME_PROXY_WAIT_SECONDS" <<'WAIT'
import socket, sys, time, urllib.error, urllib.request

proxy, wanted, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
host, _, port = proxy.partition(":")
deadline = time.monotonic() + limit
PROBE = "/.well-known/acme-challenge/stack-probe"


def passes(address: str) -> bool:
    """The proxy at `address` passes challenges to certbot: nginx marks those answers, its 502
    (certbot not listening yet) included."""
    try:
        answer = urllib.request.urlopen(f"http://{address}:{port}{PROBE}", timeout=3)
    except urllib.error.HTTPError as error:
        answer = error
    except OSError:
        return False
    return answer.headers.get("X-Stack-Acme-Challenge") == "passed"


while True:
    try:
        found = {entry[4][0] for entry in socket.getaddrinfo(host, int(port), proto=socket.IPPROTO_TCP)}
    except OSError:
        found = set()
    passing = sum(1 for address in found if passes(address))
    if passing >= wanted:
        sys.exit(0)
    if time.monotonic() > deadline:
        print(f"stack-certbot: {passing} of {wanted} proxies pass the challenge after {limit:.0f}s; ordering anyway", file=sys.stderr)
        sys.exit(0)
    print(f"stack-certbot: {passing} of {wanted} proxies ({proxy}) pass the challenge here; waiting before ordering", file=sys.stderr)
    time.sleep(2)
WAIT
fi
renew_before
# --keep-until-expiring: a lineage with these names that is not due is left as it is;
# --expand: a host name added later joins the same lineage.
until certbot_challenged certonly --cert-name stack --keep-until-expiring --expand "$@"; do
    echo "stack-certbot: no certificate yet from $ACME_DIRECTORY; trying again in ${ACME_RETRY_SECONDS}s" >&2
    pause "$ACME_RETRY_SECONDS"
done
renew_before
if [ -n "$ACME_SWARM_APP" ]; then
    # A certificate kept from before (no new order, so no hook) reaches a new certsync too.
    until $SWARM_SECRETS; do
        echo "stack-certbot: trying again in ${ACME_RETRY_SECONDS}s" >&2
        pause "$ACME_RETRY_SECONDS"
    done
fi
while :; do
    pause "$ACME_RENEW_CHECK_SECONDS"
    # certbot waits a random while first (up to 8 minutes) so CAs never see every client at once.
    certbot_challenged renew --non-interactive \
        || echo "stack-certbot: renewal failed; the current certificate is kept, next try in ${ACME_RENEW_CHECK_SECONDS}s" >&2
done
