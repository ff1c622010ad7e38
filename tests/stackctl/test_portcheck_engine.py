"""`invoke up` with another process listening on a port the stack publishes: one line naming the
port, the service and the process, and nothing created, started or stopped. Once the port is
free the stack comes up, and a second `up` accepts its own container holding the port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

pytestmark = pytest.mark.engine

ROOT = Path(__file__).resolve().parents[2]
BASE = "stackctl/debian:bookworm"  # made by `invoke base`, which .ci/run runs first

COMPOSE = """
services:
  first:
    image: {base}
    command: ["sleep", "300"]
    init: true
  second:
    image: {base}
    command: ["sleep", "300"]
    init: true
    depends_on: [first]
  published:
    image: {base}
    command: ["sleep", "300"]
    init: true
    ports: ["127.0.0.1:{port}:80"]
    depends_on: [second]
"""

LISTENER = """
import socket, sys, time
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", int(sys.argv[1])))
server.listen()
print("listening", flush=True)
time.sleep(120)
"""


# A fixed range (this machine's rules give each parallel session its own ports).
PORTS = range(18100, 18200)


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.fail(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


def invoke(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture
def docker_client() -> Iterator[docker.DockerClient]:
    found = docker.from_env()
    yield found
    found.close()


def test_a_taken_port_stops_up_before_anything_starts(
    tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    port = free_port()
    shutil.copy2(ROOT / "tasks.py", tmp_path / "tasks.py")
    (tmp_path / "compose.yaml").write_text(COMPOSE.format(base=BASE, port=port))
    name = f"stackctl-ports-{uuid.uuid4().hex[:8]}"
    env = {"COMPOSE_PROJECT_NAME": name, "STACK_MODE": "production"}
    listener = subprocess.Popen(
        [sys.executable, "-c", LISTENER, str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert listener.stdout is not None
        assert listener.stdout.readline().strip() == "listening"

        refused = invoke(tmp_path, "up", **env)

        assert refused.returncode == 1, refused.stdout + refused.stderr
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1, refused.stderr
        assert (
            f"host port 127.0.0.1:{port}/tcp of service published is taken by process" in (lines[0])
        )
        assert f"(pid {listener.pid})" in lines[0]
        assert "nothing was started or stopped" in lines[0]
        label = {"label": f"com.docker.compose.project={name}"}
        assert docker_client.api.containers(all=True, filters=label) == []
        assert docker_client.api.networks(filters=label) == []

        listener.terminate()
        listener.wait(timeout=10)
        up = invoke(tmp_path, "up", **env)
        assert up.returncode == 0, up.stdout + up.stderr
        # Now the stack's own container holds the port: a second `up` keeps everything.
        again = invoke(tmp_path, "up", **env)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "changed: none" in again.stdout
    finally:
        listener.kill()
        listener.wait(timeout=10)
        if listener.stdout is not None:
            listener.stdout.close()
        invoke(tmp_path, "down", **env)
