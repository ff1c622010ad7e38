#!/bin/sh
# Renders the site from its templates and runs the command (nginx, as PID 1).
#
# HTTPS_MODE says how the stack meets HTTPS (README "HTTPS"):
#   off    plain HTTP on port 80 (the default of `invoke up`)
#   files  TLS on 443 with the certificate files TLS_CERT_FILE and TLS_KEY_FILE (given as secrets)
#   local  the same with a certificate of the machine's local CA (`invoke up`), no HSTS
#   acme   TLS on 443 once the ACME client has put a certificate in /etc/nginx/tls; until then
#          port 80 alone (it serves the HTTP-01 challenge)
#   lb     a load balancer terminates TLS; only TRUSTED_LB_ADDRESSES are believed
# ACME_CHALLENGE_UPSTREAM (host:port, the Swarm target's acme mode): the HTTP-01 challenge is
# passed to the ACME client there, over the app's network, instead of read from the shared
# webroot: the CA may ask any node, and the client runs on one.
# Every mode but off answers on port 80 only the ACME challenge, /nginx-health and a 301 to HTTPS.
#
# nginx resolves the upstream name once, at start and on reload: a watcher (stack-nginx-upstream)
# checks the name every UPSTREAM_RECHECK_SECONDS (0 turns it off) and reloads nginx when its
# addresses change, e.g. when the web container was recreated and got a new one. Another watches the
# certificate files every TLS_RECHECK_SECONDS and reloads nginx when they change (a renewal, a
# rotated secret): a reload is graceful, requests in flight finish on the old workers.
set -eu

: "${CLIENT_MAX_BODY_SIZE:=25m}"
: "${NGINX_UPSTREAM:=web:8000}"
: "${UPSTREAM_RECHECK_SECONDS:=5}"
: "${HTTPS_MODE:=off}"
: "${TLS_CERT_FILE:=/etc/nginx/tls/fullchain.pem}"
: "${TLS_KEY_FILE:=/etc/nginx/tls/privkey.pem}"
: "${TLS_RECHECK_SECONDS:=5}"
: "${HSTS_MAX_AGE:=31536000}"
: "${HTTPS_REDIRECT_PORT:=}"
: "${TRUSTED_LB_ADDRESSES:=}"
: "${ACME_CHALLENGE_UPSTREAM:=}"
export CLIENT_MAX_BODY_SIZE NGINX_UPSTREAM TLS_CERT_FILE TLS_KEY_FILE HTTPS_REDIRECT_PORT

refuse() {
    echo "stack-nginx-entrypoint: $*" >&2
    exit 64
}

case "$CLIENT_MAX_BODY_SIZE" in
    '' | *[!0-9kKmMgG]* | [!0-9]*)
        refuse "CLIENT_MAX_BODY_SIZE=$CLIENT_MAX_BODY_SIZE is not an nginx size such as 25m"
        ;;
esac
case "$HTTPS_MODE" in
    off | files | local | acme | lb) ;;
    *) refuse "HTTPS_MODE=$HTTPS_MODE is not one of off, files, local, acme, lb" ;;
esac
case "$HSTS_MAX_AGE" in
    '' | *[!0-9]*) refuse "HSTS_MAX_AGE=$HSTS_MAX_AGE is not a number of seconds (0: no HSTS)" ;;
esac
case "$HTTPS_REDIRECT_PORT" in
    '' | :[0-9]*) ;;
    *) refuse "HTTPS_REDIRECT_PORT=$HTTPS_REDIRECT_PORT is not empty or :PORT such as :8443" ;;
esac
case "$ACME_CHALLENGE_UPSTREAM" in
    '') ;;
    *[!a-zA-Z0-9._:-]* | :* | *:*:* | *: | *:*[!0-9]*)
        refuse "ACME_CHALLENGE_UPSTREAM=$ACME_CHALLENGE_UPSTREAM is not host:port such as certbot:80"
        ;;
    *:*) ;;
    *) refuse "ACME_CHALLENGE_UPSTREAM=$ACME_CHALLENGE_UPSTREAM is not host:port such as certbot:80" ;;
esac
# A self-signed local certificate must never pin a name in a browser for a year.
if [ "$HTTPS_MODE" = local ]; then HSTS_MAX_AGE=0; fi

stack=/etc/nginx/stack
templates=/etc/nginx/templates
mkdir -p "$stack"

# `listen ... http2` until nginx 1.25.1, the `http2` directive after (Debian bookworm has 1.22).
http2_syntax() {
    version=$(nginx -v 2>&1 | sed -n 's|.*nginx/\([0-9]*\)\.\([0-9]*\)\.\([0-9]*\).*|\1 \2 \3|p')
    set -- $version
    if [ "${1:-0}" -gt 1 ] || { [ "${1:-0}" -eq 1 ] && { [ "$2" -gt 25 ] || { [ "$2" -eq 25 ] && [ "$3" -ge 1 ]; }; }; }; then
        HTTP2_LISTEN='listen 443 ssl default_server;'
        HTTP2_DIRECTIVE='http2 on;'
    else
        HTTP2_LISTEN='listen 443 ssl http2 default_server;'
        HTTP2_DIRECTIVE=''
    fi
    export HTTP2_LISTEN HTTP2_DIRECTIVE
}

# TRUSTED_LB_ADDRESSES: addresses or CIDR ranges, separated by commas or spaces.
lb_addresses() {
    REAL_IP_FROM=''
    TRUSTED_LB_GEO=''
    for address in $(echo "$TRUSTED_LB_ADDRESSES" | tr ',' ' '); do
        case "$address" in
            *[!0-9a-fA-F.:/]*) refuse "TRUSTED_LB_ADDRESSES: $address is not an address or CIDR range" ;;
        esac
        REAL_IP_FROM="${REAL_IP_FROM}set_real_ip_from $address;
"
        TRUSTED_LB_GEO="${TRUSTED_LB_GEO}    $address 1;
"
    done
    if [ -z "$TRUSTED_LB_GEO" ]; then
        refuse "HTTPS_MODE=lb needs TRUSTED_LB_ADDRESSES: the load balancer's addresses or ranges (e.g. 10.0.0.0/8)"
    fi
    export REAL_IP_FROM TRUSTED_LB_GEO
}

certificate_present() {
    [ -s "$TLS_CERT_FILE" ] && [ -s "$TLS_KEY_FILE" ]
}

# The upstream and maps (conf.d/default.conf, which a deploy's switch renders again to pin the
# upstream) apart from the servers (conf.d/site.conf), which a new certificate renders again.
render_upstream() {
    envsubst '${CLIENT_MAX_BODY_SIZE} ${NGINX_UPSTREAM}' \
        < "$templates/default.conf.template" > /etc/nginx/conf.d/default.conf
}

render_site() {
    : > "$stack/site.conf.new"
    envsubst '${CLIENT_MAX_BODY_SIZE}' \
        < "$templates/snippets/app-server.conf.template" > "$stack/app-server.conf"
    if [ "$HSTS_MAX_AGE" -gt 0 ]; then
        echo "add_header Strict-Transport-Security \"max-age=$HSTS_MAX_AGE\" always;" > "$stack/hsts.conf"
    else
        echo "# HSTS off (HSTS_MAX_AGE=0 or the local mode)" > "$stack/hsts.conf"
    fi
    case "$HTTPS_MODE" in
        off)
            cat "$templates/sites/off.conf.template" >> "$stack/site.conf.new"
            ;;
        lb)
            envsubst '${REAL_IP_FROM} ${TRUSTED_LB_GEO}' \
                < "$templates/sites/lb.conf.template" >> "$stack/site.conf.new"
            ;;
        *)
            envsubst '${HTTPS_REDIRECT_PORT}' \
                < "$templates/sites/redirect.conf.template" >> "$stack/site.conf.new"
            if certificate_present; then
                envsubst '${TLS_CERT_FILE} ${TLS_KEY_FILE}' \
                    < "$templates/snippets/tls.conf.template" > "$stack/tls.conf"
                envsubst '${HTTP2_LISTEN} ${HTTP2_DIRECTIVE}' \
                    < "$templates/sites/https.conf.template" >> "$stack/site.conf.new"
            else
                echo "stack-nginx-entrypoint: no certificate yet at $TLS_CERT_FILE: port 80 only until the ACME client puts one there" >&2
            fi
            ;;
    esac
    mv "$stack/site.conf.new" /etc/nginx/conf.d/site.conf
}

case "$HTTPS_MODE" in
    files | local)
        for file in "$TLS_CERT_FILE" "$TLS_KEY_FILE"; do
            [ -s "$file" ] || refuse "HTTPS_MODE=$HTTPS_MODE: $file is missing or empty: give the certificate chain and its key (README \"HTTPS\")"
        done
        ;;
    lb) lb_addresses ;;
esac
# The challenge from another container: resolved at each request (Docker's DNS), so nginx starts
# and serves while the ACME client is away; a 502 then, and the CA tries again.
render_acme_challenge() {
    [ -n "$ACME_CHALLENGE_UPSTREAM" ] || return 0
    cat > "$stack/acme-challenge.conf" <<CHALLENGE
# HTTP-01 challenges, answered by the ACME client at $ACME_CHALLENGE_UPSTREAM (entrypoint.sh).
location ^~ /.well-known/acme-challenge/ {
    resolver 127.0.0.11 valid=5s ipv6=off;
    set \$acme_client http://$ACME_CHALLENGE_UPSTREAM;
    proxy_pass \$acme_client;
    proxy_set_header Host \$host;
    proxy_connect_timeout 5s;
    # How certbot knows this proxy passes challenges to it (a 502 too, before it listens).
    add_header X-Stack-Acme-Challenge passed always;
}
CHALLENGE
}

http2_syntax
render_upstream
render_acme_challenge
render_site

upstream_host=${NGINX_UPSTREAM%:*}
addresses() { sh /usr/local/bin/stack-nginx-upstream addresses "$upstream_host"; }
certificate_state() { cat "$TLS_CERT_FILE" "$TLS_KEY_FILE" 2>/dev/null | cksum; }
reload() {
    if [ -s /run/nginx.pid ]; then kill -HUP "$(cat /run/nginx.pid)" || true; fi
}

if [ "${1:-}" = nginx ]; then
    # Without its upstream nginx refuses to start: give a starting web container 30 s.
    tries=0
    while [ -z "$(addresses)" ] && [ "$tries" -lt 60 ]; do
        tries=$((tries + 1))
        sleep 0.5
    done
    if [ "$UPSTREAM_RECHECK_SECONDS" != 0 ]; then
        sh /usr/local/bin/stack-nginx-upstream watch "$upstream_host" "$UPSTREAM_RECHECK_SECONDS" /run/nginx.pid &
    fi
    case "$HTTPS_MODE" in
        files | local | acme)
            if [ "$TLS_RECHECK_SECONDS" != 0 ]; then
                (
                    last=$(certificate_state)
                    while sleep "$TLS_RECHECK_SECONDS"; do
                        now=$(certificate_state)
                        if [ "$now" != "$last" ] && certificate_present; then
                            # A half-written pair fails the test: the next look tries again.
                            render_site
                            if nginx -t -q 2>/dev/null; then
                                echo "stack-nginx-entrypoint: certificate changed, reloading nginx" >&2
                                reload
                                last=$now
                            fi
                        fi
                    done
                ) &
            fi
            ;;
    esac
fi
exec "$@"
