"""tasks.py at the edge: help, and one-line errors with a non-zero exit instead of tracebacks.

`invoke` itself runs as a subprocess where the process is the point (the task list, an error on
the real command line); help and the compose errors go through Invoke's own parser in this
process (a Python start and tasks.py's imports cost about 0.5 CPU s a command).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from invoke import Program

from support.tasks_module import load_tasks

ROOT = Path(__file__).resolve().parents[2]


def invoke_here(*args: str, project_dir: Path = ROOT) -> int:
    """`invoke ARGS` through Invoke's parser and exit handling, in this process: the exit code.

    A fresh tasks.py each time, as each `invoke` has: Invoke takes each option's help out of
    its task when it builds the parser."""
    tasks = load_tasks()
    tasks.PROJECT_DIR = project_dir
    try:
        Program(namespace=tasks.ns).run(["invoke", *args])
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


def invoke(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_list_documents_every_task() -> None:
    result = invoke("--list")
    assert result.returncode == 0
    for name in ("up", "down", "ps", "logs", "build", "base", "config"):
        assert f"  {name} " in result.stdout


def test_every_option_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("up", "down", "logs", "build", "base"):
        assert invoke_here("--help", name) == 0
        # "  -w, --[no-]wait    wait until ...": two spaces in, the flags, two or more spaces,
        # the help (a wrapped help goes on deeper in: "               --no-wait to ...").
        options = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  -")]
        assert options, name
        undocumented = [line for line in options if len(line.strip().split("  ")) < 2]
        assert undocumented == [], name


def test_importing_tasks_needs_no_engine() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import tasks; print(len(tasks.ns.tasks))"],
        cwd=ROOT,
        env={**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "docker" not in result.stderr


def test_unreachable_engine_is_one_line_that_says_how_to_start_it() -> None:
    result = invoke("ps", DOCKER_HOST="unix:///nonexistent/docker.sock")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "no Docker engine answers at unix:///nonexistent/docker.sock" in lines[0]
    assert "start it" in lines[0]


@pytest.mark.parametrize(
    ("compose", "expected"),
    [
        ("services:\n  web:\n    image: x\n    bulid: .\n", "services.web.bulid: unsupported key"),
        ("services: [\n", "compose.yaml"),
        ("services:\n  web:\n    image: x\n    ports: ['99999:80']\n", "services.web.ports[0]"),
    ],
    ids=["unknown-key", "bad-yaml", "bad-port"],
)
def test_bad_compose_file_is_one_line_before_any_engine_call(
    tmp_path: Path,
    compose: str,
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "compose.yaml").write_text(compose)
    # No engine at this address: a compose error must be found before the engine is asked.
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    assert invoke_here("up", project_dir=tmp_path) == 1
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert expected in lines[0]


def test_up_refuses_an_expired_certificate_in_one_line_before_any_engine_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import datetime as dt

    from tls_material import write_pair

    now = dt.datetime.now(dt.timezone.utc)
    cert, key = write_pair(tmp_path / "certs", not_after=now - dt.timedelta(days=1))
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    monkeypatch.setenv("STACK_HTTPS", "files")
    monkeypatch.setenv("TLS_CERT_FILE", str(cert))
    monkeypatch.setenv("TLS_KEY_FILE", str(key))
    assert invoke_here("up", "--mode", "production") == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {cert}: the certificate expired on")


def test_tasks_give_back_the_interpreter_s_bytecode_setting_invoke_turned_off() -> None:
    """invoke sets sys.dont_write_bytecode for its run before it loads tasks.py; left so, every
    module a task imports (stackctl, pydantic, docker-py) compiles from source at each command
    in a venv made without bytecode (uv's default)."""
    before = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # as invoke's Program.parse_core does (no --write-pyc)
    try:
        load_tasks()
        assert sys.dont_write_bytecode == sys.flags.dont_write_bytecode
    finally:
        sys.dont_write_bytecode = before
