"""compose.yaml's typed model: the project, its services and what they use, each field validated
by pydantic. `ServiceSpec`'s fields are the service keys stackctl reads (`SERVICE_KEYS`)."""

from __future__ import annotations

import heapq
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StrictBool

DependencyCondition = Literal[
    "service_started", "service_healthy", "service_completed_successfully"
]


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
