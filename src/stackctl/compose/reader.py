"""Reads compose.yaml's raw YAML into plain field values, one key at a time, with errors that name
the file, the dotted path and the value. `stackctl.compose` turns the values into models."""

from __future__ import annotations

import difflib
import ipaddress
import logging
import os
import re
import shlex
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from stackctl.compose.durations import EXPECTED as DURATION_EXPECTED
from stackctl.compose.durations import parse_duration
from stackctl.compose.envfiles import read_dotenv, read_env_file
from stackctl.compose.extends import Extends
from stackctl.compose.hostoptions import HostOptions
from stackctl.compose.interpolate import InvalidTemplate, MissingRequiredVariable, interpolate
from stackctl.compose.merge import merge

# Re-exported: callers quote values the way compose errors do.
from stackctl.compose.messages import child as child
from stackctl.compose.messages import kind as kind
from stackctl.compose.messages import show as show
from stackctl.compose.scalars import go_text
from stackctl.compose.yamlfile import read_yaml_file, without_extensions
from stackctl.errors import ComposeError

logger = logging.getLogger("stackctl.compose")

TOP_LEVEL_KEYS = ("name", "services", "volumes", "networks", "secrets")
# Keys of the Compose specification stackctl does not support: refused by name, with no
# "did you mean" guess (they are not typos).
COMPOSE_TOP_LEVEL_KEYS = ("version", "configs", "include", "models")
COMPOSE_SERVICE_KEYS = (
    "annotations", "attach", "blkio_config", "configs", "cpu_count", "cpu_percent", "cpu_period",
    "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "cpu_shares", "cpuset", "credential_spec",
    "develop", "device_cgroup_rules", "devices", "dns_opt", "domainname", "external_links",
    "gpus", "isolation", "label_file", "links", "mac_address", "mem_reservation",
    "mem_swappiness", "memswap_limit", "models", "oom_kill_disable", "oom_score_adj",
    "post_start", "pre_stop", "provider", "pull_policy", "scale", "storage_opt",
    "use_api_socket", "userns_mode", "uts", "volumes_from",
)  # fmt: skip
NETWORK_KEYS = (
    "name", "external", "driver", "driver_opts", "labels", "internal", "attachable", "ipam"
)  # fmt: skip
# Passed through as they are: the model's field types validate them.
_PLAIN_SERVICE_KEYS = ("image", "working_dir", "stop_signal")
_STRING_SERVICE_KEYS = ("hostname", "platform", "runtime", "pid", "ipc")
_BOOLEAN_SERVICE_KEYS = ("init", "stdin_open", "tty", "privileged", "read_only")
CONDITIONS = ("service_started", "service_healthy", "service_completed_successfully")
PROTOCOLS = ("tcp", "udp", "sctp")

_SERVICE_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
_VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
_SECRET_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
_PROFILE_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
_NETWORK_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
_CONTAINER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
_EXPOSE = re.compile(r"^([0-9]+)(?:-([0-9]+))?(?:/(tcp|udp|sctp))?$")
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_GIT_CONTEXT = re.compile(r"^(?:git@|git://|github\.com/|https?://.*\.git(?:[#?].*)?$)")
_RESTART = re.compile(r"^(?:no|always|unless-stopped|on-failure(?::[0-9]+)?)$")
_ENV_KEY = re.compile(r"^[^\s=]+$")
_DIGITS = re.compile(r"^[0-9]+$")
# ro/rw are applied; the others are Docker Desktop's file-sharing hints, no-ops on Linux (as in v2).
_MOUNT_OPTIONS = ("ro", "rw", "cached", "delegated", "consistent")


def mount_target_key(target: str) -> str:
    """A container path as the engine compares it: `/data/` and `/data` are one target."""
    return target.rstrip("/") or "/"


def directory_project_name(project_dir: Path) -> str:
    """Compose's default project name: the folder's name, lowercase, without other characters."""
    name = re.sub(r"[^a-z0-9_-]", "", project_dir.name.lower()).lstrip("-_")
    return name or "stack"


@dataclass(frozen=True)
class ServiceFields:
    """One service's values, ready for `ServiceSpec`, and where the service is in the file."""

    path: str
    values: dict[str, object]


class ComposeReader:
    """Reads one compose file. Every `fail` is a one-line ComposeError naming this file."""

    def __init__(
        self,
        compose_file: Path,
        environ: Mapping[str, str],
        overrides: Sequence[Path] = (),
        *,
        service_keys: Collection[str],
        project_name: str | None = None,
    ) -> None:
        self.compose_file = compose_file
        # The keys a service may have: derived from ServiceSpec by its module (which imports
        # this one, so they are handed in rather than imported).
        self.service_keys = tuple(service_keys)
        self.project_name = project_name
        self.overrides = list(overrides)
        self.project_dir = compose_file.parent
        self.shown_as = compose_file.name
        self.environ = environ
        self.variables: dict[str, str] = {}
        self.declared_volumes: set[str] = set()
        self.declared_secrets: set[str] = set()
        self.declared_networks: set[str] = set()
        self.dependency_paths: dict[tuple[str, str], str] = {}
        self._unset: set[str] = set()

    # -- errors ----------------------------------------------------------------------------

    def fail(self, path: str, message: str) -> NoReturn:
        text = f"{self.shown_as}: {path}: {message}" if path else f"{self.shown_as}: {message}"
        raise ComposeError(text.replace("\r", " ").replace("\n", " "))

    def _expect(self, path: str, value: object, expected: str) -> NoReturn:
        got = "null" if value is None else f"{kind(value)} {show(value)}"
        self.fail(path, f"expected {expected}, got {got}")

    # -- the document ----------------------------------------------------------------------

    def read(self) -> dict[str, object]:
        """The top-level mapping, keys checked, `.env` read and every string interpolated."""
        document = without_extensions(read_yaml_file(self.compose_file, self.shown_as))
        if document is None:
            self.fail("", 'file is empty: expected a mapping with a "services" key')
        if not isinstance(document, dict):
            self._expect("", document, 'a mapping with a "services" key at the top level')
        document = self._without_version(document)
        self._check_not_version_1(document)
        document = self.known_keys(document, "", TOP_LEVEL_KEYS, COMPOSE_TOP_LEVEL_KEYS)
        for override in self.overrides:
            document = merge(document, self._override(override))
        if self.overrides:
            # Past the merge a value may come from either file: name them all.
            self.shown_as = " + ".join([self.shown_as, *map(self.shown_path, self.overrides)])
        if "services" not in document:
            self.fail("services", "missing: define at least one service")
        self.variables = {**self._dotenv(), **self.environ}
        # As in compose v2, the file may use the project's name: ${COMPOSE_PROJECT_NAME}.
        self.variables["COMPOSE_PROJECT_NAME"] = self._name_for_variables(document)
        interpolated = self.interpolated(document, "")
        for name in sorted(self._unset):
            logger.warning('The "%s" variable is not set. Defaulting to a blank string.', name)
        assert isinstance(interpolated, dict)
        self.declared_networks = set(self.networks(interpolated))
        self.declared_volumes = set(self.volumes(interpolated))
        self.declared_secrets = set(self.secrets(interpolated))
        return interpolated

    def _override(self, path: Path) -> dict[str, object]:
        """An override file, read and checked under its own name; paths stay project-relative."""
        shown_as = self.shown_path(path)
        document = without_extensions(read_yaml_file(path, shown_as))
        if not isinstance(document, dict):
            raise ComposeError(f"{shown_as}: expected a mapping at the top level")
        base_name, self.shown_as = self.shown_as, shown_as
        try:
            document = self._without_version(document)
            return self.known_keys(document, "", TOP_LEVEL_KEYS, COMPOSE_TOP_LEVEL_KEYS)
        finally:
            self.shown_as = base_name

    def _name_for_variables(self, document: dict[str, object]) -> str:
        """The project name as the file's `${COMPOSE_PROJECT_NAME}` sees it: given, else from
        the environment or .env, else the file's `name` (interpolated), else the folder's."""
        if self.project_name is not None:
            return self.project_name
        if self.variables.get("COMPOSE_PROJECT_NAME"):
            return self.variables["COMPOSE_PROJECT_NAME"]
        declared = document.get("name")
        if isinstance(declared, str):
            try:
                return interpolate(declared, self.variables)
            except (InvalidTemplate, MissingRequiredVariable):
                return declared  # the document's interpolation reports it, naming the key
        return directory_project_name(self.project_dir)

    def _without_version(self, document: dict[object, object]) -> dict[object, object]:
        if "version" not in document:
            return document
        # compose v2's own words: the key is obsolete and ignored.
        logger.warning(
            "%s: the attribute `version` is obsolete, it will be ignored,"
            " please remove it to avoid potential confusion",
            self.shown_as,
        )
        return {key: value for key, value in document.items() if key != "version"}

    def _check_not_version_1(self, document: dict[object, object]) -> None:
        """A compose file format 1 has its services at the top level: say so, not "unknown key"."""
        if "services" in document:
            return
        looks_like_services = [
            key
            for key, value in document.items()
            if isinstance(value, dict) and ("image" in value or "build" in value)
        ]
        if looks_like_services:
            self.fail(
                str(looks_like_services[0]),
                "services at the top level (compose file format version 1, not supported):"
                " move them under a top-level `services:` key",
            )

    def _dotenv(self) -> dict[str, str]:
        return read_dotenv(self.project_dir, self.environ)

    def interpolated(self, node: object, path: str) -> object:
        if isinstance(node, str):
            try:
                return interpolate(node, self.variables, self._unset.add)
            except MissingRequiredVariable as exc:
                self.fail(path, str(exc))
            except InvalidTemplate as exc:
                self.fail(
                    path,
                    f"invalid interpolation format {show(exc.template)}:"
                    " you may need to escape any $ with another $",
                )
        if isinstance(node, dict):
            return {key: self.interpolated(value, child(path, key)) for key, value in node.items()}
        if isinstance(node, list):
            return [self.interpolated(value, child(path, i)) for i, value in enumerate(node)]
        return node

    def known_keys(
        self,
        mapping: dict[object, object],
        path: str,
        supported: tuple[str, ...],
        compose_keys: tuple[str, ...] = (),
    ) -> dict[str, object]:
        """`mapping` without its `x-` extension keys; any other unsupported key is an error.
        A key of the Compose specification that stackctl does not support (`compose_keys`) is
        refused by name; any other gets a "did you mean" guess among `supported`."""
        known: dict[str, object] = {}
        for key, value in mapping.items():
            if not isinstance(key, str):
                self.fail(path, f"invalid key {show(key)}: keys must be strings")
            if key.startswith("x-"):
                continue
            if key in compose_keys:
                self.fail(
                    child(path, key),
                    "unsupported compose key: stackctl does not implement it"
                    f" (supported: {', '.join(supported)})",
                )
            if key not in supported:
                close = difflib.get_close_matches(key, supported, n=1)
                hint = f', did you mean "{close[0]}"?' if close else ""
                self.fail(
                    child(path, key), f"unsupported key{hint} (supported: {', '.join(supported)})"
                )
            known[key] = value
        return known

    def mapping(self, value: object, path: str, expected: str) -> dict[object, object]:
        if not isinstance(value, dict):
            self._expect(path, value, expected)
        return value

    def sequence(self, value: object, path: str, expected: str) -> list[object]:
        if not isinstance(value, list):
            self._expect(path, value, expected)
        return value

    def string(self, value: object, path: str) -> str:
        if not isinstance(value, str):
            self._expect(path, value, "a string")
        return value

    def text(self, value: object, path: str, what: str) -> str:
        """A scalar as the string a container sees: as compose v2 formats it (`1e3` is "1000")."""
        if isinstance(value, (str, int, float)):
            return go_text(value)
        self.fail(path, f"invalid {what} {show(value)}: expected a string, number or boolean")

    def _boolean(self, value: object, path: str) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        self._expect(path, value, "true or false")

    def _duration(self, value: object, path: str) -> float:
        if value == 0 and not isinstance(value, bool):
            return 0.0
        if isinstance(value, str):
            try:
                return parse_duration(value)
            except ValueError:
                pass
        self.fail(path, f"invalid duration {show(value)}: {DURATION_EXPECTED}")

    def _project_path(self, text: str) -> Path:
        """A host path from the file: `~` is the user's home, relative is to the project."""
        if text == "~" or text.startswith("~/"):
            home = self.environ.get("HOME") or str(Path.home())
            text = home + text[1:]
        return Path(os.path.normpath(self.project_dir / text))

    def shown_path(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.project_dir))
        except ValueError:
            return str(path)

    # -- top level -------------------------------------------------------------------------

    def networks(self, document: dict[str, object]) -> dict[str, dict[str, object]]:
        """Top-level networks: name -> NetworkSpec fields."""
        raw = document.get("networks")
        if raw is None:
            return {}
        raw = self.mapping(raw, "networks", "a mapping of network names to null or settings")
        networks: dict[str, dict[str, object]] = {}
        supported = NETWORK_KEYS
        for name, settings in raw.items():
            path = child("networks", str(name))
            if not isinstance(name, str) or not _NETWORK_NAME.match(name):
                self.fail(path, f"invalid network name {show(name)}: use letters, digits, _ . -")
            settings = self.known_keys(
                {} if settings is None else self.mapping(settings, path, "null or a mapping"),
                path,
                supported,
                ("enable_ipv4", "enable_ipv6"),
            )
            fields: dict[str, object] = {}
            if settings.get("name") is not None:
                fields["engine_name"] = self.string(settings["name"], child(path, "name"))
            external = settings.get("external")
            if isinstance(external, dict):
                # compose v1's `external: {name: X}`: v2 still reads it.
                external_settings = self.known_keys(external, child(path, "external"), ("name",))
                if "name" in external_settings:
                    fields["engine_name"] = self.string(
                        external_settings["name"], child(path, "external.name")
                    )
                external = True
            if external is not None and self._boolean(external, child(path, "external")):
                others = sorted(set(settings) - {"name", "external"})
                if others:
                    self.fail(
                        child(path, others[0]),
                        "an external network is created outside the project: it takes no settings",
                    )
                fields["external"] = True
            if settings.get("driver") is not None:
                fields["driver"] = self.string(settings["driver"], child(path, "driver"))
            for key in ("driver_opts", "labels"):
                if settings.get(key) is not None:
                    fields[key] = self.label_mapping(settings[key], child(path, key))
            for key in ("internal", "attachable"):
                if settings.get(key) is not None:
                    fields[key] = self._boolean(settings[key], child(path, key))
            if settings.get("ipam") is not None:
                fields["ipam"] = self._ipam(settings["ipam"], child(path, "ipam"))
            networks[name] = fields
        return networks

    def _ipam(self, value: object, path: str) -> dict[str, object]:
        settings = self.known_keys(
            self.mapping(value, path, "a mapping with driver, config"),
            path,
            ("driver", "config"),
            ("options",),
        )
        ipam: dict[str, object] = {}
        if settings.get("driver") is not None:
            ipam["driver"] = self.string(settings["driver"], child(path, "driver"))
        pools = self.sequence(
            settings.get("config") or [], child(path, "config"), "a list of pools"
        )
        configs: list[dict[str, str]] = []
        ipam["config"] = configs
        for i, pool in enumerate(pools):
            pool_path = child(child(path, "config"), i)
            pool_settings = self.known_keys(
                self.mapping(pool, pool_path, "a mapping with subnet, gateway, ip_range"),
                pool_path,
                ("subnet", "gateway", "ip_range"),
                ("aux_addresses",),
            )
            found: dict[str, str] = {}
            for key in ("subnet", "ip_range"):
                if pool_settings.get(key) is not None:
                    found[key] = self._network(pool_settings[key], child(pool_path, key))
            if pool_settings.get("gateway") is not None:
                found["gateway"] = self.host_ip(
                    pool_settings["gateway"], child(pool_path, "gateway")
                )
            configs.append(found)
        return ipam

    def _network(self, value: object, path: str) -> str:
        try:
            return str(ipaddress.ip_network(self.string(value, path)))
        except ValueError:
            self.fail(
                path, f"invalid subnet {show(value)}: expected an address/prefix like 172.20.0.0/24"
            )

    def volumes(self, document: dict[str, object]) -> dict[str, dict[str, object]]:
        """Top-level named volumes: name -> VolumeSpec fields."""
        raw = document.get("volumes")
        if raw is None:
            return {}
        raw = self.mapping(raw, "volumes", "a mapping of volume names to null or settings")
        volumes: dict[str, dict[str, object]] = {}
        for name, settings in raw.items():
            path = child("volumes", str(name))
            if not isinstance(name, str) or not _VOLUME_NAME.match(name):
                self.fail(path, f"invalid volume name {show(name)}: use letters, digits, _ . -")
            if settings is None:
                volumes[name] = {}
                continue
            settings = self.known_keys(
                self.mapping(settings, path, "null or a mapping with driver, labels"),
                path,
                ("driver", "labels"),
                ("driver_opts", "external", "name"),
            )
            fields: dict[str, object] = {}
            if "driver" in settings:
                fields["driver"] = self.string(settings["driver"], child(path, "driver"))
            if "labels" in settings:
                fields["labels"] = self.label_mapping(settings["labels"], child(path, "labels"))
            volumes[name] = fields
        return volumes

    def secrets(self, document: dict[str, object]) -> dict[str, dict[str, object]]:
        """Top-level secrets: name -> SecretSpec fields. Only `file:` secrets are supported (as
        compose without swarm); a file that is not there is an error naming it."""
        raw = document.get("secrets")
        if raw is None:
            return {}
        raw = self.mapping(raw, "secrets", "a mapping of secret names to {file: PATH}")
        secrets: dict[str, dict[str, object]] = {}
        for name, settings in raw.items():
            path = child("secrets", str(name))
            if not isinstance(name, str) or not _SECRET_NAME.match(name):
                self.fail(path, f"invalid secret name {show(name)}: use letters, digits, _ . -")
            settings = self.known_keys(
                self.mapping(settings, path, "a mapping with file or environment"),
                path,
                ("file", "environment"),
                ("external", "name", "content", "driver", "driver_opts", "template_driver"),
            )
            if len(settings) != 1:
                self.fail(
                    path,
                    'expected one of "file" (read from a file) or "environment"'
                    " (read from a variable)",
                )
            if "environment" in settings:
                variable = self.string(settings["environment"], child(path, "environment"))
                value = self.variables.get(variable)
                if value is None:
                    self.fail(
                        child(path, "environment"),
                        f"secret {name} is missing: variable {variable} is not set: set it"
                        " in the environment or .env",
                    )
                secrets[name] = {"name": name, "environment": variable, "content": value}
                continue
            text = self.string(settings["file"], child(path, "file"))
            file = self._project_path(text)
            if not file.is_file():
                self.fail(
                    child(path, "file"),
                    f"secret {name} is missing: no file {show(text)} ({file}): create it",
                )
            secrets[name] = {"name": name, "file": file}
        return secrets

    def services(self, document: dict[str, object]) -> dict[str, ServiceFields]:
        raw = document["services"]
        if not isinstance(raw, dict):
            self._expect("services", raw, "a mapping of service names to definitions")
        if not raw:
            self.fail("services", "no services: define at least one")
        services: dict[str, ServiceFields] = {}
        for name, definition in raw.items():
            path = child("services", str(name))
            if not isinstance(name, str) or not _SERVICE_NAME.match(name):
                self.fail(path, f"invalid service name {show(name)}: use letters, digits, _ . -")
            definition = Extends(self).resolved(raw, name, definition, path)
            services[name] = ServiceFields(path, self._service(name, definition, path))
        return services

    # -- a service -------------------------------------------------------------------------

    def _service(self, name: str, definition: object, path: str) -> dict[str, object]:
        definition = self.known_keys(
            self.mapping(definition, path, "a mapping with image or build"),
            path,
            self.service_keys,
            COMPOSE_SERVICE_KEYS,
        )
        if "image" not in definition and "build" not in definition:
            self.fail(path, "neither image nor build: a service needs one of them")
        options = HostOptions(self)
        readers: dict[str, Callable[[object, str], object]] = {
            "build": self._build,
            "command": self._command,
            "entrypoint": self._command,
            "ports": self._ports,
            "volumes": self._mounts,
            "healthcheck": self._healthcheck,
            "restart": self._restart,
            "labels": self.label_mapping,
            "stop_grace_period": self._duration,
            "profiles": self._profiles,
            "user": self._user,
            "secrets": self._service_secrets,
            "expose": self._expose,
            "container_name": self._container_name,
            "cap_add": self._strings,
            "cap_drop": self._strings,
            "sysctls": options.sysctls,
            "ulimits": options.ulimits,
            "logging": options.logging,
            "deploy": options.deploy,
            "extra_hosts": options.extra_hosts,
            "security_opt": self._strings,
            "shm_size": options.byte_size,
            "tmpfs": options.string_or_strings,
            "dns": options.string_or_strings,
            "dns_search": options.string_or_strings,
            "group_add": options.groups,
        }
        values: dict[str, object] = {"name": name}
        for key, value in definition.items():
            if key in readers:
                values[key] = None if value is None else readers[key](value, child(path, key))
            elif key in _PLAIN_SERVICE_KEYS:
                values[key] = value
            elif key in _STRING_SERVICE_KEYS and value is not None:
                values[key] = self.string(value, child(path, key))
            elif key in _BOOLEAN_SERVICE_KEYS and value is not None:
                values[key] = self._boolean(value, child(path, key))
        values["environment"] = self._service_environment(definition, path)
        options.merge_short_limits(definition, values, path)
        depends_on: dict[str, dict[str, str]] = {}
        if definition.get("depends_on") is not None:
            depends_on = self._depends_on(name, definition["depends_on"], path)
        mode = definition.get("network_mode")
        if mode is not None:
            values["network_mode"] = self._network_mode(name, mode, child(path, "network_mode"))
            values["networks"] = {}
            if definition.get("networks") is not None:
                self.fail(
                    child(path, "networks"),
                    "networks and network_mode cannot be combined: keep one",
                )
            other = str(values["network_mode"]).partition("service:")[2]
            if other and other not in depends_on:
                # compose v2 starts the service whose network stack this one joins first.
                self.dependency_paths[(name, other)] = child(path, "network_mode")
                depends_on[other] = {"condition": "service_started"}
        else:
            values["networks"] = self._service_networks(
                definition.get("networks"), child(path, "networks")
            )
        if depends_on:
            values["depends_on"] = depends_on
        return {key: value for key, value in values.items() if value is not None}

    def _strings(self, value: object, path: str) -> list[str]:
        items = self.sequence(value, path, "a list of strings")
        return [self.string(item, child(path, i)) for i, item in enumerate(items)]

    def _expose(self, value: object, path: str) -> list[str]:
        items = self.sequence(value, path, 'a list of ports like "3000" or "8000-8010/udp"')
        exposed: list[str] = []
        for i, item in enumerate(items):
            text = self.text(item, child(path, i), "port") if not isinstance(item, bool) else ""
            match = _EXPOSE.match(text)
            if not match or not all(
                1 <= int(port) <= 65535 for port in match.groups()[:2] if port is not None
            ):
                self.fail(
                    child(path, i),
                    f"invalid port {show(item)}: expected PORT[/PROTOCOL] or START-END[/PROTOCOL]",
                )
            exposed.append(text)
        return exposed

    def _container_name(self, value: object, path: str) -> str:
        name = self.string(value, path)
        if not _CONTAINER_NAME.match(name):
            self.fail(path, f"invalid container name {show(name)}: use letters, digits, _ . -")
        return name

    def _network_mode(self, service: str, value: object, path: str) -> str:
        mode = self.string(value, path)
        if mode in ("host", "none") or (mode.startswith("service:") and mode != "service:"):
            if mode == f"service:{service}":
                self.fail(path, f"{service} cannot join its own network stack")
            return mode
        self.fail(
            path,
            f"unsupported network_mode {show(mode)}: expected host, none or service:NAME"
            " (use networks: for the project's networks)",
        )

    def _service_networks(self, value: object, path: str) -> dict[str, dict[str, object]]:
        if value is None:
            return {"default": {}}
        if isinstance(value, list):
            value = {self.string(item, child(path, i)): None for i, item in enumerate(value)}
        settings = self.mapping(value, path, "a list of network names or a mapping")
        networks: dict[str, dict[str, object]] = {}
        for name, options in settings.items():
            item_path = child(path, str(name))
            if not isinstance(name, str):
                self._expect(item_path, name, "a network name")
            if name != "default" and name not in self.declared_networks:
                self.fail(
                    item_path,
                    f"undeclared network {show(name)}: declare it under the top-level networks key",
                )
            options = self.known_keys(
                {} if options is None else self.mapping(options, item_path, "null or a mapping"),
                item_path,
                ("aliases", "ipv4_address", "ipv6_address"),
                ("driver_opts", "gw_priority", "interface_name", "link_local_ips", "mac_address",
                 "priority"),
            )  # fmt: skip
            fields: dict[str, object] = {}
            if options.get("aliases") is not None:
                fields["aliases"] = self._strings(options["aliases"], child(item_path, "aliases"))
            for key in ("ipv4_address", "ipv6_address"):
                if options.get(key) is not None:
                    fields[key] = self.host_ip(options[key], child(item_path, key))
            networks[name] = fields
        return networks

    def integer(self, value: object, path: str) -> int:
        """An integer, or a string of digits (as interpolation leaves it): never a boolean."""
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
            return int(value)
        self._expect(path, value, "an integer")

    def _build(self, value: object, path: str) -> dict[str, object]:
        settings: dict[str, object]
        if isinstance(value, str):
            settings, context_path = {"context": value}, path
        elif isinstance(value, dict):
            settings = self.known_keys(value, path, ("context", "dockerfile", "args", "target"))
            context_path = child(path, "context")
        else:
            self._expect(path, value, "a context path or a mapping with context, dockerfile, ...")
        context_text = self.string(settings.get("context", "."), context_path)
        if _GIT_CONTEXT.match(context_text) or _URL.match(context_text):
            remote = "a git repository" if _GIT_CONTEXT.match(context_text) else "a URL"
            self.fail(
                context_path,
                f"build context from {remote} {show(context_text)} is not supported:"
                " fetch it and give the local folder",
            )
        context = self._project_path(context_text)
        if not context.is_dir():
            self.fail(
                context_path,
                f"build context directory not found {show(context_text)} ({context}):"
                " create it or fix the path",
            )
        build: dict[str, object] = {"context": context}
        dockerfile_path = child(path, "dockerfile") if "dockerfile" in settings else path
        dockerfile = self.string(settings.get("dockerfile", "Dockerfile"), dockerfile_path)
        if not (context / dockerfile).is_file():
            self.fail(
                dockerfile_path,
                f"Dockerfile not found {show(dockerfile)} in build context {context}",
            )
        build["dockerfile"] = dockerfile
        if settings.get("args") is not None:
            build["args"] = self._resolved(self.key_values(settings["args"], child(path, "args")))
        if settings.get("target") is not None:
            build["target"] = self.string(settings["target"], child(path, "target"))
        return build

    def _command(self, value: object, path: str) -> list[str]:
        if isinstance(value, str):
            try:
                return shlex.split(value)
            except ValueError as exc:
                self.fail(path, f"invalid command {show(value)}: {str(exc).lower()}")
        items = self.sequence(value, path, "a string or a list of strings")
        return [self.text(item, child(path, i), "argument") for i, item in enumerate(items)]

    def key_values(self, value: object, path: str) -> dict[str, str | None]:
        """A mapping, or a list of KEY=VALUE / KEY entries; a KEY without a value maps to None."""
        pairs: dict[str, str | None] = {}
        if isinstance(value, dict):
            for key, item in value.items():
                item_path = child(path, str(key))
                if not isinstance(key, str) or not _ENV_KEY.match(key):
                    self.fail(item_path, f"invalid key {show(key)}: no spaces or = allowed")
                pairs[key] = None if item is None else self.text(item, item_path, "value")
        elif isinstance(value, list):
            for i, entry in enumerate(value):
                if not isinstance(entry, str):
                    self._expect(child(path, i), entry, 'a "KEY=VALUE" string')
                key, equals, item = entry.partition("=")
                if not _ENV_KEY.match(key):
                    self.fail(
                        child(path, i),
                        f'invalid entry {show(entry)}: expected "KEY=VALUE" or "KEY"',
                    )
                pairs[key] = item if equals else None
        else:
            self._expect(path, value, 'a mapping or a list of "KEY=VALUE"')
        return pairs

    def _resolved(self, pairs: Mapping[str, str | None]) -> dict[str, str]:
        """A KEY without a value takes the variable's value, and is left out if it has none."""
        resolved: dict[str, str] = {}
        for key, value in pairs.items():
            if value is None:
                value = self.variables.get(key)
            if value is not None:
                resolved[key] = value
        return resolved

    def label_mapping(self, value: object, path: str) -> dict[str, str]:
        return {key: value or "" for key, value in self.key_values(value, path).items()}

    def _service_environment(self, definition: dict[str, object], path: str) -> dict[str, str]:
        environment: dict[str, str] = {}
        env_files = definition.get("env_file")
        if env_files is not None:
            env_file_path = child(path, "env_file")
            entries = [env_files] if isinstance(env_files, str) else env_files
            entries = self.sequence(entries, env_file_path, "a path or a list of paths")
            for i, entry in enumerate(entries):
                entry_path = (
                    env_file_path if isinstance(env_files, str) else child(env_file_path, i)
                )
                file = self._project_path(self.string(entry, entry_path))
                if not file.is_file():
                    self.fail(entry_path, f"env file not found {show(entry)} ({file})")
                values = read_env_file(file, self.shown_path(file), variables=self.variables)
                environment.update(self._resolved(values))
        if definition.get("environment") is not None:
            pairs = self.key_values(definition["environment"], child(path, "environment"))
            environment.update(self._resolved(pairs))
        return environment

    def _ports(self, value: object, path: str) -> list[dict[str, object]]:
        items = self.sequence(value, path, "a list of ports")
        return [self._port(item, child(path, i)) for i, item in enumerate(items)]

    def _port(self, value: object, path: str) -> dict[str, object]:
        if isinstance(value, int) and not isinstance(value, bool):
            return {"target": self._port_number(str(value), path, str(value))}
        if isinstance(value, dict):
            return self._long_port(value, path)
        if not isinstance(value, str):
            self._expect(path, value, 'a port like "8080:80" or a mapping with target, published')
        spec, _, protocol = value.partition("/")
        if "-" in spec:
            self.fail(path, f"port range {show(value)} is not supported: list each port")
        host_ip = ""
        if spec.startswith("["):
            address, bracket, rest = spec[1:].partition("]")
            if not bracket or not rest.startswith(":"):
                self._bad_port_syntax(path, value)
            host_ip, parts = address, rest[1:].split(":")
            if len(parts) != 2:
                self._bad_port_syntax(path, value)
        else:
            parts = spec.split(":")
            if len(parts) == 3:
                host_ip = parts.pop(0)
            elif len(parts) > 3:
                self._bad_port_syntax(path, value)
        port: dict[str, object] = {"target": self._port_number(parts[-1], path, value)}
        if len(parts) == 2 and parts[0]:
            port["published"] = self._port_number(parts[0], path, value)
        if host_ip:
            port["host_ip"] = self.host_ip(host_ip, path)
        if protocol:
            port["protocol"] = self._protocol(protocol, path)
        return port

    def _bad_port_syntax(self, path: str, value: str) -> NoReturn:
        self.fail(
            path,
            f"invalid port {show(value)}: expected [[HOST_IP:]PUBLISHED:]TARGET[/PROTOCOL],"
            ' with an IPv6 address in brackets ("[::1]:8080:80")',
        )

    def _port_number(self, text: str, path: str, whole: str) -> int:
        context = "" if text == whole else f" in {show(whole)}"
        if not _DIGITS.match(text):
            self.fail(path, f"invalid port {show(text)}{context}: must be a number 1-65535")
        number = int(text)
        if not 1 <= number <= 65535:
            self.fail(path, f"invalid port {show(text)}{context}: must be 1-65535")
        return number

    def host_ip(self, value: object, path: str) -> str:
        try:
            return str(ipaddress.ip_address(self.string(value, path)))
        except ValueError:
            self.fail(path, f"invalid host IP {show(value)}: expected an IPv4 or IPv6 address")

    def _protocol(self, value: object, path: str) -> str:
        if value not in PROTOCOLS:
            self.fail(path, f"invalid protocol {show(value)}: expected tcp, udp or sctp")
        return str(value)

    def _long_port(self, value: dict[object, object], path: str) -> dict[str, object]:
        settings = self.known_keys(value, path, ("target", "published", "host_ip", "protocol"))
        if "target" not in settings:
            self.fail(path, 'missing key "target": the port inside the container')
        port: dict[str, object] = {}
        for key in ("target", "published"):
            number = settings.get(key)
            if number is not None:
                text = self.text(number, child(path, key), "port")
                port[key] = self._port_number(text, child(path, key), text)
        if settings.get("host_ip") not in (None, ""):
            port["host_ip"] = self.host_ip(settings["host_ip"], child(path, "host_ip"))
        if settings.get("protocol") is not None:
            port["protocol"] = self._protocol(settings["protocol"], child(path, "protocol"))
        return port

    def _mounts(self, value: object, path: str) -> list[dict[str, object]]:
        items = self.sequence(value, path, "a list of volumes")
        mounts: list[dict[str, object]] = []
        targets: dict[str, str] = {}
        for i, item in enumerate(items):
            mount = self._mount(item, child(path, i))
            target = mount_target_key(str(mount["target"]))
            if target in targets:
                self.fail(
                    child(path, i),
                    f"mount target {show(mount['target'])} is already mounted by"
                    f" {targets[target]}: one mount per container path",
                )
            targets[target] = child(path, i)
            mount["target"] = target
            mounts.append(mount)
        return mounts

    def _mount(self, value: object, path: str) -> dict[str, object]:
        if isinstance(value, dict):
            return self._long_mount(value, path)
        if not isinstance(value, str):
            self._expect(path, value, 'a volume like "data:/data" or a mapping with type, ...')
        parts = value.split(":")
        if len(parts) == 1:
            return self._checked_mount("volume", "", value, False, path)
        if len(parts) > 3 or not parts[0]:
            self.fail(path, f"invalid volume {show(value)}: expected SOURCE:TARGET[:ro|rw]")
        read_only = False
        if len(parts) == 3:
            for option in parts[2].split(","):
                if option not in _MOUNT_OPTIONS:
                    self.fail(
                        path,
                        f"unsupported volume option {show(option)}:"
                        f" expected {', '.join(_MOUNT_OPTIONS)}",
                    )
            read_only = "ro" in parts[2].split(",")
        source, target = parts[0], parts[1]
        is_bind = source.startswith((".", "/", "~"))
        return self._checked_mount("bind" if is_bind else "volume", source, target, read_only, path)

    def _long_mount(self, value: dict[object, object], path: str) -> dict[str, object]:
        settings = self.known_keys(value, path, ("type", "source", "target", "read_only"))
        for key in ("type", "target"):
            if key not in settings:
                self.fail(path, f'missing key "{key}"')
        mount_type = settings["type"]
        if mount_type not in ("volume", "bind"):
            self.fail(
                child(path, "type"),
                f"unsupported mount type {show(mount_type)}: use volume or bind",
            )
        if settings.get("source") in (None, ""):
            if mount_type == "bind":
                self.fail(path, 'missing key "source": the host path to mount')
            settings["source"] = ""
        source = self.string(settings["source"], child(path, "source"))
        target = self.string(settings["target"], child(path, "target"))
        read_only = settings.get("read_only", False)
        read_only = self._boolean(read_only, child(path, "read_only"))
        return self._checked_mount(str(mount_type), source, target, read_only, path)

    def _checked_mount(
        self, mount_type: str, source: str, target: str, read_only: bool, path: str
    ) -> dict[str, object]:
        if not target.startswith("/"):
            self.fail(
                path, f"invalid mount target {show(target)}: must be an absolute container path"
            )
        if mount_type == "bind":
            source = str(self._project_path(source))
        elif source == "":
            pass  # anonymous: the engine names it
        elif not _VOLUME_NAME.match(source):
            self.fail(
                path,
                f"invalid volume name {show(source)}: use letters, digits, _ . -"
                ' (a bind mount source starts with "./", "/" or "~")',
            )
        elif source not in self.declared_volumes:
            self.fail(
                path,
                f"undeclared volume {show(source)}: declare it under the top-level volumes key",
            )
        return {"type": mount_type, "source": source, "target": target, "read_only": read_only}

    def _service_secrets(self, value: object, path: str) -> list[dict[str, object]]:
        items = self.sequence(value, path, "a list of secret names or {source, target, ...}")
        found: list[dict[str, object]] = []
        for i, item in enumerate(items):
            item_path = child(path, i)
            if isinstance(item, str):
                fields: dict[str, object] = {"source": item}
            else:
                settings = self.known_keys(
                    self.mapping(item, item_path, "a secret name or a mapping with source"),
                    item_path,
                    ("source", "target", "uid", "gid", "mode"),
                )
                if "source" not in settings:
                    self.fail(item_path, 'missing key "source"')
                fields = {"source": self.string(settings["source"], child(item_path, "source"))}
                for key in ("target", "uid", "gid"):
                    if key in settings:
                        fields[key] = self.text(settings[key], child(item_path, key), key)
                if "mode" in settings:
                    fields["mode"] = self._secret_mode(settings["mode"], child(item_path, "mode"))
            source = str(fields["source"])
            if source not in self.declared_secrets:
                self.fail(
                    item_path,
                    f"undeclared secret {show(source)}: declare it under the top-level secrets key",
                )
            found.append(fields)
        return found

    def _secret_mode(self, value: object, path: str) -> int:
        # As compose v2: a number is the mode (an unquoted 0400 is already octal), a string is
        # read as octal digits.
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0o777:
            return value
        if isinstance(value, str) and re.fullmatch(r"0?[0-7]{3}", value):
            return int(value, 8)
        self.fail(path, f"invalid mode {show(value)}: expected octal digits like 0400")

    def _depends_on(self, name: str, value: object, path: str) -> dict[str, dict[str, str]]:
        deps_path = child(path, "depends_on")
        dependencies: dict[str, dict[str, str]] = {}
        if isinstance(value, list):
            for i, dependency in enumerate(value):
                dependency = self.string(dependency, child(deps_path, i))
                self.dependency_paths[(name, dependency)] = child(deps_path, i)
                dependencies[dependency] = {"condition": "service_started"}
        elif isinstance(value, dict):
            for dependency, settings in value.items():
                dep_path = child(deps_path, str(dependency))
                if not isinstance(dependency, str):
                    self._expect(dep_path, dependency, "a service name")
                self.dependency_paths[(name, dependency)] = dep_path
                settings = self.known_keys(
                    self.mapping(settings, dep_path, "a mapping with condition"),
                    dep_path,
                    ("condition", "required", "restart"),
                )
                for flag in ("required", "restart"):
                    # Read for compose v2's sake; `up` starts every dependency and restarts none.
                    if settings.get(flag) is not None:
                        self._boolean(settings[flag], child(dep_path, flag))
                condition = settings.get("condition", "service_started")
                if condition not in CONDITIONS:
                    self.fail(
                        child(dep_path, "condition"),
                        f"unknown condition {show(condition)}: expected {', '.join(CONDITIONS)}",
                    )
                dependencies[dependency] = {"condition": str(condition)}
        else:
            self._expect(deps_path, value, "a list of service names or a mapping")
        return dependencies

    def _healthcheck(self, value: object, path: str) -> dict[str, object]:
        settings = self.known_keys(
            self.mapping(value, path, "a mapping with test, interval, ..."),
            path,
            ("test", "interval", "timeout", "start_period", "retries", "disable"),
        )
        healthcheck: dict[str, object] = {}
        if settings.get("test") is not None:
            healthcheck["test"] = self._health_test(settings["test"], child(path, "test"))
        for key in ("interval", "timeout", "start_period"):
            if settings.get(key) is not None:
                healthcheck[key] = self._duration(settings[key], child(path, key))
        if settings.get("retries") is not None:
            healthcheck["retries"] = self.integer(settings["retries"], child(path, "retries"))
        if settings.get("disable") is not None and self._boolean(
            settings["disable"], child(path, "disable")
        ):
            healthcheck["test"] = ["NONE"]
        return healthcheck

    def _health_test(self, value: object, path: str) -> list[str]:
        if isinstance(value, str):
            return ["CMD-SHELL", value]
        items = self.sequence(value, path, 'a command string or a list like ["CMD", ...]')
        test = [self.text(item, child(path, i), "argument") for i, item in enumerate(items)]
        if not test or test[0] not in ("CMD", "CMD-SHELL", "NONE"):
            self.fail(
                path,
                f'invalid healthcheck test {show(value)}: a list starts with "CMD", "CMD-SHELL"'
                ' or "NONE"',
            )
        return test

    def _restart(self, value: object, path: str) -> str:
        if not isinstance(value, str) or not _RESTART.match(value):
            self.fail(
                path,
                f"invalid restart policy {show(value)}:"
                " expected no, always, on-failure[:MAX_RETRIES] or unless-stopped",
            )
        return value

    def _profiles(self, value: object, path: str) -> list[str]:
        items = self.sequence(value, path, "a list of profile names")
        for i, item in enumerate(items):
            if not isinstance(item, str) or not _PROFILE_NAME.match(item):
                self.fail(
                    child(path, i), f"invalid profile name {show(item)}: use letters, digits, _ . -"
                )
        return [str(item) for item in items]

    def _user(self, value: object, path: str) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return self.string(value, path)
