"""Service keys passed to the engine as compose v2 passes them: extra_hosts, sysctls, ulimits,
logging, deploy (replicas, resources). Each reads a raw value into the model's fields."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from stackctl.compose.messages import child, show

if TYPE_CHECKING:
    from stackctl.compose.checks import Checks

_BYTES = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*([bkmg]?)b?$", re.IGNORECASE)
_BYTE_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


class HostOptions:
    """Reads the engine-facing service keys; errors through its reader."""

    def __init__(self, reader: Checks) -> None:
        self.reader = reader

    def extra_hosts(self, value: object, path: str) -> list[str]:
        """HOST:ADDRESS or HOST=ADDRESS entries (or a mapping), written HOST=ADDRESS as compose v2
        does; "host-gateway" is the engine's address of the host."""
        if isinstance(value, dict):
            entries = [
                (str(host), address, child(path, str(host))) for host, address in value.items()
            ]
        else:
            items = self.reader.sequence(value, path, 'a list of "HOST:ADDRESS" or a mapping')
            entries = []
            for i, item in enumerate(items):
                text = self.reader.string(item, child(path, i))
                separator = "=" if "=" in text else ":"
                host, _, address = text.partition(separator)
                entries.append((host, address, child(path, i)))
        hosts = []
        for host, address, item_path in entries:
            if not host or not address:
                self.reader.fail(
                    item_path, f"invalid host entry {show(host)}: expected HOST:ADDRESS"
                )
            if address != "host-gateway":
                address = self.reader.host_ip(address, item_path)
            hosts.append(f"{host}={address}")
        return hosts

    def sysctls(self, value: object, path: str) -> dict[str, str]:
        pairs = self.reader.key_values(value, path)
        missing = next((key for key, item in pairs.items() if item is None), None)
        if missing is not None:
            self.reader.fail(child(path, missing), "a sysctl needs a value")
        return {key: item for key, item in pairs.items() if item is not None}

    def ulimits(self, value: object, path: str) -> dict[str, dict[str, int]]:
        settings = self.reader.mapping(
            value, path, "a mapping of limit names to a number or soft/hard"
        )
        ulimits: dict[str, dict[str, int]] = {}
        for name, limit in settings.items():
            item_path = child(path, str(name))
            if isinstance(limit, dict):
                limits = self.reader.known_keys(limit, item_path, ("soft", "hard"))
                if set(limits) != {"soft", "hard"}:
                    self.reader.fail(item_path, "expected both soft and hard")
                soft = self.reader.integer(limits["soft"], child(item_path, "soft"))
                hard = self.reader.integer(limits["hard"], child(item_path, "hard"))
            else:
                soft = hard = self.reader.integer(limit, item_path)
            ulimits[str(name)] = {"soft": soft, "hard": hard}
        return ulimits

    def logging(self, value: object, path: str) -> dict[str, object]:
        settings = self.reader.known_keys(
            self.reader.mapping(value, path, "a mapping with driver, options"),
            path,
            ("driver", "options"),
        )
        found: dict[str, object] = {}
        if settings.get("driver") is not None:
            found["driver"] = self.reader.string(settings["driver"], child(path, "driver"))
        if settings.get("options") is not None:
            found["options"] = self.reader.label_mapping(
                settings["options"], child(path, "options")
            )
        return found

    def deploy(self, value: object, path: str) -> dict[str, object]:
        settings = self.reader.known_keys(
            self.reader.mapping(value, path, "a mapping with replicas, resources"),
            path,
            ("replicas", "resources", "mode"),
            ("endpoint_mode", "labels", "placement", "restart_policy", "rollback_config",
             "update_config"),
        )  # fmt: skip
        found: dict[str, object] = {}
        if settings.get("mode") not in (None, "replicated"):
            self.reader.fail(
                child(path, "mode"),
                f"unsupported mode {show(settings['mode'])}: only replicated (without swarm)",
            )
        if settings.get("replicas") is not None:
            found["replicas"] = self.reader.integer(settings["replicas"], child(path, "replicas"))
        if settings.get("resources") is not None:
            resources_path = child(path, "resources")
            resources = self.reader.known_keys(
                self.reader.mapping(settings["resources"], resources_path, "a mapping with limits"),
                resources_path,
                ("limits", "reservations"),
            )
            found["resources"] = {
                key: self._resource(resources[key], child(resources_path, key))
                for key in ("limits", "reservations")
                if resources.get(key) is not None
            }
        return found

    def _resource(self, value: object, path: str) -> dict[str, object]:
        settings = self.reader.known_keys(
            self.reader.mapping(value, path, "a mapping with cpus, memory, pids"),
            path,
            ("cpus", "memory", "pids"),
            ("devices", "generic_resources"),
        )
        found: dict[str, object] = {}
        if settings.get("cpus") is not None:
            cpus = settings["cpus"]
            try:
                found["cpus"] = float(self.reader.text(cpus, child(path, "cpus"), "cpus"))
            except ValueError:
                self.reader.fail(
                    child(path, "cpus"), f"invalid cpus {show(cpus)}: expected a number"
                )
        if settings.get("memory") is not None:
            found["memory"] = self._bytes(settings["memory"], child(path, "memory"))
        if settings.get("pids") is not None:
            found["pids"] = self.reader.integer(settings["pids"], child(path, "pids"))
        return found

    def _bytes(self, value: object, path: str) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        match = _BYTES.match(value.strip()) if isinstance(value, str) else None
        if not match:
            self.reader.fail(
                path, f"invalid size {show(value)}: expected bytes or a size like 512m, 1g"
            )
        return int(float(match.group(1)) * _BYTE_UNITS[match.group(2).lower()])

    def byte_size(self, value: object, path: str) -> int:
        return self._bytes(value, path)

    def string_or_strings(self, value: object, path: str) -> list[str]:
        if isinstance(value, str):
            return [value]
        items = self.reader.sequence(value, path, "a string or a list of strings")
        return [self.reader.string(item, child(path, i)) for i, item in enumerate(items)]

    def groups(self, value: object, path: str) -> list[str]:
        items = self.reader.sequence(value, path, "a list of group names or ids")
        return [self.reader.text(item, child(path, i), "group") for i, item in enumerate(items)]

    def merge_short_limits(
        self, definition: dict[str, object], values: dict[str, object], path: str
    ) -> None:
        """`mem_limit`, `cpus` and `pids_limit` are the short spellings of
        deploy.resources.limits: read into it; set both ways, they must agree (as in v2)."""
        short = {"mem_limit": "memory", "cpus": "cpus", "pids_limit": "pids"}
        given = {key: definition[key] for key in short if definition.get(key) is not None}
        if not given:
            return
        limits = {
            short[key]: self._resource({short[key]: value}, child(path, key))[short[key]]
            for key, value in given.items()
        }
        found = values.get("deploy")
        deploy: dict[str, object] = dict(found) if isinstance(found, dict) else {}
        found = deploy.get("resources")
        resources: dict[str, object] = dict(found) if isinstance(found, dict) else {}
        found = resources.get("limits")
        merged: dict[str, object] = dict(found) if isinstance(found, dict) else {}
        for field, value in limits.items():
            if merged.get(field) not in (None, value):
                key = next(k for k, f in short.items() if f == field)
                self.reader.fail(
                    child(path, key),
                    f"{key} and deploy.resources.limits.{field} differ: keep one",
                )
            merged[field] = value
        resources["limits"] = merged
        deploy["resources"] = resources
        values["deploy"] = deploy
