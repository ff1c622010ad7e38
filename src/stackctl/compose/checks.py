"""The checks a compose key's reader uses, as one public interface: the main reader implements it
(`reader.ComposeReader`), and `extends` and the host options read their keys through it, so they
depend on this interface, not on the reader (which uses them: no import cycle)."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn, Protocol


class Checks(Protocol):
    compose_file: Path
    project_dir: Path

    def fail(self, path: str, message: str) -> NoReturn:
        """A one-line ComposeError naming the file and the key path."""
        ...

    def mapping(self, value: object, path: str, expected: str) -> dict[object, object]: ...

    def sequence(self, value: object, path: str, expected: str) -> list[object]: ...

    def string(self, value: object, path: str) -> str: ...

    def text(self, value: object, path: str, what: str) -> str: ...

    def integer(self, value: object, path: str) -> int: ...

    def host_ip(self, value: object, path: str) -> str: ...

    def key_values(self, value: object, path: str) -> dict[str, str | None]: ...

    def label_mapping(self, value: object, path: str) -> dict[str, str]: ...

    def interpolated(self, node: object, path: str) -> object: ...

    def known_keys(
        self,
        mapping: dict[object, object],
        path: str,
        supported: tuple[str, ...],
        compose_keys: tuple[str, ...] = (),
    ) -> dict[str, object]:
        """The mapping's keys checked against those supported (compose keys stackctl does not
        read are refused by name)."""
        ...

    def shown_path(self, path: Path) -> str: ...
