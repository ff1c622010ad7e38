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
from stackctl.engine.healthchecks import HealthConfig
from stackctl.engine.models import Container
from stackctl.plan.secretmounts import secret_contents, secret_mounts, without_secrets

Action = Literal["create", "recreate", "start", "keep"]


def network_name(project: Project, network: str = "default") -> str:
    """A network's engine name: its `name:` if given, else compose's <project>_<key>."""
    spec = project.networks.get(network)
    if spec is not None and spec.engine_name:
        return spec.engine_name
    return f"{project.name}_{network}"


def first_network(project: Project, service: str) -> str:
    """The network a one-off container beside `service` joins: the service's first."""
    spec = project.services.get(service)
    return next(iter(spec.networks), "default") if spec else "default"


def volume_name(project: Project, volume: str) -> str:
    return f"{project.name}_{volume}"


def container_name(project: Project, service: str, number: int = 1) -> str:
    """compose v2's <project>-<service>-<number>, or the service's own `container_name`."""
    spec = project.services.get(service)
    if spec is not None and spec.container_name:
        return spec.container_name
    return f"{project.name}-{service}-{number}"


def exposed_ports(spec: ServiceSpec) -> tuple[tuple[int, str], ...]:
    """(container port, protocol) of `ports`, then those of `expose` (ranges spelled out) that
    `ports` does not already list."""
    found = [(port.target, port.protocol) for port in spec.ports]
    for entry in spec.expose:
        ports, _, protocol = entry.partition("/")
        first, _, last = ports.partition("-")
        for number in range(int(first), int(last or first) + 1):
            if (number, protocol or "tcp") not in found:
                found.append((number, protocol or "tcp"))
    return tuple(found)


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
class Endpoint:
    """One network the container joins, as the Engine API's endpoint config takes it."""

    network: str
    """The engine's name of the network."""
    aliases: tuple[str, ...]
    ipv4_address: str | None = None
    ipv6_address: str | None = None


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
    """The network mode: the first network's engine name, host, none or service:NAME."""
    aliases: tuple[str, ...]
    endpoints: tuple[Endpoint, ...] = ()
    """Every network joined (the first at create, the others before start); none with a
    network mode of host, none or service:NAME."""
    host_options: Mapping[str, Any] = field(default_factory=dict)
    """Options of the Engine API's HostConfig set only when compose.yaml sets them (cap_add,
    sysctls, ulimits, resources, ...), under docker-py's create_host_config names."""
    create_options: Mapping[str, Any] = field(default_factory=dict)
    """Options of the create call set only when compose.yaml sets them (hostname, tty, ...)."""
    secret_files: tuple[tuple[str, str], ...] = ()
    """(target path, sha256 of the content) of secrets copied in: the content is read at create
    and never kept here."""

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
            # Added only when used, so that stacks without them keep their hash.
            **({"endpoints": [asdict(e) for e in self.endpoints]} if self._more_networks else {}),
            **({"host_options": self.host_options} if self.host_options else {}),
            **({"create_options": self.create_options} if self.create_options else {}),
            **({"secret_files": self.secret_files} if self.secret_files else {}),
        }

    @property
    def _more_networks(self) -> bool:
        """Anything beyond the one default endpoint with the service's name as its alias."""
        plain = (Endpoint(self.network, self.aliases),)
        return bool(self.endpoints) and self.endpoints != plain

    @property
    def config_hash(self) -> str:
        encoded = json.dumps(self.hash_input(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(encoded.encode()).hexdigest()


def health_config(spec: ServiceSpec, *, deployed: bool = False) -> HealthConfig | None:
    """The service's `healthcheck:` as the engine takes it, for `up`'s create call (and its
    config hash), the SSH deploy's and a Swarm service's spec. `deployed`: a disabled check or
    one without a test is left out (the image's own check applies), as deploys always did."""
    check = spec.healthcheck
    if check is None or (deployed and (check.disabled or not check.test)):
        return None
    return HealthConfig(
        test=tuple(check.test),
        interval=nanoseconds(check.interval),
        timeout=nanoseconds(check.timeout),
        retries=check.retries,
        start_period=nanoseconds(check.start_period),
    )


def container_config(project: Project, spec: ServiceSpec, image_id: str) -> ContainerConfig:
    endpoints = service_endpoints(project, spec)
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
        ports=exposed_ports(spec),
        healthcheck=health_config(spec),
        labels=dict(sorted(spec.labels.items())),
        port_bindings=port_bindings(spec),
        mounts=service_mounts(project, spec),
        restart_policy=restart_policy(spec.restart),
        init=spec.init or None,
        network=endpoints[0].network if endpoints else str(spec.network_mode),
        aliases=endpoints[0].aliases if endpoints else (),
        endpoints=endpoints,
        host_options=host_options(spec),
        create_options=create_options(spec),
        secret_files=tuple(
            (target, hashlib.sha256(content).hexdigest())
            for target, content in secret_contents(project, spec)
        ),
    )


def service_endpoints(project: Project, spec: ServiceSpec) -> tuple[Endpoint, ...]:
    """The service's networks, each with the service's name and its own aliases."""
    return tuple(
        Endpoint(
            network_name(project, network),
            (spec.name, *(alias for alias in settings.aliases if alias != spec.name)),
            settings.ipv4_address,
            settings.ipv6_address,
        )
        for network, settings in spec.networks.items()
    )


def host_options(spec: ServiceSpec) -> dict[str, Any]:
    limits, reservations = spec.deploy.resources.limits, spec.deploy.resources.reservations
    options: dict[str, Any] = {
        "cap_add": spec.cap_add or None,
        "cap_drop": spec.cap_drop or None,
        "sysctls": dict(spec.sysctls) or None,
        "runtime": spec.runtime,
        "ulimits": [
            {"Name": name, "Soft": limit.soft, "Hard": limit.hard}
            for name, limit in spec.ulimits.items()
        ]
        or None,
        "log_config": {"Type": spec.logging.driver or "", "Config": dict(spec.logging.options)}
        if spec.logging
        else None,
        "nano_cpus": int(limits.cpus * 1_000_000_000) if limits.cpus else None,
        "mem_limit": limits.memory,
        "pids_limit": limits.pids,
        "mem_reservation": reservations.memory,
        "extra_hosts": [entry.replace("=", ":", 1) for entry in spec.extra_hosts] or None,
        "privileged": spec.privileged or None,
        "read_only": spec.read_only or None,
        "security_opt": spec.security_opt or None,
        "shm_size": spec.shm_size,
        "tmpfs": dict(entry.partition(":")[::2] for entry in spec.tmpfs) or None,
        "dns": spec.dns or None,
        "dns_search": spec.dns_search or None,
        "pid_mode": spec.pid,
        "ipc_mode": spec.ipc,
        "group_add": spec.group_add or None,
    }
    return {key: value for key, value in options.items() if value is not None}


def create_options(spec: ServiceSpec) -> dict[str, Any]:
    options: dict[str, Any] = {
        "hostname": spec.hostname,
        "stdin_open": spec.stdin_open or None,
        "tty": spec.tty or None,
        "platform": spec.platform,
    }
    return {key: value for key, value in options.items() if value is not None}


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
    # An anonymous volume ("") stays nameless: the engine names one per container.
    named = mount.type == "volume" and mount.source
    source = volume_name(project, mount.source) if named else mount.source
    return MountConfig(mount.type, source, mount.target, mount.read_only)


@dataclass
class ServicePlan:
    service: str
    action: Action
    config: ContainerConfig
    existing: Container | None = None
    extra: list[Container] = field(default_factory=list)
    number: int = 1
    """compose's container number: replica N of the service is <project>-<service>-N."""

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


def plan_replicas(
    project: Project,
    spec: ServiceSpec,
    image_id: str,
    running: Sequence[Container],
) -> list[ServicePlan]:
    """One plan per replica (`deploy.replicas`, numbered from 1 as compose numbers them); the
    containers numbered past the replicas go with the last plan (or a lone plan at 0 replicas
    that only removes)."""
    by_number: dict[int, list[Container]] = {}
    for container in running:
        by_number.setdefault(container.number, []).append(container)
    plans = []
    for number in range(1, spec.replicas + 1):
        plan = plan_service(project, spec, image_id, by_number.pop(number, []))
        plan.number = number
        plans.append(plan)
    leftover = [c for found in by_number.values() for c in found]
    if plans:
        plans[-1].extra.extend(leftover)
    elif leftover:
        config = container_config(project, spec, image_id)
        plans.append(ServicePlan(spec.name, "keep", config, None, leftover, 0))
    return plans


def container_labels(
    project: Project, service: str, wanted_hash: str, number: int = 1
) -> dict[str, str]:
    spec = project.services[service]
    return {
        **spec.labels,
        labels.PROJECT: project.name,
        labels.SERVICE: service,
        labels.CONTAINER_NUMBER: str(number),
        labels.ONEOFF: "False",
        labels.CONFIG_HASH: wanted_hash,
        labels.VERSION: "2.20.0",
        "com.docker.compose.project.working_dir": str(project.project_dir),
        "com.docker.compose.project.config_files": str(project.compose_file),
    }
