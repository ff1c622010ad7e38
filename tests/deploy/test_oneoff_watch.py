"""The shell a one-off's command runs under (`deploy/ssh/oneoff.py`'s WATCHED), run here by the
local POSIX `sh` with a pipe as its input, as the engine gives it the attach stream: the command's
exit status and output pass through, the command ends when the input ends (a dropped
connection), and a command not in the image is one line and exit 127, as `docker run` says."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from stackctl.deploy.ssh.oneoff import watched


@contextmanager
def started(*command: str) -> Iterator[subprocess.Popen[bytes]]:
    """The watched command with a pipe as its input; its process group (the watcher in the
    background included, which outside a container outlives the shell) killed at the end."""
    process = subprocess.Popen(
        watched(command),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):  # none left
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        for stream in (process.stdin, process.stdout, process.stderr):
            assert stream is not None
            stream.close()


def test_the_command_s_output_and_exit_status_pass_through() -> None:
    with started("sh", "-c", "echo out; echo err >&2; exit 3") as process:
        out, err = process.stdout.read(), process.stderr.read()  # type: ignore[union-attr]
        code = process.wait(10)

    assert (code, out, err) == (3, b"out\n", b"err\n")


def test_the_command_reads_nothing_of_the_input() -> None:
    with started("cat") as process:
        out = process.stdout.read()  # type: ignore[union-attr]
        code = process.wait(10)

    assert (code, out) == (0, b"")


def test_the_command_is_ended_when_the_input_ends() -> None:
    with started("sleep", "300") as process:
        assert process.stdin is not None
        process.stdin.close()
        code = process.wait(10)

    assert code == 128 + signal.SIGTERM


def test_a_command_not_in_the_image_is_one_line_and_exit_127() -> None:
    with started("no-such-command", "--now") as process:
        err = process.stderr.read().decode()  # type: ignore[union-attr]
        code = process.wait(10)

    assert code == 127
    assert err.startswith("no-such-command: not found in the image (PATH ")
    assert err.count("\n") == 1
