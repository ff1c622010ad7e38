#!/bin/sh
# The upstream name's addresses, and a watcher that reloads nginx when they change.
#
#   stack-nginx-upstream addresses HOST              its IPv4 addresses, one per line, sorted
#                                                    (nothing while the name does not resolve)
#   stack-nginx-upstream watch HOST SECONDS PIDFILE  every SECONDS, HUP the process in PIDFILE
#                                                    when the set of addresses changed
#
# nginx resolves the upstream name once, at start and on reload, and an upstream block (needed
# for keepalive) cannot re-resolve it in open-source nginx before 1.27.3: hence the watcher.
# Only the addresses are compared: getent prints the canonical name beside the first address it
# got, and a round-robin answer (a Swarm service's `tasks.` name, several replicas) comes in a new
# order each time, so comparing getent's whole output reloaded nginx every second under a
# Swarm deploy, each reload a new generation of workers without their predecessors' knowledge of
# a dead upstream.
set -eu

addresses() {
    getent ahostsv4 "$1" 2>/dev/null | awk '{ print $1 }' | sort -u || true
}

watch() {
    host=$1 seconds=$2 pidfile=$3
    last=$(addresses "$host")
    while sleep "$seconds"; do
        now=$(addresses "$host")
        if [ -n "$now" ] && [ "$now" != "$last" ]; then
            echo "stack-nginx-entrypoint: $host moved ($(echo "$now" | tr "\n" " " | sed "s/ $//")), reloading nginx" >&2
            if [ -s "$pidfile" ]; then kill -HUP "$(cat "$pidfile")" || true; fi
        fi
        if [ -n "$now" ]; then last=$now; fi
    done
}

case "${1:-}" in
    addresses) addresses "$2" ;;
    watch) watch "$2" "$3" "$4" ;;
    *)
        echo "usage: stack-nginx-upstream addresses HOST | watch HOST SECONDS PIDFILE" >&2
        exit 64
        ;;
esac
