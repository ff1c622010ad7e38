"""The end of a Swarm deploy: every node's proxy reaches every running task of the proxied role.

Swarm calls a task running once its own node's health check passes; the other nodes learn of it
by gossip (its `tasks.` DNS entry and the overlay's route to its address), which is quick on a
quiet network, slower on a loaded one, and never when the ECS security group blocks the overlay's
ports. Until then a proxy resolves stale addresses or sends to one it cannot reach (a connect
timeout per request). So a deploy ends when, on each node, the proxy's own lookup of the upstream
name gives the running tasks' addresses and a connection to each succeeds, looked at from inside
the proxy's container; or it fails naming the node, the addresses and the ports to open.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from stackctl.deploy.appdef import AppDefinition
from stackctl.deploy.errors import DeployFailed
from stackctl.deploy.settings import DeploySettings
from stackctl.deploy.swarm.nodes import Swarm
from stackctl.deploy.swarm.specs import network_name, service_name
from stackctl.engine.execs import run_in
from stackctl.engine.models import Service

# Run in the proxy's container (the nginx image: sh, curl and the upstream helper). Any HTTP
# answer counts (curl's exit 0 without -f): it is the connection that is in question.
PROBE_SCRIPT = r"""
port=$1
for address in $(sh /usr/local/bin/stack-nginx-upstream addresses "$2"); do
    if curl -s -o /dev/null --connect-timeout 1 --max-time 3 "http://$address:$port/"; then
        echo "$address reached"
    else
        echo "$address unreached"
    fi
done
"""
OVERLAY_PORTS = "TCP 2377, TCP and UDP 7946, UDP 4789"


@dataclass(frozen=True)
class ProxyView:
    """What one node's proxy sees: each address its lookup gave, reached or not."""

    node: str
    seen: Mapping[str, bool]

    def missing(self, expected: set[str]) -> list[str]:
        """The expected addresses it does not resolve or cannot connect to, sorted."""
        return sorted(a for a in expected if not self.seen.get(a, False))


def parse_probe(node: str, output: str) -> ProxyView:
    seen = {}
    for line in output.splitlines():
        address, _, word = line.strip().partition(" ")
        if address and word in ("reached", "unreached"):
            seen[address] = word == "reached"
    return ProxyView(node, seen)


def wait_reached(
    look: Callable[[], tuple[set[str], list[ProxyView]]],
    *,
    role: str,
    port: int,
    timeout: float,
    say: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Look (the running tasks' addresses, each proxy's view) until every proxy reaches every
    address; DeployFailed after `timeout` seconds naming what is still missing."""
    started = clock()
    deadline = started + timeout
    while True:
        expected, views = look()
        behind = {v.node: v.missing(expected) for v in views if v.missing(expected)}
        if expected and not behind:
            waited = clock() - started
            after = f" (after {waited:.0f} s)" if waited >= 1 else ""
            say(f"every proxy ({len(views)}) reaches the {len(expected)} {role} task(s){after}")
            return
        if clock() > deadline:
            if not expected:
                raise DeployFailed(f"no running {role} task has an address for the proxies")
            node, addresses = next(iter(behind.items()))
            raise DeployFailed(
                f"the proxy on {node} does not reach {role} at {', '.join(addresses)} (port"
                f" {port}) after {timeout:.0f} s: the nodes' overlay network needs"
                f" {OVERLAY_PORTS} open between them (the ECS security group)"
            )
        sleep(1.0)


def proxies_reach(
    swarm: Swarm, settings: DeploySettings, app: AppDefinition, say: Callable[[str], None]
) -> None:
    """`wait_reached` for the app's proxy and proxied role on the swarm (nothing to wait for
    without them)."""
    proxied = app.proxied
    if app.proxy is None or proxied is None or proxied.proxy_port is None:
        return
    role = service_name(settings.app, proxied.service)
    proxy = service_name(settings.app, app.proxy)
    network = network_name(settings.app)
    port = proxied.proxy_port

    def look() -> tuple[set[str], list[ProxyView]]:
        expected: set[str] = set()
        for task in Service(swarm.manager.services.get(role)).tasks(running_only=True):
            if task.state == "running":
                expected |= task.addresses_on(network)
        views = []
        for task in Service(swarm.manager.services.get(proxy)).tasks(running_only=True):
            address = swarm.address_of(task.node_id)
            if task.state != "running" or address is None or not task.container_id:
                continue
            command = ["sh", "-c", PROBE_SCRIPT, "probe", str(port), f"tasks.{role}"]
            result = run_in(swarm.clients[address].api, task.container_id, command)
            views.append(parse_probe(address.name, result.text))
        return expected, views

    wait_reached(
        look, role=proxied.service, port=port, timeout=settings.health_timeout + 30, say=say
    )
