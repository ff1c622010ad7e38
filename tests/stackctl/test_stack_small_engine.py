"""A small stack from the offline Debian base (no build): health waits, ps, logs, down -v."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from docker.errors import APIError
from rich.console import Console

from stackctl.engine import connect
from stackctl.errors import ServiceUnhealthy
from stackctl.stack.execute import exec_in
from stackctl.stack.stack import Stack
from stackctl.stack.workspace import load_workspace
from support.compose_texts import BASE
from support.compose_texts import SMALL_STACK as COMPOSE

pytestmark = pytest.mark.engine


@pytest.fixture
def small_dir(tmp_path: Path) -> Path:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    return tmp_path


def make_stack(directory: Path, name: str, profiles: tuple[str, ...] = ()) -> Stack:
    environ = {"COMPOSE_PROJECT_NAME": name, "STACK_HEALTH_TIMEOUT": "30"}
    found = load_workspace(directory, environ=environ, profiles=profiles, mode="production")
    return Stack(connect(found.settings), found.project, found.settings, Console(quiet=True))


@pytest.fixture
def project_name() -> str:
    return f"stackctl-small-{uuid.uuid4().hex[:8]}"


def test_ps_logs_exec_and_down_with_volumes(small_dir: Path, project_name: str) -> None:
    stack = make_stack(small_dir, project_name)
    try:
        stack.up()
        rows = stack.ps()
        assert [(r.service, r.state, r.health) for r in rows] == [("steady", "running", "healthy")]
        lines = list(stack.logs(["steady"], tail=10))
        assert lines == ["steady | steady says hello"]
        output: list[bytes] = []
        code = exec_in(
            stack,
            "steady",
            ["sh", "-c", "echo from exec; exit 3"],
            interactive=False,
            write=output.append,
        )
        assert (code, b"".join(output)) == (3, b"from exec\n")
    finally:
        stack.down(volumes=True)
    assert stack.containers() == []
    volumes = stack.api.volumes(filters={"label": f"com.docker.compose.project={project_name}"})
    assert not volumes.get("Volumes")


def test_unhealthy_dependency_is_named_with_its_last_log_lines(
    small_dir: Path, project_name: str
) -> None:
    stack = make_stack(small_dir, project_name, profiles=("sick",))
    try:
        with pytest.raises(ServiceUnhealthy) as raised:
            stack.up()
        assert str(raised.value).startswith("service sick is unhealthy")
        assert "sick cannot find its config" in raised.value.log_tail
        assert stack.containers("after") == []
    finally:
        stack.down(volumes=True)


SLOW_CHECKS = f"""
services:
  base:
    image: {BASE}
    command: ["sleep", "300"]
    init: true
    healthcheck:
      test: ["CMD-SHELL", "test -e /proc/1"]
      interval: 300s
  dependant:
    image: {BASE}
    command: ["sleep", "300"]
    init: true
    depends_on:
      base:
        condition: service_healthy
"""


def test_a_service_s_own_check_passing_is_healthy_before_docker_s_first_run(
    tmp_path: Path, project_name: str
) -> None:
    """Docker runs the check first an interval (300 s) after the start; `up` runs the same
    command in the container itself, so the dependant starts and `up` ends without waiting for
    that (the stack's health timeout is 30 s), and `ps` runs the check of a container Docker
    still calls starting, so it agrees with `up`."""
    (tmp_path / "compose.yaml").write_text(SLOW_CHECKS)
    stack = make_stack(tmp_path, project_name)
    try:
        stack.up()
        (base,) = stack.containers("base")
        assert stack.api.inspect_container(base.id)["State"]["Health"]["Status"] == "starting"
        states = {row.service: (row.state, row.health) for row in stack.ps()}
        assert states == {"base": ("running", "healthy"), "dependant": ("running", "")}
    finally:
        stack.down(volumes=True)


def test_a_replacement_the_engine_refuses_leaves_the_old_container_running(
    small_dir: Path, project_name: str
) -> None:
    """The new container is created before the old one stops: a create the engine refuses (more
    CPUs than the machine has) changes nothing that runs."""
    stack = make_stack(small_dir, project_name)
    try:
        stack.up()
        before = [c.id for c in stack.containers("steady")]
        compose = small_dir / "compose.yaml"
        compose.write_text(
            compose.read_text().replace(
                "    init: true\n    volumes:",
                "    init: true\n    deploy:\n      resources:\n        limits:\n"
                "          cpus: '4096'\n    volumes:",
                1,
            )
        )
        with pytest.raises(APIError):
            make_stack(small_dir, project_name).up()
        after = stack.containers("steady")
        assert [c.id for c in after] == before
        assert [c.status for c in after] == ["running"]
    finally:
        stack.down(volumes=True)
