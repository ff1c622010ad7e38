"""A service's environment: its `env_file`s, then its own `environment` over them; a KEY without
a value takes the variable's value (build args too)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from stackctl.compose.envfiles import read_env_file
from stackctl.compose.messages import child, show

if TYPE_CHECKING:
    from stackctl.compose.checks import Checks


def resolved(pairs: Mapping[str, str | None], variables: Mapping[str, str]) -> dict[str, str]:
    """A KEY without a value takes the variable's value, and is left out if it has none."""
    resolved: dict[str, str] = {}
    for key, value in pairs.items():
        if value is None:
            value = variables.get(key)
        if value is not None:
            resolved[key] = value
    return resolved


class Environment:
    """Reads `env_file` and `environment` into one mapping; errors through its reader."""

    def __init__(self, reader: Checks) -> None:
        self.reader = reader

    def read(self, definition: dict[str, object], path: str) -> dict[str, str]:
        environment: dict[str, str] = {}
        env_files = definition.get("env_file")
        if env_files is not None:
            env_file_path = child(path, "env_file")
            entries = [env_files] if isinstance(env_files, str) else env_files
            entries = self.reader.sequence(entries, env_file_path, "a path or a list of paths")
            for i, entry in enumerate(entries):
                entry_path = (
                    env_file_path if isinstance(env_files, str) else child(env_file_path, i)
                )
                file = self.reader.project_path(self.reader.string(entry, entry_path))
                if not file.is_file():
                    self.reader.fail(entry_path, f"env file not found {show(entry)} ({file})")
                values = read_env_file(
                    file, self.reader.shown_path(file), variables=self.reader.variables
                )
                environment.update(resolved(values, self.reader.variables))
        if definition.get("environment") is not None:
            pairs = self.reader.key_values(definition["environment"], child(path, "environment"))
            environment.update(resolved(pairs, self.reader.variables))
        return environment
