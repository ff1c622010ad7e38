"""The releases kept on a host: listed from their containers' labels, the one the proxy serves,
the old ones pruned beyond DEPLOY_KEEP_RELEASES."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stackctl.deploy import labels
from stackctl.deploy.settings import DeploySettings
from stackctl.engine.models import (
    Container,
    inspect_container,
    listed_containers,
)

if TYPE_CHECKING:
    import docker

from stackctl.deploy.ssh.containers import remove_role_container
from stackctl.deploy.ssh.proxy import serving


@dataclass(frozen=True)
class Release:
    """A release on a host: its containers by role and the commit it came from."""

    version: str
    containers: dict[str, str]
    running: bool
    deployed_at: float
    commit: str
    dirty: bool
    running_roles: tuple[str, ...] = field(default=())


def releases(client: docker.DockerClient, app: str) -> list[Release]:
    """The host's releases (all roles of one version together), newest deploy first."""
    found = listed_containers(client.api, label=[f"{labels.APP}={app}", f"{labels.KIND}=role"])
    by_version: dict[str, list[Container]] = {}
    for container in found:
        by_version.setdefault(container.labels.get(labels.RELEASE, ""), []).append(container)
    result = []
    for version, containers in by_version.items():
        first = containers[0].labels
        running = tuple(sorted(c.labels.get(labels.ROLE, "") for c in containers if c.running))
        result.append(
            Release(
                version=version,
                containers={c.labels.get(labels.ROLE, ""): c.name for c in containers},
                running=bool(running),
                deployed_at=max(
                    float(c.labels.get(labels.DEPLOYED_AT, "0") or 0) for c in containers
                ),
                commit=first.get(labels.VERSION, ""),
                dirty=first.get(labels.DIRTY) == "true",
                running_roles=running,
            )
        )
    return sorted(result, key=lambda r: r.deployed_at, reverse=True)


def current_version(client: docker.DockerClient, app: str) -> str | None:
    """The release the proxy serves; without a proxy, the newest release with a running role."""
    from docker.errors import NotFound

    upstream = serving(client, app)
    if upstream:
        with contextlib.suppress(NotFound):
            return inspect_container(client.api, upstream).labels[labels.RELEASE]
    running = [r for r in releases(client, app) if r.running]
    return running[0].version if running else None


def prune(client: docker.DockerClient, settings: DeploySettings) -> list[str]:
    """Remove releases beyond the last `keep_releases` (containers, secrets, images)."""
    from docker.errors import APIError, NotFound

    removed = []
    for release in releases(client, settings.app)[settings.keep_releases :]:
        if release.running:
            continue
        images = set()
        for container in release.containers.values():
            with contextlib.suppress(NotFound):
                images.add(inspect_container(client.api, container).labels.get(labels.IMAGE, ""))
            remove_role_container(client, container)
        for image in images - {""}:
            with contextlib.suppress(APIError):
                client.api.remove_image(image)
        removed.append(release.version)
    return removed
