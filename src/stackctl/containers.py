"""The project's containers as the engine lists them, wrapped once (as docker-py's models do).

The rest of stackctl speaks of `.name`, `.service`, `.status`: the Engine API's dict keys
(`Names`, `Labels`, `State`) are read here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stackctl import labels

HEALTH_WORDS = ("healthy", "unhealthy", "starting")


@dataclass(frozen=True)
class Container:
    """One entry of `GET /containers/json` (docker-py's `api.containers()`)."""

    attrs: Mapping[str, Any]

    @property
    def id(self) -> str:
        return str(self.attrs["Id"])

    @property
    def name(self) -> str:
        names = self.attrs.get("Names") or ["?"]
        return str(names[0]).lstrip("/")

    @property
    def labels(self) -> Mapping[str, str]:
        found: Mapping[str, str] = self.attrs.get("Labels") or {}
        return found

    @property
    def project(self) -> str:
        return self.labels.get(labels.PROJECT, "")

    @property
    def service(self) -> str:
        return self.labels.get(labels.SERVICE, "")

    @property
    def number(self) -> int:
        """compose's container number (1 when the label is missing or not a number)."""
        text = self.labels.get(labels.CONTAINER_NUMBER, "1")
        return int(text) if text.isdigit() else 1

    @property
    def config_hash(self) -> str:
        return self.labels.get(labels.CONFIG_HASH, "")

    @property
    def status(self) -> str:
        """ "running", "exited", "created", ...: docker-py's `Container.status`."""
        return str(self.attrs.get("State") or "")

    @property
    def health(self) -> str:
        """healthy, unhealthy, starting, or "" without a healthcheck (read from `Status`)."""
        text = str(self.attrs.get("Status") or "")
        # "Up 2 seconds (healthy)", "Up 1 second (health: starting)"
        return next((w for w in HEALTH_WORDS if f"({w})" in text or f"(health: {w})" in text), "")

    @property
    def published_ports(self) -> list[tuple[str, int, int, str]]:
        """(host ip, host port, container port, protocol) for each port published on the host."""
        return [
            (p.get("IP", ""), int(p["PublicPort"]), int(p["PrivatePort"]), p.get("Type", "tcp"))
            for p in self.attrs.get("Ports") or []
            if p.get("PublicPort")
        ]


def project_containers(api: Any, project: str, service: str | None = None) -> list[Container]:
    """The project's containers (one-off ones left out), running or not."""
    found = api.containers(all=True, filters=labels.project_filter(project, service))
    return [Container(attrs) for attrs in found]
