from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def wait_for(condition: object, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def module(tmp_path: Path) -> Path:
    """A watched folder, tmp_path/src, holding one module."""
    source = tmp_path / "src"
    source.mkdir()
    found = source / "module.py"
    found.write_text("A = 1\n")
    return found


def start_reloader(source: Path, *options: str, command: list[str]) -> subprocess.Popen[bytes]:
    """`python -m gallery.devreload --watch SOURCE OPTIONS -- COMMAND`."""
    reloader = [sys.executable, "-m", "gallery.devreload", "--watch", str(source), *options]
    return subprocess.Popen([*reloader, "--", *command])


def touch_source(module: Path, text: str) -> None:
    """Change a watched module, with a modification time the reloader cannot miss."""
    module.write_text(text)
    os.utime(module, (time.time() + 5, time.time() + 5))


def test_changed_source_restarts_the_command_and_sigterm_stops_it(
    tmp_path: Path, module: Path
) -> None:
    source = module.parent
    starts = tmp_path / "starts"
    child = (
        f"import os, time; open({str(starts)!r}, 'a').write('%d\\n' % os.getpid()); time.sleep(60)"
    )
    reloader = start_reloader(source, "--interval", "0.1", command=[sys.executable, "-c", child])
    try:
        assert wait_for(lambda: starts.exists() and len(starts.read_text().split()) == 1)
        time.sleep(0.05)
        touch_source(module, "A = 2\n")
        assert wait_for(lambda: len(starts.read_text().split()) == 2)
        first, second = starts.read_text().split()
        assert first != second
    finally:
        reloader.send_signal(signal.SIGTERM)
        code = reloader.wait(timeout=10)
    assert code == 0


def test_a_stop_signal_is_passed_on_at_once_not_at_the_next_look(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    started = tmp_path / "started"
    child = f"import time; open({str(started)!r}, 'w').close(); time.sleep(3600)"
    reloader = start_reloader(source, "--interval", "3600", command=[sys.executable, "-c", child])
    try:
        assert wait_for(started.exists)
        reloader.send_signal(signal.SIGQUIT)
        code = reloader.wait(timeout=20)  # a guard: the next look is an hour away
    finally:
        reloader.kill()
        reloader.wait()
    # The child died of the signal passed on (its own status for that is not a failure): the
    # reloader did not wait for its next look at the files, an hour away, nor for the child.
    assert code == 0


def test_a_restart_stops_the_command_with_the_restart_signal(tmp_path: Path, module: Path) -> None:
    source = module.parent
    log = tmp_path / "log"
    child = (
        "import signal, sys, time\n"
        f"log = open({str(log)!r}, 'a', buffering=1)\n"
        "def got(signum, frame):\n"
        "    log.write(signal.Signals(signum).name + '\\n'); sys.exit(0)\n"
        "signal.signal(signal.SIGINT, got); signal.signal(signal.SIGTERM, got)\n"
        "log.write('started\\n'); time.sleep(60)\n"
    )
    reloader = start_reloader(
        source, "--interval", "0.1", "--restart-signal", "SIGINT",
        command=[sys.executable, "-c", child],
    )  # fmt: skip
    try:
        assert wait_for(lambda: log.exists() and log.read_text().count("started") == 1)
        touch_source(module, "A = 2\n")
        assert wait_for(lambda: log.read_text().count("started") == 2)
    finally:
        reloader.send_signal(signal.SIGTERM)
        reloader.wait(timeout=10)
    assert log.read_text().split() == ["started", "SIGINT", "started", "SIGTERM"]


# A child for --overlap: logs its start, says it is ready (unless told to fail), logs its stop.
OVERLAP_CHILD = (
    "import os, signal, sys, time\n"
    "log = open(sys.argv[1], 'a', buffering=1)\n"
    "me = os.getpid()\n"
    "def got(signum, frame):\n"
    "    log.write(f'stop {me}\\n'); sys.exit(0)\n"
    "signal.signal(signal.SIGINT, got); signal.signal(signal.SIGTERM, got)\n"
    "log.write(f'start {me}\\n')\n"
    "if os.path.exists(sys.argv[2]):\n"
    "    log.write(f'fail {me}\\n'); sys.exit(1)\n"
    "time.sleep(0.3)\n"
    "log.write(f'ready {me}\\n')\n"
    "os.kill(int(os.environ['DEVRELOAD_NOTIFY_PID']), signal.SIGUSR1)\n"
    "time.sleep(60)\n"
)


def overlap_reloader(source: Path, log: Path, fail_flag: Path) -> subprocess.Popen[bytes]:
    return start_reloader(
        source, "--interval", "0.1", "--overlap", "--restart-signal", "SIGINT",
        command=[sys.executable, "-c", OVERLAP_CHILD, str(log), str(fail_flag)],
    )  # fmt: skip


def events(log: Path) -> list[tuple[str, str]]:
    return [(word, pid) for word, pid in (line.split() for line in log.read_text().splitlines())]


def test_overlap_stops_the_old_command_once_the_new_one_is_ready(
    tmp_path: Path, module: Path
) -> None:
    source = module.parent
    log = tmp_path / "log"
    reloader = overlap_reloader(source, log, tmp_path / "no-such-flag")
    try:
        assert wait_for(lambda: log.exists() and "ready" in log.read_text())
        touch_source(module, "A = 2\n")
        assert wait_for(lambda: log.read_text().count("stop") == 1)
    finally:
        reloader.send_signal(signal.SIGTERM)
        code = reloader.wait(timeout=10)
    assert code == 0
    (_, old), (_, _), (_, new), (_, _), (_, _), (_, _) = events(log)
    # The new one starts while the old one runs, and the old one stops only after it is ready.
    assert events(log) == [
        ("start", old), ("ready", old), ("start", new), ("ready", new), ("stop", old), ("stop", new)
    ]  # fmt: skip


def test_overlap_with_a_new_command_that_fails_leaves_nothing_running(
    tmp_path: Path, module: Path
) -> None:
    source = module.parent
    log = tmp_path / "log"
    fail_flag = tmp_path / "fail"
    reloader = overlap_reloader(source, log, fail_flag)
    try:
        assert wait_for(lambda: log.exists() and "ready" in log.read_text())
        fail_flag.touch()
        touch_source(module, "A = syntax error\n")
        # The error is not hidden behind the old code still answering: the old one stops too.
        assert wait_for(lambda: "stop" in log.read_text())
        fail_flag.unlink()
        touch_source(module, "A = 3\n")  # fixed: the next change starts it again
        assert wait_for(lambda: log.read_text().count("ready") == 2)
    finally:
        reloader.send_signal(signal.SIGTERM)
        reloader.wait(timeout=10)
    (_, first), _, (_, failed), _, _, (_, fixed), _, _ = events(log)
    assert events(log) == [
        ("start", first), ("ready", first),
        ("start", failed), ("fail", failed), ("stop", first),
        ("start", fixed), ("ready", fixed), ("stop", fixed),
    ]  # fmt: skip


def test_missing_watch_folder_is_a_one_line_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gallery.devreload",
            "--watch",
            str(tmp_path / "nope"),
            "--",
            "true",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "--watch" in result.stderr.strip().splitlines()[-1]


def test_importing_the_package_loads_no_web_or_queue_libraries() -> None:
    probe = (
        "import sys, gallery, gallery.devreload; "
        "print(sorted(m for m in ('flask', 'celery', 'oss2', 'redis', 'PIL') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
