"""`invoke deploy.certs --target swarm`: the certificate each node's proxy serves (read from the
file it serves, as on the hosts target), and a forced renewal by the swarm's one certbot, whose
deploy hook hands the new certificate to every node (`swarm/tls.py`); then waits until every
node's proxy has it (nginx reloads gracefully once the file changes)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from stackctl.deploy.certs import RENEW, certificate_file, served_by
from stackctl.deploy.errors import DeployFailed
from stackctl.deploy.swarm import tls as swarm_tls
from stackctl.deploy.swarm.nodes import Swarm, running_tasks
from stackctl.deploy.swarm.specs import service_name
from stackctl.engine.execs import run_in
from stackctl.engine.models import inspect_container

if TYPE_CHECKING:
    import docker

_LINEAGE_CERT = "/etc/letsencrypt/live/stack/cert.pem"


def _running_tasks(swarm: Swarm, name: str) -> list[tuple[str, docker.DockerClient, str]]:
    """(host name, that node's client, container id) of each running task of service `name`,
    in host name order."""
    found = [
        (address.name, swarm.clients[address], task.container_id)
        for address, task in running_tasks(swarm, name)
    ]
    return sorted(found, key=lambda t: t[0])


def served(swarm: Swarm, app: str, proxy: str, now: dt.datetime) -> list[str]:
    """One line per node: what its proxy task serves."""
    tasks = _running_tasks(swarm, service_name(app, proxy))
    if not tasks:
        return [f"no running task of {service_name(app, proxy)}: deploy first"]
    return [f"{host}: {served_by(client, container, now)}" for host, client, container in tasks]


def renew(swarm: Swarm, app: str, proxy: str, say: Callable[[str], None], wait: float) -> None:
    """certbot's `renew --force-renewal` in its task; then until every node's proxy file holds
    the new certificate (DeployFailed after `wait` seconds)."""
    client_service = service_name(app, swarm_tls.ACME_CLIENT)
    tasks = _running_tasks(swarm, client_service)
    if not tasks:
        raise DeployFailed(
            f"no running task of {client_service}: the swarm's certificates are ordered in"
            " acme mode only (DEPLOY_HTTPS=acme, then `invoke deploy --target swarm`)"
        )
    host, client, container = tasks[0]
    result = run_in(client.api, container, RENEW)
    if not result.ok:
        tail = result.text.strip().splitlines()[-1:] or ["(no output)"]
        raise DeployFailed(f"{host}: the renewal failed: {tail[0]}")
    lineage = run_in(client.api, container, ["cat", _LINEAGE_CERT])
    wanted = lineage.output.strip()
    say(f"{host}: certbot renewed the certificate; handing it to every node")
    deadline = time.monotonic() + wait
    while True:
        waiting = [
            node
            for node, node_client, proxy_container in _running_tasks(
                swarm, service_name(app, proxy)
            )
            if _served_file(node_client, proxy_container) != wanted
        ]
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise DeployFailed(
                f"the renewed certificate did not reach {', '.join(waiting)} within {wait:.0f}s:"
                f" see `invoke deploy.logs certsync --target swarm`"
            )
        time.sleep(1)


def _served_file(client: docker.DockerClient, container: str) -> bytes:
    """The leaf certificate in the proxy's TLS_CERT_FILE (the chain's first PEM block)."""
    path = certificate_file(inspect_container(client.api, container))
    found = run_in(client.api, container, ["cat", path or "/dev/null"])
    end = b"-----END CERTIFICATE-----"
    return found.output.split(end)[0].strip() + b"\n" + end if end in found.output else b""
