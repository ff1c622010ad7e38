"""The labels that mark a stack's containers, compatible with docker compose v2.

Using compose's own label names means `docker compose ps` (and `docker ps --filter`) see our
containers as the project's, and compose's own convergence logic would agree with ours.
"""

from __future__ import annotations

PROJECT = "com.docker.compose.project"
SERVICE = "com.docker.compose.service"
CONTAINER_NUMBER = "com.docker.compose.container-number"
ONEOFF = "com.docker.compose.oneoff"
CONFIG_HASH = "com.docker.compose.config-hash"
NETWORK = "com.docker.compose.network"
VOLUME = "com.docker.compose.volume"
VERSION = "com.docker.compose.version"


def project_filter(project: str, service: str | None = None) -> dict[str, list[str]]:
    labels = [f"{PROJECT}={project}", f"{ONEOFF}=False"]
    if service is not None:
        labels.append(f"{SERVICE}={service}")
    return {"label": labels}
