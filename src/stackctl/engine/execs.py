"""Running a command in a container through the engine's exec API, written once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stackctl.engine.models import created_id


@dataclass(frozen=True)
class ExecResult:
    exit_code: int | None
    """None when the engine has not reported one (the exec still running)."""
    output: bytes
    """stdout and stderr together."""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def text(self) -> str:
        return self.output.decode(errors="replace")


def run_in(
    api: Any,
    container: str,
    command: Sequence[str],
    *,
    environment: Mapping[str, str] | None = None,
) -> ExecResult:
    """Run `command` in the running container and wait for it to end.

    Attached (its output read): exec_start then returns when the command has ended. Detached,
    it returned at once and the exit code was not there yet: a command slower than that round
    trip (any `python -c`) never passed.
    """
    exec_id = created_id(
        api.exec_create(
            container,
            list(command),
            stdout=True,
            stderr=True,
            environment=dict(environment) if environment is not None else None,
        )
    )
    output = api.exec_start(exec_id)
    _running, code = inspect_exec(api, exec_id)
    return ExecResult(code, output if isinstance(output, bytes) else b"")


def start_exec(api: Any, container: str, command: Sequence[str], **options: Any) -> str:
    """Create an exec (to be attached by the caller: a terminal, a stream); its id."""
    return created_id(api.exec_create(container, list(command), **options))


def inspect_exec(api: Any, exec_id: str) -> tuple[bool, int | None]:
    """Whether the exec still runs, and its exit code (None until the engine reports one: it
    may do so a moment after the output ends)."""
    state = api.exec_inspect(exec_id)
    code = state.get("ExitCode")
    return bool(state.get("Running")), None if code is None else int(code)
