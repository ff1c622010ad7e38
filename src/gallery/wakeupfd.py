"""The interpreter's signal wakeup fd: a pipe it writes a byte to for every signal it receives
(signal.set_wakeup_fd), so a loop that waits on the pipe's read end sees a signal at once
instead of at the end of its wait. Used by gallery.devreload's loop and by the Celery worker's
event loop (gallery.promptstop)."""

from __future__ import annotations

import os
import signal


def take() -> int | None:
    """The read end of a new wakeup pipe, or None where the wakeup fd is not ours to take:
    something else already relies on it (there is one per process), or this is not the main
    thread."""
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    os.set_blocking(write_fd, False)
    try:
        previous = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    except ValueError:  # not the main thread
        previous = -2
    if previous == -1:
        return read_fd
    if previous >= 0:
        signal.set_wakeup_fd(previous)  # left to whoever set it
    os.close(read_fd)
    os.close(write_fd)
    return None


def drain(read_fd: int) -> None:
    """Read what the signals wrote, so the next wait blocks again."""
    try:
        while os.read(read_fd, 512):
            pass
    except BlockingIOError:
        pass
