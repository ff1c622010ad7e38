"""The networks a service joins: `networks` (declared ones, with aliases and fixed addresses) or
a `network_mode` (host, none, or another service's network stack)."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from stackctl.compose.messages import child, show

if TYPE_CHECKING:
    from stackctl.compose.checks import Checks


class ServiceNetworks:
    """Reads `networks` and `network_mode`; errors through its reader."""

    def __init__(self, reader: Checks, *, declared: Collection[str]) -> None:
        self.reader = reader
        self.declared_networks = declared

    def mode(self, service: str, value: object, path: str) -> str:
        mode = self.reader.string(value, path)
        if mode in ("host", "none") or (mode.startswith("service:") and mode != "service:"):
            if mode == f"service:{service}":
                self.reader.fail(path, f"{service} cannot join its own network stack")
            return mode
        self.reader.fail(
            path,
            f"unsupported network_mode {show(mode)}: expected host, none or service:NAME"
            " (use networks: for the project's networks)",
        )

    def networks(self, value: object, path: str) -> dict[str, dict[str, object]]:
        if value is None:
            return {"default": {}}
        if isinstance(value, list):
            value = {self.reader.string(item, child(path, i)): None for i, item in enumerate(value)}
        settings = self.reader.mapping(value, path, "a list of network names or a mapping")
        networks: dict[str, dict[str, object]] = {}
        for name, options in settings.items():
            item_path = child(path, str(name))
            if not isinstance(name, str):
                self.reader.expect(item_path, name, "a network name")
            if name != "default" and name not in self.declared_networks:
                self.reader.fail(
                    item_path,
                    f"undeclared network {show(name)}: declare it under the top-level networks key",
                )
            given: dict[object, object] = {}
            if options is not None:
                given = self.reader.mapping(options, item_path, "null or a mapping")
            options = self.reader.known_keys(
                given,
                item_path,
                ("aliases", "ipv4_address", "ipv6_address"),
                ("driver_opts", "gw_priority", "interface_name", "link_local_ips", "mac_address",
                 "priority"),
            )  # fmt: skip
            fields: dict[str, object] = {}
            if options.get("aliases") is not None:
                fields["aliases"] = self.reader.strings(
                    options["aliases"], child(item_path, "aliases")
                )
            for key in ("ipv4_address", "ipv6_address"):
                if options.get(key) is not None:
                    fields[key] = self.reader.host_ip(options[key], child(item_path, key))
            networks[name] = fields
        return networks
