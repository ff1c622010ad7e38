"""The signal wakeup fd shared by devreload's loop and the worker's (gallery.wakeupfd)."""

from __future__ import annotations

import os
import select
import signal
from collections.abc import Iterator

import pytest

from gallery import wakeupfd


@pytest.fixture
def no_wakeup_fd() -> Iterator[None]:
    previous = signal.set_wakeup_fd(-1)
    assert previous == -1, "something in the test process holds the wakeup fd"
    yield
    signal.set_wakeup_fd(-1)


@pytest.mark.usefixtures("no_wakeup_fd")
def test_a_signal_makes_the_wakeup_fd_readable() -> None:
    read_fd = wakeupfd.take()
    assert read_fd is not None
    handled: list[int] = []
    previous = signal.signal(signal.SIGUSR1, lambda number, frame: handled.append(number))
    try:
        assert select.select([read_fd], [], [], 0)[0] == []
        os.kill(os.getpid(), signal.SIGUSR1)
        assert handled == [signal.SIGUSR1]
        assert select.select([read_fd], [], [], 0)[0] == [read_fd]
        assert os.read(read_fd, 16) == bytes([signal.SIGUSR1])
    finally:
        signal.signal(signal.SIGUSR1, previous)
        os.close(read_fd)


@pytest.mark.usefixtures("no_wakeup_fd")
def test_a_wakeup_fd_already_taken_is_left_alone() -> None:
    theirs_read, theirs_write = os.pipe()
    os.set_blocking(theirs_write, False)
    try:
        signal.set_wakeup_fd(theirs_write)
        assert wakeupfd.take() is None
        assert signal.set_wakeup_fd(-1) == theirs_write
    finally:
        os.close(theirs_read)
        os.close(theirs_write)
