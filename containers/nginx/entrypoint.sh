#!/bin/sh
# Renders the site from its template and runs the command (nginx, as PID 1).
#
# nginx resolves the upstream name once, at start and on reload, and an upstream block (needed
# for keepalive) cannot re-resolve it in open-source nginx before 1.27.3. So a watcher checks the
# name every UPSTREAM_RECHECK_SECONDS (0 turns it off) and reloads nginx when the address
# changes, e.g. when the web container was recreated and got a new one.
set -eu

: "${CLIENT_MAX_BODY_SIZE:=25m}"
: "${NGINX_UPSTREAM:=web:8000}"
: "${UPSTREAM_RECHECK_SECONDS:=5}"
export CLIENT_MAX_BODY_SIZE NGINX_UPSTREAM

case "$CLIENT_MAX_BODY_SIZE" in
    '' | *[!0-9kKmMgG]* | [!0-9]*)
        echo "CLIENT_MAX_BODY_SIZE=$CLIENT_MAX_BODY_SIZE is not an nginx size such as 25m" >&2
        exit 64
        ;;
esac
envsubst '${CLIENT_MAX_BODY_SIZE} ${NGINX_UPSTREAM}' \
    < /etc/nginx/templates/default.conf.template > /etc/nginx/conf.d/default.conf

upstream_host=${NGINX_UPSTREAM%:*}
addresses() { getent ahostsv4 "$upstream_host" 2>/dev/null | sort -u || true; }

if [ "${1:-}" = nginx ]; then
    # Without its upstream nginx refuses to start: give a starting web container 30 s.
    tries=0
    while [ -z "$(addresses)" ] && [ "$tries" -lt 60 ]; do
        tries=$((tries + 1))
        sleep 0.5
    done
    if [ "$UPSTREAM_RECHECK_SECONDS" != 0 ]; then
        (
            last=$(addresses)
            while sleep "$UPSTREAM_RECHECK_SECONDS"; do
                now=$(addresses)
                if [ -n "$now" ] && [ "$now" != "$last" ] && [ -s /run/nginx.pid ]; then
                    echo "stack-nginx-entrypoint: $upstream_host moved, reloading nginx" >&2
                    kill -HUP "$(cat /run/nginx.pid)" || true
                fi
                if [ -n "$now" ]; then last=$now; fi
            done
        ) &
    fi
fi
exec "$@"
