"""What `up` must change: each service's desired container, hashed, against what runs.

As in docker-compose, a container's desired configuration is hashed into the config-hash label;
a service whose running container carries the same hash (and runs) is left alone. The image id
is part of the hash, so a rebuilt image recreates exactly the services that use it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from stackctl import labels
from stackctl.compose import Project, ServiceSpec
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


def desired_container(project: Project, spec: ServiceSpec, image_id: str) -> dict[str, Any]:
    """Keyword arguments for docker-py's `api.create_container`, minus labels and host config."""
    desired: dict[str, Any] = {
        "image": image_name(project, spec),
        "image_id": image_id,
        "command": spec.command,
        "entrypoint": spec.entrypoint,
        "environment": dict(sorted(without_secrets(spec.environment, spec).items())),
        "working_dir": spec.working_dir,
        "user": spec.user,
        "stop_signal": spec.stop_signal,
        "stop_timeout": int(spec.stop_grace_period) if spec.stop_grace_period else None,
        "ports": [(port.target, port.protocol) for port in spec.ports],
        "healthcheck": None,
        "service_labels": dict(sorted(spec.labels.items())),
        "host": {
            "port_bindings": port_bindings(spec),
            "mounts": [mount_dict(project, m) for m in spec.volumes] + secret_mounts(project, spec),
            "restart_policy": restart_policy(spec.restart),
            "init": spec.init or None,
        },
        "network": network_name(project),
        "aliases": [spec.name],
    }
    if spec.healthcheck is not None:
        check = spec.healthcheck
        desired["healthcheck"] = {
            "test": check.test,
            "interval": nanoseconds(check.interval),
            "timeout": nanoseconds(check.timeout),
            "retries": check.retries,
            "start_period": nanoseconds(check.start_period),
        }
    return desired


def port_bindings(spec: ServiceSpec) -> dict[str, list[tuple[str, int | None]]]:
    bindings: dict[str, list[tuple[str, int | None]]] = {}
    for port in spec.ports:
        bindings.setdefault(f"{port.target}/{port.protocol}", []).append(
            (port.host_ip, port.published)
        )
    return bindings


def mount_dict(project: Project, mount: Any) -> dict[str, Any]:
    source = volume_name(project, mount.source) if mount.type == "volume" else mount.source
    return {
        "type": mount.type,
        "source": source,
        "target": mount.target,
        "read_only": mount.read_only,
    }


def config_hash(desired: Mapping[str, Any]) -> str:
    encoded = json.dumps(desired, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


@dataclass(frozen=True)
class RunningContainer:
    """What the engine says about one of the project's containers."""

    id: str
    service: str
    config_hash: str
    state: str


@dataclass
class ServicePlan:
    service: str
    action: Action
    config_hash: str
    desired: dict[str, Any]
    existing: RunningContainer | None = None
    extra: list[RunningContainer] = field(default_factory=list)


def plan_service(
    project: Project,
    spec: ServiceSpec,
    image_id: str,
    running: list[RunningContainer],
) -> ServicePlan:
    desired = desired_container(project, spec, image_id)
    wanted = config_hash(desired)
    existing = running[0] if running else None
    extra = running[1:]
    if existing is None:
        action: Action = "create"
    elif existing.config_hash != wanted:
        action = "recreate"
    elif existing.state != "running":
        action = "start"
    else:
        action = "keep"
    return ServicePlan(spec.name, action, wanted, desired, existing, extra)


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
