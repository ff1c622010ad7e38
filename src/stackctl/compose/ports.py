"""A service's ports: `ports`, published to the host (short form
"[[HOST_IP:]PUBLISHED:]TARGET[/PROTOCOL]" or long form), and `expose`, open to the project's other
containers only."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NoReturn

from stackctl.compose.messages import child, show

if TYPE_CHECKING:
    from stackctl.compose.checks import Checks

PROTOCOLS = ("tcp", "udp", "sctp")

_DIGITS = re.compile(r"^[0-9]+$")
_EXPOSE = re.compile(r"^([0-9]+)(?:-([0-9]+))?(?:/(tcp|udp|sctp))?$")


class Ports:
    """Reads `ports` and `expose`; errors through its reader."""

    def __init__(self, reader: Checks) -> None:
        self.reader = reader

    def ports(self, value: object, path: str) -> list[dict[str, object]]:
        items = self.reader.sequence(value, path, "a list of ports")
        return [self._port(item, child(path, i)) for i, item in enumerate(items)]

    def _port(self, value: object, path: str) -> dict[str, object]:
        if isinstance(value, int) and not isinstance(value, bool):
            return {"target": self._port_number(str(value), path, str(value))}
        if isinstance(value, dict):
            return self._long_port(value, path)
        if not isinstance(value, str):
            self.reader.expect(
                path, value, 'a port like "8080:80" or a mapping with target, published'
            )
        spec, _, protocol = value.partition("/")
        if "-" in spec:
            self.reader.fail(path, f"port range {show(value)} is not supported: list each port")
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
            port["host_ip"] = self.reader.host_ip(host_ip, path)
        if protocol:
            port["protocol"] = self._protocol(protocol, path)
        return port

    def _bad_port_syntax(self, path: str, value: str) -> NoReturn:
        self.reader.fail(
            path,
            f"invalid port {show(value)}: expected [[HOST_IP:]PUBLISHED:]TARGET[/PROTOCOL],"
            ' with an IPv6 address in brackets ("[::1]:8080:80")',
        )

    def _port_number(self, text: str, path: str, whole: str) -> int:
        context = "" if text == whole else f" in {show(whole)}"
        if not _DIGITS.match(text):
            self.reader.fail(path, f"invalid port {show(text)}{context}: must be a number 1-65535")
        number = int(text)
        if not 1 <= number <= 65535:
            self.reader.fail(path, f"invalid port {show(text)}{context}: must be 1-65535")
        return number

    def _protocol(self, value: object, path: str) -> str:
        if value not in PROTOCOLS:
            self.reader.fail(path, f"invalid protocol {show(value)}: expected tcp, udp or sctp")
        return str(value)

    def _long_port(self, value: dict[object, object], path: str) -> dict[str, object]:
        settings = self.reader.known_keys(
            value, path, ("target", "published", "host_ip", "protocol")
        )
        if "target" not in settings:
            self.reader.fail(path, 'missing key "target": the port inside the container')
        port: dict[str, object] = {}
        for key in ("target", "published"):
            number = settings.get(key)
            if number is not None:
                text = self.reader.text(number, child(path, key), "port")
                port[key] = self._port_number(text, child(path, key), text)
        if settings.get("host_ip") not in (None, ""):
            port["host_ip"] = self.reader.host_ip(settings["host_ip"], child(path, "host_ip"))
        if settings.get("protocol") is not None:
            port["protocol"] = self._protocol(settings["protocol"], child(path, "protocol"))
        return port

    def expose(self, value: object, path: str) -> list[str]:
        items = self.reader.sequence(value, path, 'a list of ports like "3000" or "8000-8010/udp"')
        exposed: list[str] = []
        for i, item in enumerate(items):
            text = (
                self.reader.text(item, child(path, i), "port") if not isinstance(item, bool) else ""
            )
            match = _EXPOSE.match(text)
            if not match or not all(
                1 <= int(port) <= 65535 for port in match.groups()[:2] if port is not None
            ):
                self.reader.fail(
                    child(path, i),
                    f"invalid port {show(item)}: expected PORT[/PROTOCOL] or START-END[/PROTOCOL]",
                )
            exposed.append(text)
        return exposed
