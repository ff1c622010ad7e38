"""`invoke deploy.details` on the SSH hosts: what each host runs for the app, found by the
labels a deploy puts on its containers (`deploy/labels.py`). A role's containers of the release
the host serves are shown whatever their state (a stopped one is the news), other releases' only
while running (a deploy or rollback moving); accessories, the proxy and running one-offs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stackctl.deploy import labels
from stackctl.deploy.details import KINDS, DetailRow, started_seconds, uptime
from stackctl.deploy.ssh.releases import current_version
from stackctl.engine.models import Container, inspect_container, listed_containers

if TYPE_CHECKING:
    import docker


def host_rows(client: docker.DockerClient, app: str, host: str, now: float) -> list[DetailRow]:
    """The host's rows (none when nothing of the app is there)."""
    from docker.errors import NotFound

    serving = current_version(client, app)
    rows = []
    for listed in listed_containers(client.api, label=[f"{labels.APP}={app}"]):
        kind = listed.labels.get(labels.KIND, "")
        release = listed.labels.get(labels.RELEASE, "")
        if kind not in KINDS or (kind == "exec" and not listed.running):
            continue
        if kind == "role" and release != serving and not listed.running:
            continue
        try:
            found = inspect_container(client.api, listed.id)
        except NotFound:  # gone meanwhile (a one-off ended)
            continue
        rows.append(row_of(found, host, serving, now))
    return rows


def row_of(found: Container, host: str, serving: str | None, now: float) -> DetailRow:
    """A container's row from its inspection (pure)."""
    kind = found.labels.get(labels.KIND, "")
    release = found.labels.get(labels.RELEASE, "")
    if kind in ("role", "exec"):
        version = f"{release} *" if kind == "role" and release == serving else release
    else:
        version = found.labels.get(labels.IMAGE, "") or found.image_id[:19]
    return DetailRow(
        host=host,
        kind=kind,
        service=found.labels.get(labels.ROLE, ""),
        container=found.name,
        version=version,
        state=found.status,
        health=found.health,
        up=uptime(started_seconds(found.started_at), now, found.running),
    )
