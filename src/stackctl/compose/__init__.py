"""compose.yaml as typed, validated data: the project that stackctl converges Docker to.

Only a subset of the Compose specification is supported, and every key outside it is an error
that names it, so a file never means more to `docker compose` than it means to stackctl.
"""

from __future__ import annotations

import heapq
import os
import re
from collections.abc import Collection, Mapping, Sequence
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StrictBool, ValidationError

from stackctl.compose.reader import ComposeReader, ServiceFields, directory_project_name, show

DependencyCondition = Literal[
    "service_started", "service_healthy", "service_completed_successfully"
]

_PROJECT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BuildSpec(_Spec):
    context: Path
    """Absolute path of the build context directory."""
    dockerfile: str = "Dockerfile"
    """Relative to `context`, as the Docker API wants it."""
    args: dict[str, str] = Field(default_factory=dict)
    target: str | None = None


class PortSpec(_Spec):
    host_ip: str = ""
    """"" when not given: every interface, Docker's default."""
    published: int | None = Field(default=None, ge=1, le=65535)
    """None: Docker picks a free host port."""
    target: int = Field(ge=1, le=65535)
    protocol: str = "tcp"


class MountSpec(_Spec):
    type: Literal["volume", "bind"]
    source: str
    """A volume's name as declared in compose.yaml (not prefixed with the project name), a
    bind mount's absolute host path, or "" for an anonymous volume (`- /data`)."""
    target: str
    read_only: bool = False


class DependsOn(_Spec):
    condition: DependencyCondition = "service_started"


class HealthcheckSpec(_Spec):
    test: list[str] = Field(default_factory=list)
    """["CMD", ...], ["CMD-SHELL", "..."], ["NONE"] when disabled, [] to keep the image's test."""
    interval: float = 30.0
    timeout: float = 30.0
    start_period: float = 0.0
    retries: int = Field(default=3, ge=0, strict=True)

    @property
    def disabled(self) -> bool:
        return self.test[:1] == ["NONE"]


class ServiceSecret(_Spec):
    """A secret a service mounts at /run/secrets/<target>."""

    source: str
    target: str | None = None
    """Defaults to `source`; a bare file name under /run/secrets."""
    uid: str | None = None
    gid: str | None = None
    mode: int | None = None

    @property
    def file_name(self) -> str:
        return self.target or self.source


class SecretSpec(_Spec):
    name: str
    file: Path | None = None
    """Absolute path of the file holding the secret (`file:`)."""
    environment: str | None = None
    """The variable holding the secret (`environment:`); its value is `content`."""
    content: SecretStr | None = None

    def read_bytes(self) -> bytes:
        if self.content is not None:
            return self.content.get_secret_value().encode()
        assert self.file is not None, "a secret has a file or a content"
        return self.file.read_bytes()


class IpamPool(_Spec):
    subnet: str | None = None
    gateway: str | None = None
    ip_range: str | None = None


class IpamSpec(_Spec):
    driver: str | None = None
    config: list[IpamPool] = Field(default_factory=list)


class NetworkSpec(_Spec):
    """A top-level network. `external` ones must exist; the others are the project's."""

    name: str
    """The key in compose.yaml."""
    engine_name: str | None = None
    """`name:` as given; else the engine name is <project>_<key>."""
    external: bool = False
    driver: str | None = None
    driver_opts: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    internal: StrictBool = False
    attachable: StrictBool = False
    ipam: IpamSpec | None = None


class ServiceNetwork(_Spec):
    aliases: list[str] = Field(default_factory=list)
    ipv4_address: str | None = None
    ipv6_address: str | None = None


class Ulimit(_Spec):
    soft: int
    hard: int


class LoggingSpec(_Spec):
    driver: str | None = None
    options: dict[str, str] = Field(default_factory=dict)


class ResourceSpec(_Spec):
    cpus: float | None = Field(default=None, gt=0)
    memory: int | None = Field(default=None, gt=0)
    """Bytes."""
    pids: int | None = None


class ResourcesSpec(_Spec):
    limits: ResourceSpec = Field(default_factory=ResourceSpec)
    reservations: ResourceSpec = Field(default_factory=ResourceSpec)


class DeploySpec(_Spec):
    replicas: int = Field(default=1, ge=0, strict=True)
    resources: ResourcesSpec = Field(default_factory=ResourcesSpec)


class ServiceSpec(_Spec):
    name: str
    build: BuildSpec | None = None
    image: str | None = Field(default=None, min_length=1)
    command: list[str] | None = None
    entrypoint: list[str] | None = None
    environment: dict[str, str] = Field(default_factory=dict)
    """env_file values merged under the service's own `environment`."""
    ports: list[PortSpec] = Field(default_factory=list)
    volumes: list[MountSpec] = Field(default_factory=list)
    depends_on: dict[str, DependsOn] = Field(default_factory=dict)
    healthcheck: HealthcheckSpec | None = None
    restart: str = "no"
    labels: dict[str, str] = Field(default_factory=dict)
    init: StrictBool = False
    stop_grace_period: float | None = None
    profiles: list[str] = Field(default_factory=list)
    working_dir: str | None = None
    user: str | None = None
    stop_signal: str | None = None
    secrets: list[ServiceSecret] = Field(default_factory=list)
    expose: list[str] = Field(default_factory=list)
    """"PORT[/PROTOCOL]" or "START-END[/PROTOCOL]", as written."""
    networks: dict[str, ServiceNetwork] = Field(
        default_factory=lambda: {"default": ServiceNetwork()}
    )
    """The networks the service joins, the first one at create; empty with a `network_mode`."""
    network_mode: str | None = None
    """host, none or service:NAME (the other service's first container's network stack)."""
    container_name: str | None = None
    hostname: str | None = None
    cap_add: list[str] = Field(default_factory=list)
    cap_drop: list[str] = Field(default_factory=list)
    sysctls: dict[str, str] = Field(default_factory=dict)
    stdin_open: StrictBool = False
    tty: StrictBool = False
    platform: str | None = None
    runtime: str | None = None
    ulimits: dict[str, Ulimit] = Field(default_factory=dict)
    logging: LoggingSpec | None = None
    extra_hosts: list[str] = Field(default_factory=list)
    """"HOST=ADDRESS" entries for /etc/hosts, as compose v2 writes them."""
    privileged: StrictBool = False
    read_only: StrictBool = False
    security_opt: list[str] = Field(default_factory=list)
    shm_size: int | None = None
    """Bytes."""
    tmpfs: list[str] = Field(default_factory=list)
    """"PATH[:OPTIONS]" entries."""
    dns: list[str] = Field(default_factory=list)
    dns_search: list[str] = Field(default_factory=list)
    pid: str | None = None
    ipc: str | None = None
    group_add: list[str] = Field(default_factory=list)
    deploy: DeploySpec = Field(default_factory=DeploySpec)

    @property
    def replicas(self) -> int:
        return self.deploy.replicas

    @property
    def network_service(self) -> str | None:
        """The service whose network stack this one joins (`network_mode: service:NAME`)."""
        mode = self.network_mode or ""
        return mode.partition(":")[2] if mode.startswith("service:") else None


# Compose keys with no field of their own: the reader folds each into the field named here.
FOLDED_SERVICE_KEYS = {
    "env_file": "environment",
    "mem_limit": "deploy",
    "cpus": "deploy",
    "pids_limit": "deploy",
}
# Each key a service may have, declared once: ServiceSpec's fields (after each, the keys folded
# into it), and `extends`, which is resolved before a service is read.
SERVICE_KEYS = (
    *(
        key
        for field in ServiceSpec.model_fields
        if field != "name"
        for key in (field, *(k for k, into in FOLDED_SERVICE_KEYS.items() if into == field))
    ),
    "extends",
)


class VolumeSpec(_Spec):
    name: str
    driver: str = "local"
    labels: dict[str, str] = Field(default_factory=dict)


class Project(_Spec):
    name: str
    services: dict[str, ServiceSpec]
    """The active services only (see `load_project`'s profiles), in file order."""
    volumes: dict[str, VolumeSpec]
    compose_file: Path
    project_dir: Path
    secrets: dict[str, SecretSpec] = Field(default_factory=dict)
    networks: dict[str, NetworkSpec] = Field(default_factory=dict)
    """Declared networks, and `default` (implicit unless declared) when a service uses it."""

    def start_order(self) -> list[str]:
        """Every service after the services it depends on; ties broken by name (graphlib's
        order, the smallest name first among those whose dependencies have started)."""
        graph = TopologicalSorter({n: set(s.depends_on) for n, s in self.services.items()})
        graph.prepare()  # the loader refused cycles already
        ready = list(graph.get_ready())
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            name = heapq.heappop(ready)
            order.append(name)
            graph.done(name)
            for other in graph.get_ready():
                heapq.heappush(ready, other)
        return order


def load_project(
    compose_file: Path,
    environ: Mapping[str, str],
    *,
    project_name: str | None = None,
    profiles: Collection[str] = (),
    overrides: Sequence[Path] = (),
    services: Collection[str] = (),
) -> Project:
    """Reads `compose_file` and the `.env` beside it, interpolates and validates.

    Variables come from `environ` layered over `.env` (`environ` wins). Services with profiles
    none of which is in `profiles` are left out, unless named in `services` (a service named on
    the command line is started whatever its profiles, as in compose v2). The project name is
    `project_name`, else the file's `name`, else the directory's name. `overrides` are merged
    over the file in order, as `docker compose -f compose.yaml -f override.yaml` merges them.
    """
    compose_file = Path(os.path.abspath(compose_file))
    reader = ComposeReader(
        compose_file,
        environ,
        [Path(os.path.abspath(p)) for p in overrides],
        service_keys=SERVICE_KEYS,
        project_name=project_name,
    )
    document = reader.read()
    specs = {
        name: _service_spec(reader, fields) for name, fields in reader.services(document).items()
    }
    _check_dependencies(reader, specs)
    active = {
        name: spec for name, spec in specs.items() if _is_active(spec, profiles) or name in services
    }
    _check_active_dependencies(reader, active, specs)
    _check_published_ports(reader, active)
    _check_container_names(reader, active)
    networks = {
        name: NetworkSpec.model_validate({"name": name, **fields})
        for name, fields in reader.networks(document).items()
    }
    if any("default" in spec.networks for spec in active.values()):
        networks.setdefault("default", NetworkSpec(name="default"))
    return Project(
        name=_project_name(reader, project_name, document.get("name"), compose_file.parent),
        services=active,
        volumes={
            name: VolumeSpec.model_validate({"name": name, **fields})
            for name, fields in reader.volumes(document).items()
        },
        compose_file=compose_file,
        project_dir=compose_file.parent,
        secrets={
            name: SecretSpec.model_validate(fields)
            for name, fields in reader.secrets(document).items()
        },
        networks=networks,
    )


def _service_spec(reader: ComposeReader, fields: ServiceFields) -> ServiceSpec:
    try:
        return ServiceSpec.model_validate(fields.values)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            path = fields.path + "".join(
                f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]
            )
            problems.append(f"{path}: invalid value {show(error['input'])}: {error['msg']}")
        reader.fail("", "; ".join(problems))


def _check_dependencies(reader: ComposeReader, services: Mapping[str, ServiceSpec]) -> None:
    for name, spec in services.items():
        for dependency, depends_on in spec.depends_on.items():
            path = reader.dependency_paths[(name, dependency)]
            if dependency == name:
                reader.fail(path, f"{name} depends on itself: remove {show(dependency)}")
            if dependency not in services:
                known = ", ".join(services)
                reader.fail(path, f"unknown service {show(dependency)} (services: {known})")
            healthcheck = services[dependency].healthcheck
            if depends_on.condition == "service_healthy" and (
                healthcheck is None or healthcheck.disabled
            ):
                reader.fail(
                    path,
                    f"condition service_healthy, but {show(dependency)} has no healthcheck:"
                    f" add one to services.{dependency} or use service_started",
                )
    cycle = _first_cycle(services)
    if cycle:
        reader.fail(f"services.{cycle[0]}.depends_on", f"dependency cycle: {' -> '.join(cycle)}")


def _first_cycle(services: Mapping[str, ServiceSpec]) -> list[str]:
    """A dependency cycle as [a, b, ..., a] (a depends on b), from its smallest name; [] if
    there is none. graphlib finds it; its list runs the other way (each node a predecessor of
    the next), and the graph is built in name order so the same file names the same cycle."""
    graph = TopologicalSorter(
        {name: sorted(services[name].depends_on) for name in sorted(services)}
    )
    try:
        graph.prepare()
    except CycleError as error:
        found: list[str] = list(reversed(error.args[1]))[:-1]
        start = found.index(min(found))
        cycle = found[start:] + found[:start]
        return [*cycle, cycle[0]]
    return []


def _check_active_dependencies(
    reader: ComposeReader,
    active: Mapping[str, ServiceSpec],
    services: Mapping[str, ServiceSpec],
) -> None:
    for name, spec in active.items():
        for dependency in spec.depends_on:
            if dependency not in active:
                profiles = ", ".join(services[dependency].profiles)
                reader.fail(
                    reader.dependency_paths[(name, dependency)],
                    f"{show(dependency)} is not active (profiles: {profiles}):"
                    " enable one of its profiles",
                )


_ANY_ADDRESS = ("", "0.0.0.0", "::")


def _check_published_ports(reader: ComposeReader, active: Mapping[str, ServiceSpec]) -> None:
    """Two bindings of one host port would fail at `docker run` time: fail here instead."""
    taken: dict[tuple[int, str], list[tuple[str, str]]] = {}
    for name, spec in active.items():
        for i, port in enumerate(spec.ports):
            if port.published is None:
                continue
            path = f"services.{name}.ports[{i}]"
            bound = taken.setdefault((port.published, port.protocol), [])
            clash = next(
                (
                    other_path
                    for host_ip, other_path in bound
                    if host_ip == port.host_ip
                    or host_ip in _ANY_ADDRESS
                    or port.host_ip in _ANY_ADDRESS
                ),
                None,
            )
            if clash is not None:
                address = f"{port.host_ip}:{port.published}" if port.host_ip else port.published
                reader.fail(
                    path,
                    f"host port {show(address)}/{port.protocol} is already published by {clash}:"
                    " choose another host port",
                )
            bound.append((port.host_ip, path))


def _check_container_names(reader: ComposeReader, active: Mapping[str, ServiceSpec]) -> None:
    """A container name is the engine's key: two containers cannot share it."""
    owners: dict[str, str] = {}
    for name, spec in active.items():
        if spec.container_name is None:
            continue
        path = f"services.{name}.container_name"
        if spec.replicas > 1:
            reader.fail(
                path,
                f"container_name {show(spec.container_name)} with deploy.replicas"
                f" {spec.replicas}: {spec.replicas} containers cannot share one name;"
                " remove container_name or set replicas to 1",
            )
        if spec.container_name in owners:
            reader.fail(
                path,
                f"container_name {show(spec.container_name)} is already used by"
                f" services.{owners[spec.container_name]}: choose another",
            )
        owners[spec.container_name] = name


def _is_active(spec: ServiceSpec, profiles: Collection[str]) -> bool:
    return not spec.profiles or any(profile in profiles for profile in spec.profiles)


def _project_name(
    reader: ComposeReader, given: str | None, declared: object, project_dir: Path
) -> str:
    if given is not None:
        if not _PROJECT_NAME.match(given):
            reader.fail("", f"invalid project name {show(given)}: {_NAME_RULE}")
        return given
    if declared is not None:
        if not isinstance(declared, str) or not _PROJECT_NAME.match(declared):
            reader.fail("name", f"invalid project name {show(declared)}: {_NAME_RULE}")
        return declared
    return directory_project_name(project_dir)


_NAME_RULE = 'use lowercase letters, digits, "-" and "_", starting with a letter or digit'
