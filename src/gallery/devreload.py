"""Restart a command when Python files under a folder change: the Celery worker in develop mode.

Celery dropped its own autoreloader; gunicorn has `--reload` but a worker does not. This polls
modification times (inotify does not see changes made on the host through every bind mount),
sends the child SIGTERM on a change and starts it again. Usage:

    python -m gallery.devreload --watch /app/src -- celery -A gallery.worker:celery worker

With --overlap (gunicorn in develop mode), the new command starts beside the old one and the old
one is stopped only once the new one says it listens: a server whose port is shared between the
two (SO_REUSEPORT: gunicorn's reuse_port) keeps answering through the restart, and the old one's
stop (0.3 s for gunicorn, measured) is no longer part of an edit's wait. The new command says so
by sending SIGUSR1 to the pid in its DEVRELOAD_NOTIFY_PID variable (gunicorn.conf.py's
when_ready does).
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from gallery import wakeupfd

NOTIFY_PID = "DEVRELOAD_NOTIFY_PID"
READY_SIGNAL = signal.SIGUSR1
# A new command that has neither said it is ready nor exited by then replaces the old one anyway.
READY_TIMEOUT = 60.0


def snapshot(folder: Path) -> dict[str, float]:
    found: dict[str, float] = {}
    for root, _dirs, files in os.walk(folder):
        for name in files:
            if name.endswith((".py", ".html")):
                path = os.path.join(root, name)
                try:
                    found[path] = os.stat(path).st_mtime
                except FileNotFoundError:
                    continue
    return found


def stop(child: subprocess.Popen[bytes], grace: float, signum: int = signal.SIGTERM) -> int:
    child.send_signal(signum)
    try:
        return child.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        child.kill()
        return child.wait()


def pause(waker: int | None, seconds: float) -> None:
    """Wait `seconds`, or less when a signal arrives (its byte on the wakeup fd): a stop is
    passed on at once, not at the next look."""
    if waker is None:  # the wakeup fd was not ours to take: a stop is seen at the next look
        time.sleep(seconds)
    elif select.select([waker], [], [], seconds)[0]:
        wakeupfd.drain(waker)


def run(
    command: Sequence[str],
    folder: Path,
    interval: float,
    grace: float,
    restart_signal: int = signal.SIGTERM,
    overlap: bool = False,
) -> int:
    stopping = 0
    ready = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = signum

    def on_ready(signum: int, frame: FrameType | None) -> None:
        nonlocal ready
        ready = True

    # The stop signal is passed on as it came: Celery reads SIGQUIT as "stop now" (its jobs are
    # acknowledged late, so an interrupted one runs again) and SIGTERM as "finish first".
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
        signal.signal(signum, on_signal)
    signal.signal(READY_SIGNAL, on_ready)
    waker = wakeupfd.take()
    environment = {**os.environ, NOTIFY_PID: str(os.getpid())} if overlap else None
    seen = snapshot(folder)
    child = subprocess.Popen(list(command), env=environment)
    while True:
        if not stopping:  # (a stop may have come while waiting for a new command's start)
            pause(waker, interval)
        if stopping:
            # Asked to stop: the child's own status for a terminated child is not a failure.
            code = stop(child, grace, stopping)
            return 0 if code in (0, -stopping) else code
        current = snapshot(folder)
        if current == seen:
            continue
        seen = current
        if child.poll() is not None:
            # The command had died by itself (a syntax error, say): this change starts it again.
            child = subprocess.Popen(list(command), env=environment)
            continue
        if not overlap:
            print(f"devreload: {folder} changed, restarting", file=sys.stderr, flush=True)
            stop(child, grace, restart_signal)
            child = subprocess.Popen(list(command), env=environment)
            continue
        print(
            f"devreload: {folder} changed, starting the new one beside", file=sys.stderr, flush=True
        )
        ready = False
        old, child = child, subprocess.Popen(list(command), env=environment)
        deadline = time.monotonic() + READY_TIMEOUT
        while not (ready or stopping) and child.poll() is None and time.monotonic() < deadline:
            pause(waker, interval)
        # Ready, failed (then nothing serves, as without --overlap: the error is not hidden
        # behind the old code) or asked to stop (both go, the new one below).
        stop(old, grace, restart_signal)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gallery.devreload", description=__doc__)
    parser.add_argument("--watch", type=Path, required=True, help="folder to watch")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between looks")
    parser.add_argument("--grace", type=float, default=5.0, help="seconds before SIGKILL")
    parser.add_argument(
        "--restart-signal",
        type=signal_number,
        default=signal.SIGTERM,
        help="signal that stops the command before a restart (default SIGTERM; gunicorn quits"
        " at once on SIGINT, Celery on SIGQUIT)",
    )
    parser.add_argument(
        "--overlap",
        action="store_true",
        help="start the new command beside the old one; stop the old one once the new one"
        f" sends {READY_SIGNAL.name} to ${NOTIFY_PID} (a server sharing its port)",
    )
    parser.add_argument("command", nargs="+", help="the command to run, after --")
    options = parser.parse_args(argv)
    if not options.watch.is_dir():
        parser.error(f"--watch {options.watch}: no such folder")
    return run(
        options.command,
        options.watch,
        options.interval,
        options.grace,
        options.restart_signal,
        options.overlap,
    )


def signal_number(name: str) -> int:
    """SIGINT, INT or sigint: the signal's number."""
    upper = name.upper()
    try:
        return int(signal.Signals[upper if upper.startswith("SIG") else f"SIG{upper}"])
    except KeyError:
        raise argparse.ArgumentTypeError(f"no signal {name!r} (e.g. SIGINT, SIGQUIT)") from None


if __name__ == "__main__":
    raise SystemExit(main())
