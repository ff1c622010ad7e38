"""The compose keys real files use, through a real `up` on the engine: named networks with
aliases, `expose`, `container_name`, replicas, secrets (file and environment), profiles from
COMPOSE_PROFILES, anonymous volumes, `network_mode: service:`, and host options. One small stack
from the offline Debian base exercises them all."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from stackctl.engine import connect
from stackctl.stack.execute import exec_in
from stackctl.stack.stack import Stack
from stackctl.stack.workspace import load_workspace
from support.compose_texts import COMPOSE_KEYS as COMPOSE

pytestmark = pytest.mark.engine

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    (tmp_path / "db_password.txt").write_text("s3cret-from-file\n")
    name = f"h18b-keys-{uuid.uuid4().hex[:8]}"
    environ = {
        "COMPOSE_PROJECT_NAME": name,
        "STACK_HEALTH_TIMEOUT": "30",
        "COMPOSE_PROFILES": "debug",
        "API_KEY": "key-from-environment",
    }
    found = load_workspace(tmp_path, environ=environ, mode="production")
    made = Stack(connect(found.settings), found.project, found.settings, Console(quiet=True))
    try:
        yield made
    finally:
        made.down(volumes=True)


def inspect(stack: Stack, name: str) -> dict[str, Any]:
    found: dict[str, Any] = stack.api.inspect_container(name)
    return found


def run(stack: Stack, service: str, *command: str) -> tuple[int, str]:
    output: list[bytes] = []
    code = exec_in(stack, service, list(command), interactive=False, write=output.append)
    return code, b"".join(output).decode()


def test_up_creates_what_the_keys_say_and_a_second_up_keeps_it(stack: Stack) -> None:
    project = stack.project.name

    plans = stack.up()

    assert sorted((p.service, p.number, p.action) for p in plans) == [
        ("db", 1, "create"),
        ("sidecar", 1, "create"),
        ("tools", 1, "create"),
        ("web", 1, "create"),
        ("web", 2, "create"),
    ]
    names = sorted(c.name for c in stack.containers())
    replicas = [f"{project}-web-1", f"{project}-web-2"]
    assert names == sorted(
        [f"{project}-database", f"{project}-sidecar-1", f"{project}-tools-1", *replicas]
    )
    db = inspect(stack, f"{project}-database")
    assert list(db["NetworkSettings"]["Networks"]) == [f"{project}_back"]
    assert "database" in db["NetworkSettings"]["Networks"][f"{project}_back"]["Aliases"]
    assert "5432/tcp" in db["Config"]["ExposedPorts"]
    assert db["HostConfig"]["ReadonlyRootfs"] is True
    assert db["HostConfig"]["Tmpfs"] == {"/tmp": "size=8m"}
    assert db["HostConfig"]["SecurityOpt"] == ["no-new-privileges:true"]
    assert db["HostConfig"]["ShmSize"] == 32 * 1024 * 1024

    web = inspect(stack, f"{project}-web-2")
    assert sorted(web["NetworkSettings"]["Networks"]) == [f"{project}_back", f"{project}_front"]
    assert web["Config"]["Labels"]["com.docker.compose.container-number"] == "2"
    assert web["Config"]["Hostname"] == "webhost"
    assert web["HostConfig"]["NanoCpus"] == 500_000_000
    assert web["HostConfig"]["Memory"] == 64 * 1024 * 1024
    assert web["HostConfig"]["CapDrop"] == ["NET_RAW"]
    assert web["HostConfig"]["Ulimits"] == [{"Name": "nofile", "Soft": 1024, "Hard": 2048}]
    assert [(m["Type"], m["Destination"]) for m in web["Mounts"]] == [("volume", "/scratch")]
    other = inspect(stack, f"{project}-web-1")
    assert re.fullmatch("[0-9a-f]{64}", web["Mounts"][0]["Name"])
    assert other["Mounts"][0]["Name"] != web["Mounts"][0]["Name"]

    sidecar = inspect(stack, f"{project}-sidecar-1")
    assert sidecar["HostConfig"]["NetworkMode"] == f"container:{db['Id']}"

    assert run(stack, "db", "cat", "/run/secrets/db_password") == (0, "s3cret-from-file\n")
    assert run(stack, "web", "cat", "/run/secrets/api.key") == (0, "key-from-environment")
    assert "key-from-environment" not in str(web["Config"]["Env"])
    code, resolved = run(stack, "web", "getent", "hosts", "database")
    assert code == 0
    assert resolved.strip()
    assert stack.containers("never") == []

    again = stack.up()

    assert {p.action for p in again} == {"keep"}


def test_a_recreated_container_keeps_its_anonymous_volume(stack: Stack, tmp_path: Path) -> None:
    stack.up(["web"])
    assert run(stack, "web", "sh", "-c", "echo kept > /scratch/file")[0] == 0
    (tmp_path / "compose.yaml").write_text(COMPOSE.replace("hostname: webhost", "hostname: other"))
    environ = {"COMPOSE_PROJECT_NAME": stack.project.name, "API_KEY": "key-from-environment"}
    found = load_workspace(tmp_path, environ=environ, mode="production")
    changed = Stack(stack.client, found.project, found.settings, Console(quiet=True))

    plans = changed.up(["web"])

    assert {p.action for p in plans} == {"recreate"}
    assert run(changed, "web", "cat", "/scratch/file") == (0, "kept\n")
    kept = [inspect(changed, c.id)["Mounts"][0]["Name"] for c in changed.containers("web")]
    changed.down(volumes=True)
    names = {v["Name"] for v in stack.api.volumes().get("Volumes") or []}
    assert names.isdisjoint(kept)


def test_fewer_replicas_remove_the_highest_numbers(stack: Stack, tmp_path: Path) -> None:
    project = stack.project.name
    stack.up(["web"])
    (tmp_path / "compose.yaml").write_text(COMPOSE.replace("replicas: 2", "replicas: 1"))
    environ = {"COMPOSE_PROJECT_NAME": project, "API_KEY": "key-from-environment"}
    found = load_workspace(tmp_path, environ=environ, mode="production")
    smaller = Stack(stack.client, found.project, found.settings, Console(quiet=True))

    plans = smaller.up(["web"])

    assert [(p.number, p.action) for p in plans if p.service == "web"] == [(1, "keep")]
    assert [c.name for c in stack.containers("web")] == [f"{project}-web-1"]


def test_invoke_up_ps_config_and_down_on_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    (tmp_path / "db_password.txt").write_text("s3cret-from-file\n")
    name = f"h18b-cli-{uuid.uuid4().hex[:8]}"
    environ = {
        **os.environ,
        "INVOKE_STACK_COMPOSE_FILE": str(tmp_path / "compose.yaml"),
        "COMPOSE_PROJECT_NAME": name,
        "STACK_MODE": "production",
        "API_KEY": "key-from-environment",
        "COMPOSE_PROFILES": "",
    }

    def invoke(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "invoke", *args],
            cwd=REPO,
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    try:
        config = invoke("config", "--profile", "debug")
        invoke("up", "--profile", "debug")
        listed = invoke("ps")
    finally:
        invoke("down", "-v")

    assert config.strip() == f"project {name}: db, sidecar, tools, web"
    for container in ("database", "sidecar-1", "tools-1", "web-1", "web-2"):
        assert f"{name}-{container}" in listed
    assert "never" not in listed
    assert invoke("ps").count(name) == 0
