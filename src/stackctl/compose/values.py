"""The checks of one compose file's values (`checks.Checks`): types, keys, scalars, host paths
and interpolation, each failure a one-line ComposeError that names the file, the dotted path and
the value."""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

from stackctl.compose.durations import EXPECTED as DURATION_EXPECTED
from stackctl.compose.durations import parse_duration
from stackctl.compose.interpolate import InvalidTemplate, MissingRequiredVariable, interpolate
from stackctl.compose.messages import child, kind, show
from stackctl.compose.scalars import go_text
from stackctl.errors import ComposeError

_ENV_KEY = re.compile(r"^[^\s=]+$")


class FileChecks:
    """Checks the values of one compose file. Every `fail` is a one-line ComposeError naming it."""

    def __init__(self, compose_file: Path, environ: Mapping[str, str]) -> None:
        self.compose_file = compose_file
        self.project_dir = compose_file.parent
        self.shown_as = compose_file.name
        """How errors name the file (past an override's merge, every file merged)."""
        self.environ = environ
        self.variables: dict[str, str] = {}
        self.unset_variables: set[str] = set()
        """Variables the file used that were not set: interpolated as blank strings."""

    # -- errors ----------------------------------------------------------------------------

    def fail(self, path: str, message: str) -> NoReturn:
        text = f"{self.shown_as}: {path}: {message}" if path else f"{self.shown_as}: {message}"
        raise ComposeError(text.replace("\r", " ").replace("\n", " "))

    def expect(self, path: str, value: object, expected: str) -> NoReturn:
        got = "null" if value is None else f"{kind(value)} {show(value)}"
        self.fail(path, f"expected {expected}, got {got}")

    # -- keys and interpolation ------------------------------------------------------------

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

    def interpolated(self, node: object, path: str) -> object:
        if isinstance(node, str):
            try:
                return interpolate(node, self.variables, self.unset_variables.add)
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

    # -- values ----------------------------------------------------------------------------

    def mapping(self, value: object, path: str, expected: str) -> dict[object, object]:
        if not isinstance(value, dict):
            self.expect(path, value, expected)
        return value

    def sequence(self, value: object, path: str, expected: str) -> list[object]:
        if not isinstance(value, list):
            self.expect(path, value, expected)
        return value

    def string(self, value: object, path: str) -> str:
        if not isinstance(value, str):
            self.expect(path, value, "a string")
        return value

    def strings(self, value: object, path: str) -> list[str]:
        items = self.sequence(value, path, "a list of strings")
        return [self.string(item, child(path, i)) for i, item in enumerate(items)]

    def text(self, value: object, path: str, what: str) -> str:
        """A scalar as the string a container sees: as compose v2 formats it (`1e3` is "1000")."""
        if isinstance(value, (str, int, float)):
            return go_text(value)
        self.fail(path, f"invalid {what} {show(value)}: expected a string, number or boolean")

    def boolean(self, value: object, path: str) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        self.expect(path, value, "true or false")

    def integer(self, value: object, path: str) -> int:
        """An integer, or a string of digits (as interpolation leaves it): never a boolean."""
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
            return int(value)
        self.expect(path, value, "an integer")

    def duration(self, value: object, path: str) -> float:
        if value == 0 and not isinstance(value, bool):
            return 0.0
        if isinstance(value, str):
            try:
                return parse_duration(value)
            except ValueError:
                pass
        self.fail(path, f"invalid duration {show(value)}: {DURATION_EXPECTED}")

    def host_ip(self, value: object, path: str) -> str:
        try:
            return str(ipaddress.ip_address(self.string(value, path)))
        except ValueError:
            self.fail(path, f"invalid host IP {show(value)}: expected an IPv4 or IPv6 address")

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
                    self.expect(child(path, i), entry, 'a "KEY=VALUE" string')
                key, equals, item = entry.partition("=")
                if not _ENV_KEY.match(key):
                    self.fail(
                        child(path, i),
                        f'invalid entry {show(entry)}: expected "KEY=VALUE" or "KEY"',
                    )
                pairs[key] = item if equals else None
        else:
            self.expect(path, value, 'a mapping or a list of "KEY=VALUE"')
        return pairs

    def label_mapping(self, value: object, path: str) -> dict[str, str]:
        return {key: value or "" for key, value in self.key_values(value, path).items()}

    # -- host paths ------------------------------------------------------------------------

    def project_path(self, text: str) -> Path:
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
