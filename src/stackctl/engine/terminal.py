"""This side's terminal wired to a container's TTY (`deploy.exec --interactive`), as `docker run
-it` and Kamal's `app exec --interactive` do: the local terminal in raw mode (keys such as Ctrl-C
and Tab go to the container's program, not to this process), its size passed on at the start
and whenever it changes (SIGWINCH), and bytes copied both ways until the container's side ends.
The terminal's settings are restored however it ends.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

Resize = Callable[[int, int], None]


def size_of(fd: int) -> tuple[int, int] | None:
    """(rows, columns) of the terminal at `fd`, None when it is not one."""
    try:
        found = os.get_terminal_size(fd)
    except OSError:
        return None
    return found.lines, found.columns


def wire(connection: Any, resize: Resize, *, stdin: int = 0, stdout: int = 1) -> None:
    """Copy `stdin` to `connection` (a socket or a paramiko channel) and what it sends to
    `stdout`, until it closes; `resize` given the terminal's size now and on each change."""
    with _raw_mode(stdin), _resizing(resize, stdout):
        typing_open = True
        while True:
            watched = [connection, stdin] if typing_open else [connection]
            ready, _, _ = select.select(watched, [], [])
            if connection in ready:
                data = connection.recv(65536)
                if not data:
                    return
                _write_all(stdout, data)
            if stdin in ready:
                typed = os.read(stdin, 4096)
                if typed:
                    connection.sendall(typed)
                else:
                    # End of input (not a terminal's Ctrl-D, which raw mode sends as a byte):
                    # nothing more to type, the container's program decides when it ends.
                    typing_open = False


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


@contextlib.contextmanager
def _raw_mode(fd: int) -> Iterator[None]:
    import termios
    import tty

    if not os.isatty(fd):
        yield
        return
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


@contextlib.contextmanager
def _resizing(resize: Resize, fd: int) -> Iterator[None]:
    """`resize` with the terminal's size now and on every SIGWINCH (a handler can only be set
    from the main thread: elsewhere the size is passed once)."""

    def passed_on(*_: object) -> None:
        size = size_of(fd)
        if size is not None:
            resize(*size)

    passed_on()
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGWINCH, passed_on)
    try:
        yield
    finally:
        signal.signal(signal.SIGWINCH, previous)
