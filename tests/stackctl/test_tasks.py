"""tasks.py at the edge: help, and one-line errors with a non-zero exit instead of tracebacks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


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


def test_every_option_has_help() -> None:
    for name in ("up", "down", "logs", "build", "base"):
        result = invoke("--help", name)
        assert result.returncode == 0
        options = [line for line in result.stdout.splitlines() if line.strip().startswith("-")]
        assert options, name
        undocumented = [line for line in options if len(line.split("  ")) < 2]
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
    tmp_path: Path, compose: str, expected: str
) -> None:
    shutil.copy2(ROOT / "tasks.py", tmp_path / "tasks.py")
    (tmp_path / "compose.yaml").write_text(compose)
    # No engine at this address: a compose error must be found before the engine is asked.
    result = invoke("up", cwd=tmp_path, DOCKER_HOST="unix:///nonexistent/docker.sock")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
