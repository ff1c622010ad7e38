"""How a service's process runs: `command` and `entrypoint`, `user`, the `restart` policy."""

from __future__ import annotations

import re
import shlex
from typing import TYPE_CHECKING

from stackctl.compose.messages import child, show

if TYPE_CHECKING:
    from stackctl.compose.checks import Checks

_RESTART = re.compile(r"^(?:no|always|unless-stopped|on-failure(?::[0-9]+)?)$")


class Process:
    """Reads the process's keys; errors through its reader."""

    def __init__(self, reader: Checks) -> None:
        self.reader = reader

    def command(self, value: object, path: str) -> list[str]:
        if isinstance(value, str):
            try:
                return shlex.split(value)
            except ValueError as exc:
                self.reader.fail(path, f"invalid command {show(value)}: {str(exc).lower()}")
        items = self.reader.sequence(value, path, "a string or a list of strings")
        return [self.reader.text(item, child(path, i), "argument") for i, item in enumerate(items)]

    def user(self, value: object, path: str) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return self.reader.string(value, path)

    def restart(self, value: object, path: str) -> str:
        if not isinstance(value, str) or not _RESTART.match(value):
            self.reader.fail(
                path,
                f"invalid restart policy {show(value)}:"
                " expected no, always, on-failure[:MAX_RETRIES] or unless-stopped",
            )
        return value
