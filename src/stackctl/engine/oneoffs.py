"""A created one-off container run to its end, its output streamed as it comes, its exit code
returned: `docker run --rm` through the Engine API (`invoke deploy.exec`).

The container is made with the engine's auto-remove (`auto_remove=True` in its host config), so
the engine removes it when its command ends, whether or not the caller is still connected (the
caller makes the command end when its attach stream closes: `deploy/ssh/oneoff.py`). Ctrl-C here
removes it at once (forced).

With auto-remove the exit code is gone with the container, so it comes from a wait on `removed`
asked before the start, as the docker CLI does. The engine sends a wait's response headers as
soon as the wait is registered and its body when the condition is met: docker-py's `wait()` reads
both in one call, so the request is made with docker-py's private `_post`, `_url` and
`_raise_for_status` (streamed: it returns after the headers), and its body read after the output
ended. The output is attached before the start too, so a command that ends at once loses nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from stackctl.engine.models import wait_status

Terminal = Callable[[Any, Callable[[int, int], None]], None]
"""Wires a local terminal to an attached TTY socket until it closes (`engine/terminal.py`);
the second argument resizes the container's TTY (rows, columns)."""


def run_to_end(api: Any, container: str, write: Callable[[bytes], None]) -> int:
    """Start the created (auto-removed) container, `write` its stdout and stderr as they come,
    and return its exit code once the engine has removed it. The engine's refusal to start it
    (a command not in the image) is raised, the container removed first. Its stdin is attached
    too (and nothing sent): the stream's end is the container's input's end."""
    from docker.utils.socket import frames_iter

    with _started(api, container) as (output, waiting):
        for _stream, data in frames_iter(output, tty=False):
            write(data)
        return wait_status(waiting.json())


def run_in_terminal(
    api: Any, container: str, terminal: Terminal, watcher: Sequence[str] = ()
) -> int:
    """Start the created (auto-removed) TTY container with `terminal` wired to it, its size
    passed on; its exit code once the engine has removed it.

    The engine does not end a TTY container's input when its client goes (it closes only a
    non-TTY one's: StdinOnce), so a `watcher` command, when given, runs beside it as an exec
    whose input is this side's (an exec's input is closed when its client goes): it ends the
    container's command when this side's connection drops."""
    with _started(api, container) as (output, waiting), _watching(api, container, watcher):
        terminal(raw_socket(output), lambda rows, columns: resize(api, container, rows, columns))
        return wait_status(waiting.json())


@contextlib.contextmanager
def _watching(api: Any, container: str, watcher: Sequence[str]) -> Iterator[None]:
    from stackctl.engine.execs import start_exec

    if not watcher:
        yield
        return
    exec_id = start_exec(api, container, list(watcher), stdin=True, stdout=True, stderr=True)
    connection = api.exec_start(exec_id, socket=True)
    raw_socket(connection).settimeout(None)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            raw_socket(connection).close()


def resize(api: Any, container: str, rows: int, columns: int) -> None:
    """The container's TTY resized; a container already gone (its command ended while the
    terminal was resized) is no error."""
    from docker.errors import APIError

    with contextlib.suppress(APIError):
        api.resize(container, height=rows, width=columns)


@contextlib.contextmanager
def _started(api: Any, container: str) -> Iterator[tuple[Any, Any]]:
    """The container's wait for its removal asked and its streams attached, then started: the
    attach socket and the wait's response, whose body is read once the output has ended."""
    waiting = api._post(  # noqa: SLF001
        api._url("/containers/{0}/wait", container),  # noqa: SLF001
        params={"condition": "removed"},
        stream=True,
        timeout=None,
    )
    output = None
    try:
        api._raise_for_status(waiting)  # noqa: SLF001
        output = api.attach_socket(
            container, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        )
        # The attach socket keeps the client's read timeout: a command quiet for longer (an
        # index rebuild) is not a dead connection.
        raw_socket(output).settimeout(None)
        api.start(container)
        yield output, waiting
    except BaseException:
        # Ctrl-C, or the engine refused the start. Over a lost connection this fails too (then
        # the host ends the command itself when its input closes): the first error is the one.
        with contextlib.suppress(Exception):
            api.remove_container(container, force=True)
        raise
    finally:
        if output is not None:
            with contextlib.suppress(Exception):
                raw_socket(output).close()
        waiting.close()


def raw_socket(connection: Any) -> Any:
    """The socket itself: docker-py hands a SocketIO over a local socket (its `_sock`), a
    paramiko channel over SSH."""
    return getattr(connection, "_sock", connection)
