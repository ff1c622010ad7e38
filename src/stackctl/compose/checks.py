"""The checks a compose key's reader uses, as one public interface: `values.FileChecks` implements
it (the main reader, `reader.ComposeReader`, is one), and every key's reader (`extends`, the host
options, ports, mounts, ...) reads its key through it, so they depend on this interface, not on
the reader (which uses them: no import cycle)."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn, Protocol


class Checks(Protocol):
    compose_file: Path
    project_dir: Path
    variables: dict[str, str]
    """The variables the file is interpolated with: the environment over `.env`."""

    def fail(self, path: str, message: str) -> NoReturn:
        """A one-line ComposeError naming the file and the key path."""
        ...

    def expect(self, path: str, value: object, expected: str) -> NoReturn:
        """Fails with "expected EXPECTED, got <what the value is>"."""
        ...

    def mapping(self, value: object, path: str, expected: str) -> dict[object, object]: ...

    def sequence(self, value: object, path: str, expected: str) -> list[object]: ...

    def string(self, value: object, path: str) -> str: ...

    def strings(self, value: object, path: str) -> list[str]: ...

    def text(self, value: object, path: str, what: str) -> str: ...

    def integer(self, value: object, path: str) -> int: ...

    def boolean(self, value: object, path: str) -> bool: ...

    def duration(self, value: object, path: str) -> float:
        """Seconds."""
        ...

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

    def project_path(self, text: str) -> Path:
        """A host path from the file: `~` is the user's home, relative is to the project."""
        ...
