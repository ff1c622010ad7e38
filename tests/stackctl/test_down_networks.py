"""`down`'s last step: removing the project's network when the engine says it still has
endpoints after every container on it was removed (a moment's lag, or Docker 20.10's stale count,
moby#43286)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import docker
import pytest
from docker.errors import APIError
from rich.console import Console

from stackctl.compose import Project
from stackctl.errors import StackError
from stackctl.settings import StackSettings
from stackctl.stack import stack as stack_module
from stackctl.stack.stack import Stack

IN_USE = "error while removing network: network demo_default id 59d3 has active endpoints"


class NetworkApi(docker.APIClient):  # type: ignore[misc]
    """docker-py's client with no engine behind it: remove_network refuses `refusals` times
    with `explanation`, inspect_network shows `attached`."""

    def __init__(self, refusals: int, explanation: str = IN_USE, attached: Any = None) -> None:
        super().__init__(base_url="unix:///nonexistent.sock", version="1.41")
        self.refusals, self.explanation, self.attached = refusals, explanation, attached
        self.removals = 0

    def remove_network(self, net_id: str) -> None:
        self.removals += 1
        if self.removals <= self.refusals:
            raise APIError("409 Client Error: Conflict", explanation=self.explanation)

    def inspect_network(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"Name": "demo_default", "Containers": self.attached or {}}


class Client:
    def __init__(self, api: NetworkApi) -> None:
        self.api = api


def stack_with(api: NetworkApi, tmp_path: Path) -> Stack:
    settings = StackSettings(
        project_dir=tmp_path, compose_file=tmp_path / "compose.yaml", project_name="demo"
    )
    project = Project(
        name="demo",
        services={},
        volumes={},
        compose_file=tmp_path / "compose.yaml",
        project_dir=tmp_path,
    )
    return Stack(Client(api), project, settings, Console(quiet=True))  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def short_release(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stack_module, "NETWORK_RELEASE_SECONDS", 0.5)


def test_a_network_released_a_moment_later_is_removed(tmp_path: Path) -> None:
    api = NetworkApi(refusals=2)

    assert stack_with(api, tmp_path)._remove_network("59d3", "demo_default") is None
    assert api.removals == 3


def test_a_count_the_engine_keeps_for_good_leaves_the_network_with_the_fix(
    tmp_path: Path,
) -> None:
    api = NetworkApi(refusals=10**6)

    held_by = stack_with(api, tmp_path)._remove_network("59d3", "demo_default")

    assert held_by is not None
    assert "no container attached" in held_by
    assert "restarting dockerd frees it" in held_by
    assert api.removals >= 2  # asked again before giving up


def test_a_network_another_container_still_uses_names_it(tmp_path: Path) -> None:
    attached = {"abc123": {"Name": "other-web-1"}, "def456": {"Name": "debug-shell"}}
    api = NetworkApi(refusals=10**6, attached=attached)

    held_by = stack_with(api, tmp_path)._remove_network("59d3", "demo_default")

    assert held_by == "still used by debug-shell, other-web-1"


def test_any_other_refusal_stops_down_with_the_network_and_the_engine_s_reason(
    tmp_path: Path,
) -> None:
    api = NetworkApi(refusals=1, explanation="permission denied by plugin authz")

    with pytest.raises(StackError, match="cannot remove demo_default: permission denied"):
        stack_with(api, tmp_path)._remove_network("59d3", "demo_default")
    assert api.removals == 1
