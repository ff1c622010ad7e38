"""Fixtures shared by every test: the app (as in Flask's tutorial), a real Redis, fake OSS."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from gallery import create_app


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--target",
        choices=("fake", "real"),
        default="fake",
        help="OSS contract target: fake (fakeoss, default) or real (needs OSS_* variables)",
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def closed_port_url(scheme: str) -> str:
    """An address where nothing listens: a dependency that is down."""
    return f"{scheme}://127.0.0.1:{free_port()}"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free loopback port, for the whole session."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not installed: apt-get install -y redis-server (.ci/run does)")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        process.kill()
        pytest.fail(f"redis-server did not listen on 127.0.0.1:{port} within 10 s")
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def instance_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty instance folder per test, so a developer's instance/config.py never leaks in."""
    path = tmp_path / "instance"
    path.mkdir()
    monkeypatch.setenv("GALLERY_INSTANCE_PATH", str(path))
    return path


@pytest.fixture
def app_overrides(redis_url: str) -> dict[str, Any]:
    return {"CONFIG_NAME": "testing", "REDIS_URL": redis_url, "READINESS_TIMEOUT": 1.0}


@pytest.fixture
def app(instance_path: Path, app_overrides: dict[str, Any]) -> Flask:
    return create_app(app_overrides)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()
