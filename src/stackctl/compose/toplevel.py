"""compose.yaml's top-level `networks`, `volumes` and `secrets`: each name checked, each setting
read into its model's fields. (`x-` blocks are left out before; `configs` is refused by name.)"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING

from stackctl.compose.messages import child, show

if TYPE_CHECKING:
    from stackctl.compose.checks import Checks

NETWORK_KEYS = (
    "name", "external", "driver", "driver_opts", "labels", "internal", "attachable", "ipam"
)  # fmt: skip
VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
_SECRET_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
_NETWORK_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


class TopLevel:
    """Reads the top-level keys a service refers to; errors through its reader."""

    def __init__(self, reader: Checks) -> None:
        self.reader = reader

    def networks(self, document: dict[str, object]) -> dict[str, dict[str, object]]:
        """Top-level networks: name -> NetworkSpec fields."""
        raw = document.get("networks")
        if raw is None:
            return {}
        raw = self.reader.mapping(raw, "networks", "a mapping of network names to null or settings")
        networks: dict[str, dict[str, object]] = {}
        supported = NETWORK_KEYS
        for name, settings in raw.items():
            path = child("networks", str(name))
            if not isinstance(name, str) or not _NETWORK_NAME.match(name):
                self.reader.fail(
                    path, f"invalid network name {show(name)}: use letters, digits, _ . -"
                )
            settings = self.reader.known_keys(
                {}
                if settings is None
                else self.reader.mapping(settings, path, "null or a mapping"),
                path,
                supported,
                ("enable_ipv4", "enable_ipv6"),
            )
            fields: dict[str, object] = {}
            if settings.get("name") is not None:
                fields["engine_name"] = self.reader.string(settings["name"], child(path, "name"))
            external = settings.get("external")
            if isinstance(external, dict):
                # compose v1's `external: {name: X}`: v2 still reads it.
                external_settings = self.reader.known_keys(
                    external, child(path, "external"), ("name",)
                )
                if "name" in external_settings:
                    fields["engine_name"] = self.reader.string(
                        external_settings["name"], child(path, "external.name")
                    )
                external = True
            if external is not None and self.reader.boolean(external, child(path, "external")):
                others = sorted(set(settings) - {"name", "external"})
                if others:
                    self.reader.fail(
                        child(path, others[0]),
                        "an external network is created outside the project: it takes no settings",
                    )
                fields["external"] = True
            if settings.get("driver") is not None:
                fields["driver"] = self.reader.string(settings["driver"], child(path, "driver"))
            for key in ("driver_opts", "labels"):
                if settings.get(key) is not None:
                    fields[key] = self.reader.label_mapping(settings[key], child(path, key))
            for key in ("internal", "attachable"):
                if settings.get(key) is not None:
                    fields[key] = self.reader.boolean(settings[key], child(path, key))
            if settings.get("ipam") is not None:
                fields["ipam"] = self._ipam(settings["ipam"], child(path, "ipam"))
            networks[name] = fields
        return networks

    def _ipam(self, value: object, path: str) -> dict[str, object]:
        settings = self.reader.known_keys(
            self.reader.mapping(value, path, "a mapping with driver, config"),
            path,
            ("driver", "config"),
            ("options",),
        )
        ipam: dict[str, object] = {}
        if settings.get("driver") is not None:
            ipam["driver"] = self.reader.string(settings["driver"], child(path, "driver"))
        pools = self.reader.sequence(
            settings.get("config") or [], child(path, "config"), "a list of pools"
        )
        configs: list[dict[str, str]] = []
        ipam["config"] = configs
        for i, pool in enumerate(pools):
            pool_path = child(child(path, "config"), i)
            pool_settings = self.reader.known_keys(
                self.reader.mapping(pool, pool_path, "a mapping with subnet, gateway, ip_range"),
                pool_path,
                ("subnet", "gateway", "ip_range"),
                ("aux_addresses",),
            )
            found: dict[str, str] = {}
            for key in ("subnet", "ip_range"):
                if pool_settings.get(key) is not None:
                    found[key] = self._network(pool_settings[key], child(pool_path, key))
            if pool_settings.get("gateway") is not None:
                found["gateway"] = self.reader.host_ip(
                    pool_settings["gateway"], child(pool_path, "gateway")
                )
            configs.append(found)
        return ipam

    def _network(self, value: object, path: str) -> str:
        try:
            return str(ipaddress.ip_network(self.reader.string(value, path)))
        except ValueError:
            self.reader.fail(
                path, f"invalid subnet {show(value)}: expected an address/prefix like 172.20.0.0/24"
            )

    def volumes(self, document: dict[str, object]) -> dict[str, dict[str, object]]:
        """Top-level named volumes: name -> VolumeSpec fields."""
        raw = document.get("volumes")
        if raw is None:
            return {}
        raw = self.reader.mapping(raw, "volumes", "a mapping of volume names to null or settings")
        volumes: dict[str, dict[str, object]] = {}
        for name, settings in raw.items():
            path = child("volumes", str(name))
            if not isinstance(name, str) or not VOLUME_NAME.match(name):
                self.reader.fail(
                    path, f"invalid volume name {show(name)}: use letters, digits, _ . -"
                )
            if settings is None:
                volumes[name] = {}
                continue
            settings = self.reader.known_keys(
                self.reader.mapping(settings, path, "null or a mapping with driver, labels"),
                path,
                ("driver", "labels"),
                ("driver_opts", "external", "name"),
            )
            fields: dict[str, object] = {}
            if "driver" in settings:
                fields["driver"] = self.reader.string(settings["driver"], child(path, "driver"))
            if "labels" in settings:
                fields["labels"] = self.reader.label_mapping(
                    settings["labels"], child(path, "labels")
                )
            volumes[name] = fields
        return volumes

    def secrets(self, document: dict[str, object]) -> dict[str, dict[str, object]]:
        """Top-level secrets: name -> SecretSpec fields. Only `file:` secrets are supported (as
        compose without swarm); a file that is not there is an error naming it."""
        raw = document.get("secrets")
        if raw is None:
            return {}
        raw = self.reader.mapping(raw, "secrets", "a mapping of secret names to {file: PATH}")
        secrets: dict[str, dict[str, object]] = {}
        for name, settings in raw.items():
            path = child("secrets", str(name))
            if not isinstance(name, str) or not _SECRET_NAME.match(name):
                self.reader.fail(
                    path, f"invalid secret name {show(name)}: use letters, digits, _ . -"
                )
            settings = self.reader.known_keys(
                self.reader.mapping(settings, path, "a mapping with file or environment"),
                path,
                ("file", "environment"),
                ("external", "name", "content", "driver", "driver_opts", "template_driver"),
            )
            if len(settings) != 1:
                self.reader.fail(
                    path,
                    'expected one of "file" (read from a file) or "environment"'
                    " (read from a variable)",
                )
            if "environment" in settings:
                variable = self.reader.string(settings["environment"], child(path, "environment"))
                value = self.reader.variables.get(variable)
                if value is None:
                    self.reader.fail(
                        child(path, "environment"),
                        f"secret {name} is missing: variable {variable} is not set: set it"
                        " in the environment or .env",
                    )
                secrets[name] = {"name": name, "environment": variable, "content": value}
                continue
            text = self.reader.string(settings["file"], child(path, "file"))
            file = self.reader.project_path(text)
            if not file.is_file():
                self.reader.fail(
                    child(path, "file"),
                    f"secret {name} is missing: no file {show(text)} ({file}): create it",
                )
            secrets[name] = {"name": name, "file": file}
        return secrets
