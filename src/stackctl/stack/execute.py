"""`invoke exec` and `invoke shell`: a command in a running service container, like `docker exec`.

With a terminal on both ends the container's TTY is wired to ours (raw mode, sizes passed on);
without one, output is streamed and the command's exit code is returned.
"""

from __future__ import annotations

import os
import select
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from stackctl.engine.execs import inspect_exec, start_exec
from stackctl.errors import StackError
from stackctl.stack.stack import Stack


def running_container(stack: Stack, service: str) -> str:
    if service not in stack.project.services:
        known = ", ".join(stack.project.services)
        raise StackError(f"no service {service!r} in compose.yaml (services: {known})")
    # The lowest-numbered replica running, as `docker compose exec` (its --index 1): the
    # engine lists containers newest first, so after a recreate the pick would change.
    running = [c for c in stack.containers(service) if c.status == "running"]
    if running:
        return min(running, key=lambda container: container.number).id
    raise StackError(f"service {service} is not running: run `invoke up` first")


def exec_in(
    stack: Stack,
    service: str,
    command: Sequence[str],
    *,
    interactive: bool,
    write: Callable[[bytes], None],
    user: str = "",
) -> int:
    """Run `command` in the service's container; return its exit code."""
    if not command:
        raise StackError("no command given: `invoke exec SERVICE -- COMMAND ...`")
    container = running_container(stack, service)
    tty = interactive and sys.stdin.isatty() and sys.stdout.isatty()
    api = stack.api
    exec_id = start_exec(api, container, command, stdin=tty, tty=tty, user=user)
    if tty:
        attach_terminal(api, exec_id)
    else:
        stream_output(api, exec_id, write)
    return exit_code(api, exec_id)


def stream_output(api: Any, exec_id: str, write: Callable[[bytes], None]) -> None:
    """The exec's stdout and stderr as they come, on a socket closed at the end.

    (docker-py's `exec_start(stream=True)` generator never closes its connection.)
    """
    from docker.utils.socket import frames_iter

    connection = api.exec_start(exec_id, socket=True)
    try:
        for _stream, data in frames_iter(connection, tty=False):
            write(data)
    finally:
        getattr(connection, "_sock", connection).close()
        connection.close()


def exit_code(api: Any, exec_id: str, seconds: float = 10) -> int:
    """The exec's exit code; the engine may report it a moment after the output ends."""
    deadline = time.monotonic() + seconds
    while True:
        running, code = inspect_exec(api, exec_id)
        if not running or time.monotonic() > deadline:
            return 1 if code is None else code
        time.sleep(0.05)


def attach_terminal(api: Any, exec_id: str) -> None:
    import termios
    import tty

    connection = api.exec_start(exec_id, socket=True, tty=True)
    # docker-py returns a SocketIO over the engine's socket: select() needs the socket itself.
    sock = getattr(connection, "_sock", connection)
    size = shutil.get_terminal_size()
    stdin = sys.stdin.fileno()
    saved = termios.tcgetattr(stdin)
    tty.setraw(stdin)
    try:
        api.exec_resize(exec_id, height=size.lines, width=size.columns)
        while True:
            ready, _, _ = select.select([sock, stdin], [], [])
            if sock in ready:
                data = sock.recv(65536)
                if not data:
                    break
                os.write(sys.stdout.fileno(), data)
            if stdin in ready:
                typed = os.read(stdin, 4096)
                if not typed:
                    break
                sock.sendall(typed)
    finally:
        termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
        sock.close()
