"""What `up` must change: each service's desired container, hashed, against what runs.

As in docker-compose, a container's desired configuration is hashed into the config-hash label;
a service whose running container carries the same hash (and runs) is left alone. The image id
is part of the hash, so a rebuilt image recreates exactly the services that use it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from stackctl import labels
from stackctl.compose import MountSpec, Project, ServiceSpec
from stackctl.containers import Container
from stackctl.secretmounts import secret_mounts, without_secrets

Action = Literal["create", "recreate", "start", "keep"]


def network_name(project: Project) -> str:
    return f"{project.name}_default"


def volume_name(project: Project, volume: str) -> str:
    return f"{project.name}_{volume}"


def container_name(project: Project, service: str, number: int = 1) -> str:
    return f"{project.name}-{service}-{number}"


def image_name(project: Project, spec: ServiceSpec) -> str:
    """The image a service runs: its `image`, else compose v2's `<project>-<service>`."""
    return spec.image or f"{project.name}-{spec.name}"


def nanoseconds(seconds: float) -> int:
    return int(seconds * 1_000_000_000)


def restart_policy(restart: str) -> dict[str, Any]:
    if restart == "no":
        return {}
    name, _, count = restart.partition(":")
    policy: dict[str, Any] = {"Name": name}
    if count:
        policy["MaximumRetryCount"] = int(count)
    return policy


@dataclass(frozen=True)
class MountConfig:
    type: str
    source: str
    """A volume's engine name (project-prefixed) or a bind mount's host path."""
    target: str
    read_only: bool = False


@dataclass(frozen=True)
class HealthConfig:
    """A healthcheck as the Engine API takes it: durations in nanoseconds."""

    test: tuple[str, ...]
    interval: int
    timeout: int
    retries: int
    start_period: int


@dataclass(frozen=True)
class ContainerConfig:
    """What a service's container should be. Its config hash and its create call both come from
    this one value, so what `up` compares is exactly what it creates."""

    image: str
    image_id: str
    """Part of the hash only: a rebuilt image recreates the services that run it."""
    command: tuple[str, ...] | None
    entrypoint: tuple[str, ...] | None
    environment: Mapping[str, str]
    working_dir: str | None
    user: str | None
    stop_signal: str | None
    stop_timeout: int | None
    ports: tuple[tuple[int, str], ...]
    """(container port, protocol) the container exposes."""
    healthcheck: HealthConfig | None
    labels: Mapping[str, str]
    """The service's own labels; the project's labels (and this hash) are added at create."""
    port_bindings: Mapping[str, tuple[tuple[str, int | None], ...]]
    """"8000/tcp" -> (host ip, host port or None for any)."""
    mounts: tuple[MountConfig, ...]
    restart_policy: Mapping[str, Any]
    init: bool | None
    network: str
    aliases: tuple[str, ...]

    def hash_input(self) -> dict[str, Any]:
        """The document the config hash is taken of. Its keys and shape are what running stacks
        carry in their config-hash label: change them and every container is recreated once."""
        return {
            "image": self.image,
            "image_id": self.image_id,
            "command": self.command,
            "entrypoint": self.entrypoint,
            "environment": dict(sorted(self.environment.items())),
            "working_dir": self.working_dir,
            "user": self.user,
            "stop_signal": self.stop_signal,
            "stop_timeout": self.stop_timeout,
            "ports": self.ports,
            "healthcheck": asdict(self.healthcheck) if self.healthcheck else None,
            "service_labels": dict(sorted(self.labels.items())),
            "host": {
                "port_bindings": self.port_bindings,
                "mounts": [asdict(mount) for mount in self.mounts],
                "restart_policy": self.restart_policy,
                "init": self.init,
            },
            "network": self.network,
            "aliases": self.aliases,
        }

    @property
    def config_hash(self) -> str:
        encoded = json.dumps(self.hash_input(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(encoded.encode()).hexdigest()


def container_config(project: Project, spec: ServiceSpec, image_id: str) -> ContainerConfig:
    check = spec.healthcheck
    return ContainerConfig(
        image=image_name(project, spec),
        image_id=image_id,
        command=None if spec.command is None else tuple(spec.command),
        entrypoint=None if spec.entrypoint is None else tuple(spec.entrypoint),
        environment=dict(sorted(without_secrets(spec.environment, spec).items())),
        working_dir=spec.working_dir,
        user=spec.user,
        stop_signal=spec.stop_signal,
        stop_timeout=int(spec.stop_grace_period) if spec.stop_grace_period else None,
        ports=tuple((port.target, port.protocol) for port in spec.ports),
        healthcheck=None
        if check is None
        else HealthConfig(
            test=tuple(check.test),
            interval=nanoseconds(check.interval),
            timeout=nanoseconds(check.timeout),
            retries=check.retries,
            start_period=nanoseconds(check.start_period),
        ),
        labels=dict(sorted(spec.labels.items())),
        port_bindings=port_bindings(spec),
        mounts=service_mounts(project, spec),
        restart_policy=restart_policy(spec.restart),
        init=spec.init or None,
        network=network_name(project),
        aliases=(spec.name,),
    )


def port_bindings(spec: ServiceSpec) -> dict[str, tuple[tuple[str, int | None], ...]]:
    bindings: dict[str, list[tuple[str, int | None]]] = {}
    for port in spec.ports:
        bindings.setdefault(f"{port.target}/{port.protocol}", []).append(
            (port.host_ip, port.published)
        )
    return {key: tuple(found) for key, found in bindings.items()}


def service_mounts(project: Project, spec: ServiceSpec) -> tuple[MountConfig, ...]:
    """Every mount of the service's container. A new kind of mount (a secret file) is added
    here, and so enters the hash and the create call together."""
    volumes = tuple(mount_config(project, mount) for mount in spec.volumes)
    return volumes + tuple(MountConfig(**mount) for mount in secret_mounts(project, spec))


def mount_config(project: Project, mount: MountSpec) -> MountConfig:
    source = volume_name(project, mount.source) if mount.type == "volume" else mount.source
    return MountConfig(mount.type, source, mount.target, mount.read_only)


@dataclass
class ServicePlan:
    service: str
    action: Action
    config: ContainerConfig
    existing: Container | None = None
    extra: list[Container] = field(default_factory=list)

    @property
    def config_hash(self) -> str:
        return self.config.config_hash


def plan_service(
    project: Project,
    spec: ServiceSpec,
    image_id: str,
    running: Sequence[Container],
) -> ServicePlan:
    """Keep, start, recreate or create the service's container; more than one: the extra go."""
    config = container_config(project, spec, image_id)
    existing = running[0] if running else None
    if existing is None:
        action: Action = "create"
    elif existing.config_hash != config.config_hash:
        action = "recreate"
    elif existing.status != "running":
        action = "start"
    else:
        action = "keep"
    return ServicePlan(spec.name, action, config, existing, list(running[1:]))


def container_labels(project: Project, service: str, wanted_hash: str) -> dict[str, str]:
    spec = project.services[service]
    return {
        **spec.labels,
        labels.PROJECT: project.name,
        labels.SERVICE: service,
        labels.CONTAINER_NUMBER: "1",
        labels.ONEOFF: "False",
        labels.CONFIG_HASH: wanted_hash,
        labels.VERSION: "2.20.0",
        "com.docker.compose.project.working_dir": str(project.project_dir),
        "com.docker.compose.project.config_files": str(project.compose_file),
    }
