from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def wait_for(condition: object, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.05)
    return False


def test_changed_source_restarts_the_command_and_sigterm_stops_it(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    module = source / "module.py"
    module.write_text("A = 1\n")
    starts = tmp_path / "starts"
    child = (
        f"import os, time; open({str(starts)!r}, 'a').write('%d\\n' % os.getpid()); time.sleep(60)"
    )
    reloader = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gallery.devreload",
            "--watch",
            str(source),
            "--interval",
            "0.1",
            "--",
            sys.executable,
            "-c",
            child,
        ],
    )
    try:
        assert wait_for(lambda: starts.exists() and len(starts.read_text().split()) == 1)
        time.sleep(0.05)
        module.write_text("A = 2\n")
        os.utime(module, (time.time() + 5, time.time() + 5))
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
    child = f"import time; open({str(started)!r}, 'w').close(); time.sleep(60)"
    reloader = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gallery.devreload",
            "--watch",
            str(source),
            "--interval",
            "30",
            "--",
            sys.executable,
            "-c",
            child,
        ],
    )
    try:
        assert wait_for(started.exists)
        asked = time.monotonic()
        reloader.send_signal(signal.SIGQUIT)
        code = reloader.wait(timeout=20)
        took = time.monotonic() - asked
    finally:
        reloader.kill()
        reloader.wait()
    # The child died of the signal passed on (its own status for that is not a failure), long
    # before the 30 s look.
    assert code == 0
    assert took < 5, f"devreload took {took:.1f} s to pass SIGQUIT on"


def test_a_restart_stops_the_command_with_the_restart_signal(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    module = source / "module.py"
    module.write_text("A = 1\n")
    log = tmp_path / "log"
    child = (
        "import signal, sys, time\n"
        f"log = open({str(log)!r}, 'a', buffering=1)\n"
        "def got(signum, frame):\n"
        "    log.write(signal.Signals(signum).name + '\\n'); sys.exit(0)\n"
        "signal.signal(signal.SIGINT, got); signal.signal(signal.SIGTERM, got)\n"
        "log.write('started\\n'); time.sleep(60)\n"
    )
    reloader = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gallery.devreload",
            "--watch",
            str(source),
            "--interval",
            "0.1",
            "--restart-signal",
            "SIGINT",
            "--",
            sys.executable,
            "-c",
            child,
        ],
    )
    try:
        assert wait_for(lambda: log.exists() and log.read_text().count("started") == 1)
        module.write_text("A = 2\n")
        os.utime(module, (time.time() + 5, time.time() + 5))
        assert wait_for(lambda: log.read_text().count("started") == 2)
    finally:
        reloader.send_signal(signal.SIGTERM)
        reloader.wait(timeout=10)
    assert log.read_text().split() == ["started", "SIGINT", "started", "SIGTERM"]


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
