"""A pseudo terminal's size set as a terminal emulator sets it (TIOCSWINSZ): termios'
tcsetwinsize is Python 3.11's, and the tests run on 3.10 too."""

from __future__ import annotations

import fcntl
import struct
import termios


def set_size(fd: int, rows: int, columns: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
