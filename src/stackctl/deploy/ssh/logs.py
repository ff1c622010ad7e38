"""`deploy.logs` on the SSH hosts: which containers of a role, an accessory or the proxy each
host runs, as log sources (`deploy/logstream.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING

from stackctl.deploy import labels
from stackctl.deploy.logstream import LogSource
from stackctl.deploy.logview import LogRequest, Subject, parse_line
from stackctl.deploy.settings import HostAddress
from stackctl.deploy.ssh.accessories import accessory_name
from stackctl.deploy.ssh.proxy import proxy_name
from stackctl.engine.models import Container, inspect_container, listed_containers

if TYPE_CHECKING:
    import docker


def containers_of(client: docker.DockerClient, app: str, subject: Subject) -> list[str]:
    """The subject's containers on a host: a role's running ones (two while a deploy moves
    it), else its newest; an accessory's or the proxy's one; none when it is not there."""
    from docker.errors import NotFound

    if subject.kind == "role":
        wanted = [f"{labels.APP}={app}", f"{labels.KIND}=role", f"{labels.ROLE}={subject.service}"]
        found = listed_containers(client.api, label=wanted)
        running = [c for c in found if c.running]
        return [c.name for c in running] or [c.name for c in _newest(found)]
    name = accessory_name(app, subject.service) if subject.kind == "accessory" else proxy_name(app)
    try:
        return [inspect_container(client.api, name).name]
    except NotFound:
        return []


def _newest(found: list[Container]) -> list[Container]:
    ordered = sorted(found, key=lambda c: float(c.labels.get(labels.DEPLOYED_AT, "0") or 0))
    return ordered[-1:]


def _answers(client: docker.DockerClient) -> bool:
    try:
        client.ping()
    except Exception:
        return False
    return True


def sources(
    clients: Mapping[HostAddress, docker.DockerClient], app: str, request: LogRequest
) -> list[LogSource]:
    """A source per container of the subject on every host, in DEPLOY_HOSTS order."""
    found = []
    for address, client in clients.items():
        for name in containers_of(client, app, request.subject):
            found.append(
                LogSource(
                    host=address.name,
                    what=name,
                    chunks=partial(
                        client.api.logs,
                        name,
                        stream=True,
                        follow=request.follow,
                        timestamps=True,
                        tail="all" if request.tail is None else request.tail,
                        since=request.since,
                    ),
                    line=partial(parse_line, host=address.name, container=name),
                    connected=partial(_answers, client),
                )
            )
    return found
