"""`invoke deploy.exec` on the SSH hosts: a command run beside the running release, in a one-off
container of its image, or in the running role container itself (`--reuse`), and written to the
host's audit log.

The one-off copies the running role container, not compose.yaml: its image, environment (the
release's values and x-deploy.env, the unused secrets left out, as the deploy gave them), user,
working directory, volumes (its secret files' volume, read-only) and network. So it gets what the
role got at its deploy, no secrets file is needed here, and a compose.yaml edited since changes
nothing. The engine removes it when the command ends (auto-remove: `engine/oneoffs.py`); it
carries the `exec` kind label, so `docker ps --filter label=org.aliecs.deploy.kind=exec` on a host
shows one still running.

A dropped connection ends the command too, so nothing is left running on the host: the engine has
no "end the container when its client goes" of its own, so the command runs under a small shell
(`WATCHED`) whose input is this side's attach stream, opened once (`StdinOnce`). When the SSH
connection drops, the host's end of that stream closes, the shell sees its input end and
terminates the command (SIGTERM, SIGKILL 10 s later), and the engine removes the container. An
`--interactive` one-off has the terminal as its input instead, which the engine keeps open when
its client goes: a watcher exec beside it (`TERMINAL_WATCHER`) has this side's input and hangs
the command up when that ends.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from stackctl.deploy import audit, labels
from stackctl.deploy.errors import DeployFailed
from stackctl.deploy.oneoff import ExecRequest
from stackctl.deploy.ssh.containers import CreateRequest, create, network_name
from stackctl.deploy.ssh.releases import current_version, releases
from stackctl.engine.models import Container, inspect_container

if TYPE_CHECKING:
    import docker

    from stackctl.engine.oneoffs import Terminal

Write = Callable[[bytes], None]
Say = Callable[[str], None]


WATCHED = (
    # The attach stream moves to fd 3; the command itself reads nothing (/dev/null).
    "exec 3<&0 </dev/null; "
    # `docker run`'s exit status and one line for a command not in the image.
    'command -v "$1" >/dev/null 2>&1'
    ' || { echo "$1: not found in the image (PATH $PATH)" >&2; exit 127; }; '
    '"$@" & child=$!; '
    # `docker stop` (SIGTERM to this shell, PID 1) is passed on.
    """trap 'kill -TERM "$child" 2>/dev/null' TERM INT HUP; """
    '{ cat <&3; kill -TERM "$child"; sleep 10; kill -KILL "$child"; } >/dev/null 2>&1 & '
    "exec 3<&-; "
    # A trapped signal ends `wait` early: wait again until the command has ended.
    'while :; do wait "$child"; status=$?; kill -0 "$child" 2>/dev/null || exit "$status"; done'
)
"""The one-off's command runs under this `sh -c` script (the command its arguments): it ends
the command when its input, this side's attach stream, ends: a dropped connection. The
command's exit status is the script's; a command not in the image exits 127 with one line."""


IN_TERMINAL = '"$@"; status=$?; exit "$status"'
"""An `--interactive` one-off's command runs under this `sh -c` script, not as PID 1: a process
in the container can signal it (PID 1 gets only the signals it handles), Ctrl-C (its terminal's
SIGINT) still reaches it."""
TERMINAL_WATCHER = ("sh", "-c", "cat >/dev/null 2>&1; kill -HUP -1")
"""Beside an `--interactive` one-off, an exec whose input is this side's: when it ends (a
dropped connection), every process but PID 1 (the IN_TERMINAL shell, which then ends) is hung
up, as a terminal's hang-up would."""


def watched(command: Sequence[str]) -> list[str]:
    """`command` run under WATCHED (the image's entrypoint, if any, still runs first)."""
    return ["sh", "-c", WATCHED, "sh", *command]


def oneoff_name(app: str, role: str) -> str:
    return f"{app}-{role}-exec-{uuid.uuid4().hex[:8]}"


def running_role(client: docker.DockerClient, app: str, role: str, host: str) -> Container:
    """The role's running container of the release the host serves (inspected); a one-line
    DeployFailed when no release runs there or the role's container is not running."""
    version = current_version(client, app)
    if version is None:
        raise DeployFailed(
            f"{host}: no release of {app} runs there: deploy first (`invoke deploy`)"
        )
    release = next((r for r in releases(client, app) if r.version == version), None)
    if release is None or role not in release.running_roles:
        raise DeployFailed(
            f"{host}: {role} of release {version} is not running there"
            " (`invoke deploy.versions`): deploy or roll back first"
        )
    return inspect_container(client.api, release.containers[role])


def oneoff_request(
    role_container: Container,
    *,
    app: str,
    role: str,
    command: Sequence[str],
    name: str,
    terminal: bool = False,
) -> CreateRequest:
    """The one-off container beside `role_container` (an inspection): its image, environment,
    user, working directory, volumes and network; its input this side's attach stream (a
    terminal's, or watched: `WATCHED`); removed by the engine when it ends (pure)."""
    from docker.types import Mount

    return CreateRequest(
        image=role_container.image_id,
        options={
            "name": name,
            "command": (
                ["sh", "-c", IN_TERMINAL, "sh", *command] if terminal else watched(command)
            ),
            # docker-py sets StdinOnce with it (not detached): the input closes when the attached
            # client goes (a dropped connection).
            "stdin_open": True,
            "tty": terminal,
            "environment": role_container.env,
            "user": role_container.user,
            "working_dir": role_container.working_dir or None,
            "labels": {
                labels.APP: app,
                labels.KIND: "exec",
                labels.ROLE: role,
                labels.RELEASE: role_container.labels.get(labels.RELEASE, ""),
            },
        },
        host={
            "network_mode": network_name(app),
            "mounts": [
                Mount(target, volume, type="volume", read_only=read_only)
                for target, volume, read_only in role_container.volume_mounts
            ],
            "auto_remove": True,
        },
        network=network_name(app),
    )


def run_oneoff(
    client: docker.DockerClient,
    role_container: Container,
    *,
    app: str,
    role: str,
    command: Sequence[str],
    write: Write,
    host: str,
    terminal: Terminal | None = None,
) -> int:
    """The command in a one-off container beside the role's (a TTY wired to `terminal` when
    given); its exit code."""
    from docker.errors import APIError

    from stackctl.engine.oneoffs import run_in_terminal, run_to_end

    request = oneoff_request(
        role_container,
        app=app,
        role=role,
        command=command,
        name=oneoff_name(app, role),
        terminal=terminal is not None,
    )
    created = create(client, request)
    shown = " ".join(command)
    try:
        if terminal is not None:
            return run_in_terminal(client.api, created, terminal, TERMINAL_WATCHER)
        return run_to_end(client.api, created, write)
    except APIError as exc:  # the engine refused the start
        reason = " ".join(str(exc.explanation or exc).split())
        raise DeployFailed(f"{host}: `{shown}` did not start in {role}: {reason}") from None
    except Exception as exc:  # the transport's own error types differ (paramiko, urllib3)
        raise DeployFailed(
            f"{host}: the connection was lost while `{shown}` ran in {role}"
            f" ({type(exc).__name__}): the host ends the command as its input closes"
            " (and removes its one-off container); check the host and run it again"
        ) from None


def run_reused(
    client: docker.DockerClient,
    role_container: Container,
    command: Sequence[str],
    write: Write,
    terminal: Terminal | None = None,
) -> int:
    """The command in the running role container itself (`docker exec`; a TTY wired to
    `terminal` when given); its exit code. Watched as a one-off's is (`WATCHED`): a dropped
    connection ends it."""
    from stackctl.engine.execs import start_exec
    from stackctl.engine.oneoffs import raw_socket
    from stackctl.stack.execute import exit_code, stream_output

    api = client.api
    if terminal is None:
        exec_id = start_exec(
            api, role_container.id, watched(command), stdin=True, stdout=True, stderr=True
        )
        stream_output(api, exec_id, write)
        return exit_code(api, exec_id)
    exec_id = start_exec(api, role_container.id, command, stdin=True, tty=True)
    connection = api.exec_start(exec_id, socket=True, tty=True)
    try:
        terminal(raw_socket(connection), partial(resize_exec, api, exec_id))
    finally:
        raw_socket(connection).close()
    return exit_code(api, exec_id)


def resize_exec(api: Any, exec_id: str, rows: int, columns: int) -> None:
    api.exec_resize(exec_id, height=rows, width=columns)


def exec_on_host(
    client: docker.DockerClient,
    app: str,
    host: str,
    request: ExecRequest,
    *,
    write: Write,
    say: Say,
    who: str,
    terminal: Terminal | None = None,
    clock: Callable[[], float] = time.time,
) -> int:
    """`request` run on one host and written to its audit log (ok, `failed: exited with code
    N`, or the error that stopped it); its exit code. `terminal` wires this side's terminal to
    the command's TTY (`--interactive`). Nothing is recorded where no release runs (nothing
    ran)."""
    found = running_role(client, app, request.role, host)
    version = found.labels.get(labels.RELEASE, "")
    error: BaseException | None = None
    code: int | None = None
    try:
        if request.reuse:
            code = run_reused(client, found, request.command, write, terminal)
        else:
            code = run_oneoff(
                client,
                found,
                app=app,
                role=request.role,
                command=request.command,
                write=write,
                host=host,
                terminal=terminal,
            )
        return code
    except BaseException as exc:
        error = exc
        raise
    finally:
        result = audit.result_of(error) if code is None else exited(code)
        entry = audit.AuditEntry(clock(), who, request.audited, version, result)
        audit.record(client, app, host, entry, say)


def exited(code: int) -> str:
    return audit.exited(code)
