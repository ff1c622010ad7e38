"""Typed views of what the engine answers, one per engine object, as docker-py's models are.

Each view keeps the engine's dict (`attrs`) and reads its keys (`Names`, `State`, `Spec`, ...)
here and nowhere else: the rest of stackctl speaks of `.name`, `.running`, `.health`
(tests/test_engine_layer.py checks that no other module indexes an engine dict). A view reads
the same object in every shape the engine gives it: a `Container` from `GET /containers/json`
(a list entry) and from `GET /containers/{id}/json` (an inspection).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from stackctl import labels

HEALTH_WORDS = ("healthy", "unhealthy", "starting")
DEFAULT_CHECK_INTERVAL = 30.0
"""Docker's health check interval, in seconds, when the container's is 0 or absent."""


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def check_command(test: list[str] | None) -> list[str] | None:
    """The command a container's health check runs (`Config.Healthcheck.Test`), None for none."""
    if not test or test[0] == "NONE":
        return None
    if test[0] == "CMD-SHELL" and len(test) == 2:
        return ["/bin/sh", "-c", test[1]]
    if test[0] == "CMD" and len(test) > 1:
        return list(test[1:])
    return None


@dataclass(frozen=True)
class HealthCheck:
    """A container's own health check: the command it runs, and how often Docker runs it."""

    command: list[str]
    interval: float
    """Seconds."""


@dataclass(frozen=True)
class Container:
    """A container, from a list entry (docker-py's `api.containers()`) or an inspection
    (`api.inspect_container()`): what both carry reads the same from either; what only an
    inspection carries (the exit code, the health check) reads as absent from a list entry."""

    attrs: Mapping[str, Any]

    @property
    def inspected(self) -> bool:
        """An inspection (its `State` is a dict) rather than a list entry (a word)."""
        return isinstance(self.attrs.get("State"), Mapping)

    @property
    def _state(self) -> Mapping[str, Any]:
        return _mapping(self.attrs.get("State"))

    @property
    def _config(self) -> Mapping[str, Any]:
        return _mapping(self.attrs.get("Config"))

    @property
    def id(self) -> str:
        return str(self.attrs["Id"])

    @property
    def name(self) -> str:
        if self.inspected or "Name" in self.attrs:
            return str(self.attrs.get("Name") or "?").lstrip("/")
        names = self.attrs.get("Names") or ["?"]
        return str(names[0]).lstrip("/")

    @property
    def labels(self) -> Mapping[str, str]:
        found: Mapping[str, str] = (
            self._config.get("Labels") if self.inspected else self.attrs.get("Labels")
        ) or {}
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
        if self.inspected:
            return str(self._state.get("Status") or "")
        return str(self.attrs.get("State") or "")

    @property
    def running(self) -> bool:
        if self.inspected:
            return bool(self._state.get("Running"))
        return self.status == "running"

    @property
    def exit_code(self) -> int | None:
        """The last exit code (inspections only; None from a list entry)."""
        return _int(self._state.get("ExitCode"))

    @property
    def health(self) -> str:
        """healthy, unhealthy, starting, or "" without a healthcheck."""
        if self.inspected:
            return str(_mapping(self._state.get("Health")).get("Status") or "")
        text = str(self.attrs.get("Status") or "")
        # "Up 2 seconds (healthy)", "Up 1 second (health: starting)"
        return next((w for w in HEALTH_WORDS if f"({w})" in text or f"(health: {w})" in text), "")

    @property
    def last_check(self) -> tuple[int | None, str] | None:
        """Docker's last run of the health check: (exit code, output); None before any."""
        log = _mapping(self._state.get("Health")).get("Log") or []
        if not log:
            return None
        last = _mapping(log[-1])
        return _int(last.get("ExitCode")), str(last.get("Output") or "")

    @property
    def check(self) -> HealthCheck | None:
        """The container's own health check (inspections only): its command and its interval
        (Docker's default, 30 s, when 0 or absent); None for a container without one."""
        check = _mapping(self._config.get("Healthcheck"))
        command = check_command(check.get("Test"))
        if command is None:
            return None
        interval = check.get("Interval") or DEFAULT_CHECK_INTERVAL * 1e9  # in ns
        return HealthCheck(command, interval / 1e9)

    @property
    def image_id(self) -> str:
        """The id of the image it runs (`Image` of an inspection, `ImageID` of a list entry)."""
        return str((self.attrs.get("Image") if self.inspected else self.attrs.get("ImageID")) or "")

    @property
    def stop_timeout(self) -> int | None:
        """Its own stop grace period in seconds (inspections only), None when not set."""
        return _int(self._config.get("StopTimeout"))

    @property
    def user(self) -> str:
        """The user it runs as (`Config.User`), "" for the image's default."""
        return str(self._config.get("User") or "")

    @property
    def env(self) -> list[str]:
        """The container's environment, `NAME=value` each (inspections only)."""
        return [str(line) for line in self._config.get("Env") or []]

    @property
    def environment(self) -> dict[str, str]:
        """The container's environment as NAME -> value (inspections only)."""
        return dict(line.split("=", 1) for line in self.env if "=" in line)

    @property
    def volumes(self) -> dict[str, str]:
        """Mount point -> volume name, for each named volume mounted (inspections only)."""
        return {
            str(m["Destination"]): str(m["Name"])
            for m in self.attrs.get("Mounts") or []
            if m.get("Type") == "volume"
        }

    @property
    def volume_mounts(self) -> list[tuple[str, str, bool]]:
        """(mount point, volume name, read-only) for each named volume mounted (inspections
        only)."""
        return [
            (str(m["Destination"]), str(m["Name"]), not m.get("RW", True))
            for m in self.attrs.get("Mounts") or []
            if m.get("Type") == "volume"
        ]

    @property
    def started_at(self) -> str:
        """When it last started (`State.StartedAt`, RFC 3339; inspections only), "" if never."""
        found = str(self._state.get("StartedAt") or "")
        return "" if found.startswith("0001-") else found

    @property
    def working_dir(self) -> str:
        """Its working directory (`Config.WorkingDir`), "" for the image's default."""
        return str(self._config.get("WorkingDir") or "")

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


def inspect_container(api: Any, container: str) -> Container:
    """The container's inspection (docker-py's NotFound when there is none)."""
    return Container(api.inspect_container(container))


def listed_containers(api: Any, **filters: Any) -> list[Container]:
    """`api.containers(all=True, filters=...)`, each as a Container."""
    return [Container(attrs) for attrs in api.containers(all=True, filters=filters)]


@dataclass(frozen=True)
class Image:
    """An image, from an inspection (`api.inspect_image()`), a list entry (`api.images()`) or
    the disk-usage report (`api.df()`)."""

    attrs: Mapping[str, Any]

    @property
    def id(self) -> str:
        return str(self.attrs["Id"])

    @property
    def tags(self) -> list[str]:
        return [str(tag) for tag in self.attrs.get("RepoTags") or []]

    @property
    def size(self) -> int:
        return int(self.attrs.get("Size") or 0)

    @property
    def shared_size(self) -> int:
        """Bytes shared with other images (the disk-usage report; -1 or 0 when not counted)."""
        return int(self.attrs.get("SharedSize", 0) or 0)

    @property
    def containers(self) -> int:
        """How many containers use it (the disk-usage report; -1 when not counted)."""
        return int(self.attrs.get("Containers") or 0)

    @property
    def user(self) -> str:
        """The user its containers run as by default (`Config.User`), "" for root."""
        return str(_mapping(self.attrs.get("Config")).get("User") or "")

    @property
    def layers(self) -> list[str]:
        """Its layers' diff ids (`RootFS.Layers`), bottom first."""
        return [str(layer) for layer in _mapping(self.attrs.get("RootFS")).get("Layers") or []]


def inspect_image(api: Any, reference: str) -> Image:
    """The image's inspection (docker-py's ImageNotFound when there is none)."""
    return Image(api.inspect_image(reference))


def built_image_id(chunk: Mapping[str, Any]) -> str | None:
    """The image id a build's progress stream announces (`{"aux": {"ID": ...}}`), else None."""
    aux = chunk.get("aux")
    if isinstance(aux, Mapping) and aux.get("ID"):
        return str(aux["ID"])
    return None


def disk_usage_images(api: Any) -> list[Image]:
    """The images of the engine's disk-usage report (`docker system df`)."""
    return [Image(attrs) for attrs in _mapping(api.df()).get("Images") or []]


@dataclass(frozen=True)
class EngineVersion:
    attrs: Mapping[str, Any]

    @property
    def version(self) -> str:
        return str(self.attrs.get("Version", "?"))

    @property
    def api_version(self) -> str:
        return str(self.attrs.get("ApiVersion", "?"))


@dataclass(frozen=True)
class Named:
    """A network or a volume: what stackctl reads of them is their name and id."""

    attrs: Mapping[str, Any]

    @property
    def id(self) -> str:
        return str(self.attrs.get("Id") or self.attrs.get("Name") or "")

    @property
    def name(self) -> str:
        return str(self.attrs.get("Name") or "")


def networks(api: Any, **options: Any) -> list[Named]:
    return [Named(attrs) for attrs in api.networks(**options)]


def network_containers(api: Any, network: str) -> list[str]:
    """The names of the containers the engine shows attached to a network."""
    attrs = _mapping(api.inspect_network(network))
    return [str(entry.get("Name") or key) for key, entry in (attrs.get("Containers") or {}).items()]


def volumes(api: Any, **options: Any) -> list[Named]:
    return [Named(attrs) for attrs in _mapping(api.volumes(**options)).get("Volumes") or []]


def created_id(answer: Mapping[str, Any]) -> str:
    """The id in a create call's answer (a container, an exec: `{"Id": ...}`)."""
    return str(answer["Id"])


def wait_status(answer: Mapping[str, Any], default: int = 1) -> int:
    """The exit code in `api.wait()`'s answer (`{"StatusCode": ...}`)."""
    return int(answer.get("StatusCode", default))


@dataclass(frozen=True)
class ArchiveEntry:
    """One image of a `docker save` archive's manifest.json: its config file and layer files."""

    config: str
    layers: list[str]

    @staticmethod
    def read(manifest: Iterable[Mapping[str, Any]]) -> list[ArchiveEntry]:
        return [ArchiveEntry(str(e["Config"]), [str(x) for x in e["Layers"]]) for e in manifest]


# --- Swarm ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SwarmInfo:
    """The `Swarm` part of the engine's `info()`: where this host stands in a swarm."""

    attrs: Mapping[str, Any]

    @property
    def local_state(self) -> str:
        """ "active" in a swarm; "inactive", "pending", "error", "locked" otherwise."""
        return str(self.attrs.get("LocalNodeState") or "")

    @property
    def active(self) -> bool:
        return self.local_state == "active"

    @property
    def manager(self) -> bool:
        return bool(self.attrs.get("ControlAvailable"))

    @property
    def cluster_id(self) -> str | None:
        found = _mapping(self.attrs.get("Cluster")).get("ID")
        return None if found is None else str(found)

    @property
    def node_id(self) -> str:
        return str(self.attrs.get("NodeID"))

    @property
    def node_addr(self) -> str:
        return str(self.attrs["NodeAddr"])


def swarm_info(client: Any) -> SwarmInfo:
    return SwarmInfo(_mapping(client.info().get("Swarm")))


def join_token(client: Any, *, manager: bool) -> str:
    """The token that joins a node to the swarm as a manager or a worker (read on a manager)."""
    client.swarm.reload()
    return str(client.swarm.attrs["JoinTokens"]["Manager" if manager else "Worker"])


@dataclass(frozen=True)
class Node:
    """A swarm node as a manager lists it (docker-py's `Node.attrs`)."""

    attrs: Mapping[str, Any]

    @classmethod
    def of(cls, model: Any) -> Node:
        """The view of docker-py's `Node` model (`client.nodes.get()`, `.list()`)."""
        return cls(model.attrs)

    @property
    def id(self) -> str:
        return str(self.attrs.get("ID"))

    @property
    def spec(self) -> dict[str, Any]:
        """A copy of its spec, to update."""
        return dict(_mapping(self.attrs.get("Spec")))

    @property
    def hostname(self) -> str:
        return str(self.attrs["Description"]["Hostname"])

    @property
    def state(self) -> str:
        return str(self.attrs["Status"]["State"])

    @property
    def availability(self) -> str:
        return str(self.spec.get("Availability", "active"))

    @property
    def role(self) -> str:
        return str(self.spec.get("Role", "worker"))

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.spec.get("Labels") or {})


def normal(value: Any) -> Any:
    """A spec as the engine answers it: Go's `omitempty` drops zero values (0, "", false,
    empty lists and maps), so they are dropped here too before comparing."""
    if isinstance(value, Mapping):
        kept = {k: normal(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, 0, "", False, [], {})}
    if isinstance(value, list):
        return [normal(v) for v in value]
    return value


def _secret_ids(spec: Mapping[str, Any]) -> set[str]:
    return {str(ref["SecretID"]) for ref in _container_spec(spec).get("Secrets") or []}


def _container_spec(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    return _mapping(_mapping(spec.get("TaskTemplate")).get("ContainerSpec"))


def secret_file_names(references: Iterable[Mapping[str, Any]]) -> set[str]:
    """The file names (`File.Name`) of a container spec's secret references."""
    return {str(_mapping(ref.get("File")).get("Name")) for ref in references}


@dataclass(frozen=True)
class ServiceSpec:
    """A Swarm service's spec, as stackctl builds it or the engine returns it."""

    body: Mapping[str, Any]

    @property
    def name(self) -> str:
        return str(self.body["Name"])

    @property
    def labels(self) -> Mapping[str, str]:
        found: Mapping[str, str] = self.body.get("Labels") or {}
        return found

    @property
    def replicas(self) -> int | None:
        """The replicas wanted, None for a global service."""
        replicated = _mapping(self.body.get("Mode")).get("Replicated")
        return None if replicated is None else int(replicated["Replicas"])

    @property
    def container(self) -> Mapping[str, Any]:
        """The task template's container spec."""
        return _container_spec(self.body)

    @property
    def secret_ids(self) -> set[str]:
        return _secret_ids(self.body)

    @property
    def secrets(self) -> tuple[Mapping[str, Any], ...]:
        """The container spec's secret references (`SecretID`, `SecretName`, `File`)."""
        return tuple(_container_spec(self.body).get("Secrets") or ())

    def fingerprinted(self, label: str) -> dict[str, Any]:
        """A deep copy without the label `label` (the fingerprint's own) and without the
        secrets' ids (their names carry the version): what a fingerprint of the spec covers."""
        shown: dict[str, Any] = json.loads(json.dumps(self.body, sort_keys=True))
        shown["Labels"].pop(label, None)
        for ref in _container_spec(shown).get("Secrets") or []:
            ref.pop("SecretID", None)
        return shown

    def create_arguments(self) -> dict[str, Any]:
        """The spec as docker-py's `create_service` / `update_service` take it."""
        return {
            "task_template": dict(self.body["TaskTemplate"]),
            "name": self.body["Name"],
            "labels": self.body["Labels"],
            "mode": self.body["Mode"],
            "update_config": self.body["UpdateConfig"],
            "rollback_config": self.body["RollbackConfig"],
            "endpoint_spec": self.body["EndpointSpec"],
        }


@dataclass(frozen=True)
class Task:
    """One task of a Swarm service (docker-py's `Service.tasks()` entries)."""

    attrs: Mapping[str, Any]

    @property
    def _status(self) -> Mapping[str, Any]:
        return _mapping(self.attrs.get("Status"))

    @property
    def id(self) -> str:
        return str(self.attrs.get("ID", ""))

    @property
    def node_id(self) -> str:
        return str(self.attrs.get("NodeID", ""))

    @property
    def slot(self) -> int:
        return int(self.attrs.get("Slot") or 0)

    @property
    def state(self) -> str:
        """Swarm's word: "running" (a task with a health check: only once healthy),
        "starting", "failed", "shutdown", ..."""
        return str(self._status.get("State"))

    @property
    def error(self) -> str:
        return str(self._status.get("Err") or "")

    @property
    def updated_at(self) -> str:
        return str(self.attrs.get("UpdatedAt", ""))

    @property
    def container_id(self) -> str:
        return str(_mapping(self._status.get("ContainerStatus")).get("ContainerID") or "")

    @property
    def exit_code(self) -> int | None:
        """Its container's exit code once it ended (None before)."""
        return _int(_mapping(self._status.get("ContainerStatus")).get("ExitCode"))

    @property
    def image(self) -> str:
        """The image reference it runs, without the digest Swarm may pin it to."""
        return str(self.container.get("Image") or "").split("@", 1)[0]

    @property
    def container(self) -> Mapping[str, Any]:
        """The container spec the task runs."""
        return _mapping(_mapping(self.attrs.get("Spec")).get("ContainerSpec"))

    @property
    def has_check(self) -> bool:
        return bool(self.container.get("Healthcheck"))

    def addresses_on(self, network: str) -> set[str]:
        """The task's addresses on the named network, without their prefix length."""
        found = set()
        for attachment in self.attrs.get("NetworksAttachments") or []:
            spec = _mapping(_mapping(_mapping(attachment).get("Network")).get("Spec"))
            if spec.get("Name") == network:
                found |= {str(a).split("/")[0] for a in attachment.get("Addresses") or []}
        return found

    def runs(self, spec: ServiceSpec) -> bool:
        """The task runs the spec's container (image, command, environment, health check,
        secrets by name): not a task left from the spec before."""
        have, want = self.container, spec.container
        keys = ("Image", "Args", "Env", "Healthcheck")
        if normal({k: have.get(k) for k in keys}) != normal({k: want.get(k) for k in keys}):
            return False
        return _secret_names(have) == _secret_names(want)


def _secret_names(container: Mapping[str, Any]) -> set[str | None]:
    return {s.get("SecretName") for s in container.get("Secrets") or []}


@dataclass(frozen=True)
class UpdateStatus:
    """A Swarm service's `UpdateStatus`: None state before any update."""

    state: str | None
    message: str


class Service:
    """A Swarm service: docker-py's `Service` model, read through typed properties."""

    def __init__(self, model: Any) -> None:
        self.model = model

    @property
    def id(self) -> str:
        return str(self.model.id)

    @property
    def name(self) -> str:
        return str(self.model.name)

    @property
    def spec(self) -> ServiceSpec:
        return ServiceSpec(_mapping(self.model.attrs.get("Spec")))

    @property
    def spec_body(self) -> Mapping[str, Any]:
        return self.spec.body

    @property
    def version(self) -> int:
        """The object version an update must name."""
        return int(self.model.attrs["Version"]["Index"])

    @property
    def has_previous_spec(self) -> bool:
        return bool(self.model.attrs.get("PreviousSpec"))

    @property
    def previous_spec(self) -> ServiceSpec | None:
        """The spec before the last update (what a rollback returns to), None when none."""
        found = _mapping(self.model.attrs.get("PreviousSpec"))
        return ServiceSpec(found) if found else None

    @property
    def secret_ids(self) -> set[str]:
        """The secrets its spec and its previous spec use."""
        return _secret_ids(self.spec.body) | _secret_ids(
            _mapping(self.model.attrs.get("PreviousSpec"))
        )

    @property
    def update(self) -> UpdateStatus:
        status = _mapping(self.model.attrs.get("UpdateStatus"))
        found = status.get("State")
        return UpdateStatus(None if found is None else str(found), str(status.get("Message") or ""))

    def reload(self) -> None:
        self.model.reload()

    def tasks(self, *, running_only: bool = False) -> list[Task]:
        filters = {"desired-state": "running"} if running_only else None
        return [Task(attrs) for attrs in self.model.tasks(filters=filters)]
