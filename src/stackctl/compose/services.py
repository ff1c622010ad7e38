"""The service dispatcher: each service's name checked, its `extends` resolved, and each of its
keys handed to the key's reader, into the plain field values `ServiceSpec` validates. Also the
keys about the service among the others: `depends_on`, `profiles`, `container_name`."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stackctl.compose.build import Build
from stackctl.compose.environment import Environment
from stackctl.compose.extends import Extends
from stackctl.compose.healthcheck import Healthcheck
from stackctl.compose.hostoptions import HostOptions
from stackctl.compose.messages import child, show
from stackctl.compose.mounts import Mounts
from stackctl.compose.ports import Ports
from stackctl.compose.process import Process
from stackctl.compose.servicenetworks import ServiceNetworks

if TYPE_CHECKING:
    from stackctl.compose.checks import Checks

# Keys of the Compose specification stackctl does not support: refused by name, with no
# "did you mean" guess (they are not typos).
COMPOSE_SERVICE_KEYS = (
    "annotations", "attach", "blkio_config", "configs", "cpu_count", "cpu_percent", "cpu_period",
    "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "cpu_shares", "cpuset", "credential_spec",
    "develop", "device_cgroup_rules", "devices", "dns_opt", "domainname", "external_links",
    "gpus", "isolation", "label_file", "links", "mac_address", "mem_reservation",
    "mem_swappiness", "memswap_limit", "models", "oom_kill_disable", "oom_score_adj",
    "post_start", "pre_stop", "provider", "pull_policy", "scale", "storage_opt",
    "use_api_socket", "userns_mode", "uts", "volumes_from",
)  # fmt: skip
# Passed through as they are: the model's field types validate them.
_PLAIN_SERVICE_KEYS = ("image", "working_dir", "stop_signal")
_STRING_SERVICE_KEYS = ("hostname", "platform", "runtime", "pid", "ipc")
_BOOLEAN_SERVICE_KEYS = ("init", "stdin_open", "tty", "privileged", "read_only")
CONDITIONS = ("service_started", "service_healthy", "service_completed_successfully")

_SERVICE_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
_PROFILE_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
_CONTAINER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


@dataclass(frozen=True)
class ServiceFields:
    """One service's values, ready for `ServiceSpec`, and where the service is in the file."""

    path: str
    values: dict[str, object]


@dataclass(frozen=True)
class Declared:
    """The top-level names a service may refer to."""

    volumes: Collection[str]
    secrets: Collection[str]
    networks: Collection[str]


class Services:
    """Reads the `services` mapping; errors through its reader."""

    def __init__(
        self,
        reader: Checks,
        *,
        service_keys: tuple[str, ...],
        declared: Declared,
        dependency_paths: dict[tuple[str, str], str],
    ) -> None:
        self.reader = reader
        self.service_keys = service_keys
        self.dependency_paths = dependency_paths
        """(service, dependency) -> where the dependency is named: filled as services are read."""
        self.networks = ServiceNetworks(reader, declared=declared.networks)
        options = HostOptions(reader)
        mounts = Mounts(reader, volumes=declared.volumes, secrets=declared.secrets)
        ports = Ports(reader)
        process = Process(reader)
        self.host_options = options
        self.environment = Environment(reader)
        self.readers: dict[str, Callable[[object, str], object]] = {
            "build": Build(reader).read,
            "command": process.command,
            "entrypoint": process.command,
            "ports": ports.ports,
            "volumes": mounts.mounts,
            "healthcheck": Healthcheck(reader).read,
            "restart": process.restart,
            "labels": reader.label_mapping,
            "stop_grace_period": reader.duration,
            "profiles": self._profiles,
            "user": process.user,
            "secrets": mounts.secrets,
            "expose": ports.expose,
            "container_name": self._container_name,
            "cap_add": reader.strings,
            "cap_drop": reader.strings,
            "sysctls": options.sysctls,
            "ulimits": options.ulimits,
            "logging": options.logging,
            "deploy": options.deploy,
            "extra_hosts": options.extra_hosts,
            "security_opt": reader.strings,
            "shm_size": options.byte_size,
            "tmpfs": options.string_or_strings,
            "dns": options.string_or_strings,
            "dns_search": options.string_or_strings,
            "group_add": options.groups,
        }

    def read(self, document: dict[str, object]) -> dict[str, ServiceFields]:
        raw = document["services"]
        if not isinstance(raw, dict):
            self.reader.expect("services", raw, "a mapping of service names to definitions")
        if not raw:
            self.reader.fail("services", "no services: define at least one")
        services: dict[str, ServiceFields] = {}
        for name, definition in raw.items():
            path = child("services", str(name))
            if not isinstance(name, str) or not _SERVICE_NAME.match(name):
                self.reader.fail(
                    path, f"invalid service name {show(name)}: use letters, digits, _ . -"
                )
            definition = Extends(self.reader).resolved(raw, name, definition, path)
            services[name] = ServiceFields(path, self._service(name, definition, path))
        return services

    def _service(self, name: str, definition: object, path: str) -> dict[str, object]:
        definition = self.reader.known_keys(
            self.reader.mapping(definition, path, "a mapping with image or build"),
            path,
            self.service_keys,
            COMPOSE_SERVICE_KEYS,
        )
        if "image" not in definition and "build" not in definition:
            self.reader.fail(path, "neither image nor build: a service needs one of them")
        values: dict[str, object] = {"name": name}
        for key, value in definition.items():
            if key in self.readers:
                read_key = self.readers[key]
                values[key] = None if value is None else read_key(value, child(path, key))
            elif key in _PLAIN_SERVICE_KEYS:
                values[key] = value
            elif key in _STRING_SERVICE_KEYS and value is not None:
                values[key] = self.reader.string(value, child(path, key))
            elif key in _BOOLEAN_SERVICE_KEYS and value is not None:
                values[key] = self.reader.boolean(value, child(path, key))
        values["environment"] = self.environment.read(definition, path)
        self.host_options.merge_short_limits(definition, values, path)
        depends_on: dict[str, dict[str, str]] = {}
        if definition.get("depends_on") is not None:
            depends_on = self._depends_on(name, definition["depends_on"], path)
        mode = definition.get("network_mode")
        if mode is not None:
            values["network_mode"] = self.networks.mode(name, mode, child(path, "network_mode"))
            values["networks"] = {}
            if definition.get("networks") is not None:
                self.reader.fail(
                    child(path, "networks"),
                    "networks and network_mode cannot be combined: keep one",
                )
            other = str(values["network_mode"]).partition("service:")[2]
            if other and other not in depends_on:
                # compose v2 starts the service whose network stack this one joins first.
                self.dependency_paths[(name, other)] = child(path, "network_mode")
                depends_on[other] = {"condition": "service_started"}
        else:
            values["networks"] = self.networks.networks(
                definition.get("networks"), child(path, "networks")
            )
        if depends_on:
            values["depends_on"] = depends_on
        return {key: value for key, value in values.items() if value is not None}

    def _depends_on(self, name: str, value: object, path: str) -> dict[str, dict[str, str]]:
        deps_path = child(path, "depends_on")
        dependencies: dict[str, dict[str, str]] = {}
        if isinstance(value, list):
            for i, dependency in enumerate(value):
                dependency = self.reader.string(dependency, child(deps_path, i))
                self.dependency_paths[(name, dependency)] = child(deps_path, i)
                dependencies[dependency] = {"condition": "service_started"}
        elif isinstance(value, dict):
            for dependency, settings in value.items():
                dep_path = child(deps_path, str(dependency))
                if not isinstance(dependency, str):
                    self.reader.expect(dep_path, dependency, "a service name")
                self.dependency_paths[(name, dependency)] = dep_path
                settings = self.reader.known_keys(
                    self.reader.mapping(settings, dep_path, "a mapping with condition"),
                    dep_path,
                    ("condition", "required", "restart"),
                )
                for flag in ("required", "restart"):
                    # Read for compose v2's sake; `up` starts every dependency and restarts none.
                    if settings.get(flag) is not None:
                        self.reader.boolean(settings[flag], child(dep_path, flag))
                condition = settings.get("condition", "service_started")
                if condition not in CONDITIONS:
                    self.reader.fail(
                        child(dep_path, "condition"),
                        f"unknown condition {show(condition)}: expected {', '.join(CONDITIONS)}",
                    )
                dependencies[dependency] = {"condition": str(condition)}
        else:
            self.reader.expect(deps_path, value, "a list of service names or a mapping")
        return dependencies

    def _profiles(self, value: object, path: str) -> list[str]:
        items = self.reader.sequence(value, path, "a list of profile names")
        for i, item in enumerate(items):
            if not isinstance(item, str) or not _PROFILE_NAME.match(item):
                self.reader.fail(
                    child(path, i), f"invalid profile name {show(item)}: use letters, digits, _ . -"
                )
        return [str(item) for item in items]

    def _container_name(self, value: object, path: str) -> str:
        name = self.reader.string(value, path)
        if not _CONTAINER_NAME.match(name):
            self.reader.fail(
                path, f"invalid container name {show(name)}: use letters, digits, _ . -"
            )
        return name
