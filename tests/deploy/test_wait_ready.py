"""The cutover's wait for a new release container, against an engine answering from a script.

Docker runs a health check first an interval after the start (5 s in compose.yaml): the wait
ends on a run of the same command through exec instead, and still takes Docker's word for
healthy and unhealthy.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

import pytest

from stackctl.deploy.ssh.containers import wait_ready

if TYPE_CHECKING:
    import docker

CHECK = {"Test": ["CMD", "redis-cli", "ping"], "Interval": 5_000_000_000}
STARTING = {"Running": True, "Health": {"Status": "starting"}}


@dataclass
class ScriptedEngine:
    """inspect_container answers `state` and `check`; exec runs end with `exit_code`."""

    state: dict[str, Any]
    check: dict[str, Any] | None = None
    exit_code: int = 0
    commands: list[list[str]] = field(default_factory=list)
    restart_policies: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def inspect_container(self, container: str) -> dict[str, Any]:
        return {"State": self.state, "Config": {"Healthcheck": self.check}}

    def exec_create(self, container: str, command: list[str], **options: Any) -> dict[str, str]:
        with self.lock:
            self.commands.append(command)
        return {"Id": f"exec-{len(self.commands)}"}

    def exec_start(self, exec_id: Any) -> bytes:
        return b""

    def exec_inspect(self, exec_id: Any) -> dict[str, Any]:
        return {"Running": False, "ExitCode": self.exit_code}

    def update_container(self, container: str, restart_policy: dict[str, Any]) -> None:
        self.restart_policies.append(restart_policy)


class Clock:
    """A controlled clock: time moves only when the wait pauses, by what it asked for. A pause
    still lets a run of the check in flight (a thread) end: it waits on its event, bounded."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def pause(self, event: threading.Event, seconds: float) -> None:
        event.wait(0.2)  # real time: only for a run in flight to report
        self.now += seconds


def wait(
    engine: ScriptedEngine, *, timeout: float = 5, settle: float = 3, clock: Clock | None = None
) -> tuple[float, Any]:
    """wait_ready on a client whose `api` is the scripted engine, on a controlled clock."""
    client = cast("docker.DockerClient", SimpleNamespace(api=engine))
    clock = clock or Clock()
    return wait_ready(
        client, "app-web-v2", timeout=timeout, settle=settle, clock=clock, pause=clock.pause
    )


def test_a_passing_run_of_the_check_is_ready_while_docker_still_says_starting() -> None:
    engine = ScriptedEngine(STARTING, CHECK, exit_code=0)
    took, failure = wait(engine)
    assert failure is None
    assert took < 5  # on the controlled clock: before Docker's first check, 5 s after the start
    assert engine.commands[0] == ["redis-cli", "ping"]
    assert engine.restart_policies == [{"Name": "unless-stopped"}]


def test_a_failing_run_is_not_ready_and_fails_nothing_until_docker_says_unhealthy() -> None:
    engine = ScriptedEngine(STARTING, CHECK, exit_code=1)
    _, failure = wait(engine, timeout=0.6, settle=3)
    assert failure == "not ready after 1s"
    assert len(engine.commands) >= 2  # run again after a failure
    assert engine.restart_policies == []

    engine = ScriptedEngine({"Running": True, "Health": {"Status": "unhealthy"}}, CHECK)
    _, failure = wait(engine)
    assert failure == "failed its health check"
    assert engine.restart_policies == []


def test_docker_s_healthy_is_ready_without_a_run_of_ours() -> None:
    engine = ScriptedEngine({"Running": True, "Health": {"Status": "healthy"}}, CHECK)
    _, failure = wait(engine)
    assert failure is None
    assert engine.commands == []


def test_without_a_check_it_is_ready_after_running_its_settle_time() -> None:
    for check in (None, {"Test": ["NONE"]}):
        engine = ScriptedEngine({"Running": True}, check)
        took, failure = wait(engine, timeout=5, settle=0.3)
        assert failure is None
        assert took == pytest.approx(0.4)  # the first poll (every 0.2 s) after 0.3 s running
        assert engine.commands == []


def test_a_container_that_exited_is_reported_with_its_code() -> None:
    engine = ScriptedEngine({"Running": False, "ExitCode": 3}, CHECK)
    _, failure = wait(engine)
    assert failure == "exited with code 3"
