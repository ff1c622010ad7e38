"""A local terminal wired to a container's TTY (`deploy.exec --interactive`), with a pseudo
terminal as the user's and a socket pair as the container's end: keys go one way and the
screen the other, the terminal is raw while wired and restored after, its size is passed on."""

from __future__ import annotations

import os
import pty
import select
import signal
import socket
import termios
import threading
from collections.abc import Iterator

import pytest

from stackctl.engine.terminal import wire
from support.terminals import set_size


@pytest.fixture
def terminal() -> Iterator[tuple[int, int]]:
    """(keys, screen): the user's side of a pseudo terminal and the side a program uses."""
    keys, screen = pty.openpty()
    set_size(screen, 24, 80)
    yield keys, screen
    os.close(keys)
    os.close(screen)


@pytest.fixture
def container() -> Iterator[tuple[socket.socket, socket.socket]]:
    """(ours, theirs): the attached socket and the container's end of it."""
    ours, theirs = socket.socketpair()
    theirs.settimeout(10)
    yield ours, theirs
    ours.close()
    theirs.close()


def read_exactly(fd: int, count: int) -> bytes:
    """`count` bytes from `fd`, failing rather than hanging when they do not come."""
    data = b""
    while len(data) < count:
        ready, _, _ = select.select([fd], [], [], 10)
        assert ready, f"nothing more after {data!r}"
        data += os.read(fd, count - len(data))
    return data


def wire_on(screen: int, ours: socket.socket, sizes: list[tuple[int, int]]) -> threading.Thread:
    def record(rows: int, columns: int) -> None:
        sizes.append((rows, columns))

    wired = threading.Thread(
        target=wire, args=(ours, record), kwargs={"stdin": screen, "stdout": screen}
    )
    wired.start()
    return wired


def test_keys_reach_the_container_and_its_output_the_screen_until_it_closes(
    terminal: tuple[int, int], container: tuple[socket.socket, socket.socket]
) -> None:
    keys, screen = terminal
    ours, theirs = container
    wired = wire_on(screen, ours, [])
    theirs.sendall(b">>> ")
    prompt = read_exactly(keys, 4)  # wired: typing now goes through raw mode
    os.write(keys, b"print(1)\x03")

    received = b""
    while len(received) < 9:
        received += theirs.recv(64)
    theirs.sendall(b"1\r\n")
    shown = prompt + read_exactly(keys, 3)
    theirs.shutdown(socket.SHUT_WR)
    wired.join(10)

    assert not wired.is_alive()
    # Raw mode: Ctrl-C is a byte for the container's program, nothing was echoed locally.
    assert received == b"print(1)\x03"
    assert shown == b">>> 1\r\n"


def test_the_terminal_is_raw_while_wired_and_restored_after(
    terminal: tuple[int, int], container: tuple[socket.socket, socket.socket]
) -> None:
    keys, screen = terminal
    ours, theirs = container
    before = termios.tcgetattr(screen)

    wired = wire_on(screen, ours, [])
    theirs.sendall(b"x")
    read_exactly(keys, 1)  # wired (raw mode is set before the first byte is copied)
    during = termios.tcgetattr(screen)
    theirs.shutdown(socket.SHUT_WR)
    wired.join(10)

    assert during[3] & termios.ECHO == 0
    assert during[3] & termios.ICANON == 0
    assert termios.tcgetattr(screen) == before


def test_the_terminal_s_size_is_passed_on_at_the_start(
    terminal: tuple[int, int], container: tuple[socket.socket, socket.socket]
) -> None:
    _, screen = terminal
    ours, theirs = container
    sizes: list[tuple[int, int]] = []
    set_size(screen, 33, 101)

    wired = wire_on(screen, ours, sizes)
    theirs.shutdown(socket.SHUT_WR)
    wired.join(10)

    assert sizes == [(33, 101)]


def test_a_changed_size_is_passed_on(
    terminal: tuple[int, int], container: tuple[socket.socket, socket.socket]
) -> None:
    """On the main thread, as `invoke deploy.exec --interactive` runs it: SIGWINCH."""
    keys, screen = terminal
    ours, theirs = container
    sizes: list[tuple[int, int]] = []

    def resize_then_end() -> None:
        read_exactly(keys, 1)
        set_size(screen, 50, 132)
        os.kill(os.getpid(), signal.SIGWINCH)
        theirs.shutdown(socket.SHUT_WR)

    helper = threading.Thread(target=resize_then_end)
    helper.start()
    theirs.sendall(b"x")
    wire(ours, lambda rows, columns: sizes.append((rows, columns)), stdin=screen, stdout=screen)
    helper.join(10)

    assert sizes[0] == (24, 80)
    assert (50, 132) in sizes[1:]
    assert signal.getsignal(signal.SIGWINCH) in (signal.SIG_DFL, None)
