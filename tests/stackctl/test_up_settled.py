"""What `up` does before its dependency graph: a service whose containers are kept and were
ready in the one listing `up` makes is settled there (no thread, no wait, no second look at the
engine), and containers new to the project are all created before the first start (as compose v2
does); anything else still goes through the graph and its health waits. Checked against
docker-py's own client with no engine behind it, counting what `up` asks the engine."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from docker.errors import APIError
from rich.console import Console

from stackctl import labels
from stackctl.compose import Project, load_project
from stackctl.plan.converge import container_config
from stackctl.settings import StackSettings
from stackctl.stack.stack import Stack

MIGRATE = """\
  migrate:
    image: demo/db
    command: ["true"]
"""
NEEDS_MIGRATE = """\
      migrate: {condition: service_completed_successfully}
"""
COMPOSE = f"""\
services:
  db:
    image: demo/db
    healthcheck: {{test: ["CMD", "true"], interval: 1s}}
{MIGRATE}  web:
    image: demo/web
    depends_on:
      db: {{condition: service_healthy}}
{NEEDS_MIGRATE}"""
WITHOUT_MIGRATE = COMPOSE.replace(MIGRATE, "").replace(NEEDS_MIGRATE, "")


class Events:
    """An event stream with nothing to say, closed by `up` when its waits are over."""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(())

    def close(self) -> None:
        pass


class EngineApi(docker.APIClient):  # type: ignore[misc]
    """docker-py's client with no engine behind it: the project's network exists, the images
    are there, `listed` is what `containers()` answers, and an inspection says healthy."""

    def __init__(self, listed: list[dict[str, Any]]) -> None:
        super().__init__(base_url="unix:///nonexistent.sock", version="1.41")
        self.listed = listed
        self.asked: Counter[str] = Counter()
        self.inspected: list[str] = []

    def networks(self, names: Any = None, ids: Any = None, filters: Any = None) -> Any:
        self.asked["networks"] += 1
        return [{"Name": "demo_default", "Id": "n1"}]

    def inspect_image(self, image: str) -> dict[str, Any]:
        self.asked["inspect_image"] += 1
        return {"Id": f"sha256:{image}"}

    def containers(self, *args: Any, filters: Any = None, **kwargs: Any) -> Any:
        self.asked["containers"] += 1
        wanted = set((filters or {}).get("label", []))
        return [c for c in self.listed if wanted <= {f"{k}={v}" for k, v in c["Labels"].items()}]

    def inspect_container(self, container: str) -> dict[str, Any]:
        self.asked["inspect_container"] += 1
        self.inspected.append(container)
        found = next(c for c in self.listed if c["Id"] == container)
        health = {"Health": {"Status": "healthy"}} if "health" in found["Status"] else {}
        running = found["State"] == "running"
        return {
            "Id": container,
            "Name": "/" + found["Names"][0],
            "State": {"Status": found["State"], "Running": running, "ExitCode": 0, **health},
            "Config": {"Labels": found["Labels"]},
        }

    def events(self, *args: Any, **kwargs: Any) -> Events:
        self.asked["events"] += 1
        return Events()

    def start(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("a kept container is not started again")


class Client:
    def __init__(self, api: EngineApi) -> None:
        self.api = api


def project_in(tmp_path: Path, text: str = COMPOSE) -> Project:
    (tmp_path / "compose.yaml").write_text(text)
    return load_project(tmp_path / "compose.yaml", {}, project_name="demo")


def listed(project: Project, service: str, status: str, state: str = "running") -> dict[str, Any]:
    """A container as `GET /containers/json` lists it, up to date with compose.yaml."""
    spec = project.services[service]
    wanted = container_config(project, spec, f"sha256:{spec.image}").config_hash
    return {
        "Id": f"{service}-id",
        "Names": [f"/demo-{service}-1"],
        "State": state,
        "Status": status,
        "Labels": {
            labels.PROJECT: "demo",
            labels.SERVICE: service,
            labels.CONTAINER_NUMBER: "1",
            labels.ONEOFF: "False",
            labels.CONFIG_HASH: wanted,
        },
    }


def migrate_exited(project: Project, db_status: str) -> tuple[EngineApi, list[str]]:
    """An engine listing db (its status line `db_status`), migrate exited 0 and web running,
    recording the containers started."""
    api = EngineApi(
        [
            listed(project, "db", db_status),
            listed(project, "migrate", "Exited (0) 1 second ago", state="exited"),
            listed(project, "web", "Up 1 second"),
        ]
    )
    started: list[str] = []
    api.start = lambda container, **kwargs: started.append(container)  # type: ignore[method-assign]
    return api, started


def stack_with(api: EngineApi, project: Project, tmp_path: Path, console: Console) -> Stack:
    settings = StackSettings(
        project_dir=tmp_path, compose_file=tmp_path / "compose.yaml", project_name="demo"
    )
    return Stack(Client(api), project, settings, console)  # type: ignore[arg-type]


def test_services_kept_and_ready_in_the_listing_are_settled_without_asking_again(
    tmp_path: Path,
) -> None:
    project = project_in(tmp_path, WITHOUT_MIGRATE)
    api = EngineApi(
        [
            listed(project, "db", "Up 3 minutes (healthy)"),
            listed(project, "web", "Up 3 minutes"),
        ]
    )
    console = Console(record=True, width=100)
    stack = stack_with(api, project, tmp_path, console)

    plans = stack.up(build=False)

    assert [(plan.service, plan.action) for plan in plans] == [("db", "keep"), ("web", "keep")]
    # One listing and one look at each image; no per-service listing, inspection or events.
    assert api.asked == Counter(networks=1, containers=1, inspect_image=2)
    text = console.export_text()
    assert "demo-db-1  healthy" in text
    assert "demo-web-1  healthy" in text


def test_a_kept_service_still_starting_is_waited_for_and_its_dependants_after_it(
    tmp_path: Path,
) -> None:
    project = project_in(tmp_path)
    api, started = migrate_exited(project, "Up 1 second (health: starting)")
    console = Console(record=True, width=100)
    stack = stack_with(api, project, tmp_path, console)

    plans = stack.up(build=False)

    assert {plan.service: plan.action for plan in plans} == {
        "db": "keep",
        "migrate": "start",
        "web": "keep",
    }
    assert started == ["migrate-id"]
    # Everything went through the graph: db's health and migrate's completion were asked of
    # the engine, and web, though ready in the listing, waited for both (what it depends on
    # was not settled).
    assert api.inspected.index("db-id") < api.inspected.index("web-id")
    assert api.inspected.index("migrate-id") < api.inspected.index("web-id")
    assert api.asked["events"] == 1
    text = console.export_text()
    assert "demo-db-1  healthy" in text
    assert "demo-migrate-1  completed" in text


def test_a_one_off_service_another_needs_completed_is_waited_for_until_it_exits_not_for_health(
    tmp_path: Path,
) -> None:
    """compose v2's `up --wait` takes migrate's exit 0 as its success; before, `up` also waited
    for migrate to be healthy and failed on that same exit ("exited with code 0")."""
    project = project_in(tmp_path)
    api, started = migrate_exited(project, "Up 3 minutes (healthy)")
    console = Console(record=True, width=100)
    stack = stack_with(api, project, tmp_path, console)

    plans = stack.up(build=False)

    assert {plan.service: plan.action for plan in plans}["migrate"] == "start"
    assert started == ["migrate-id"]
    text = console.export_text()
    assert "demo-migrate-1  completed" in text
    assert "demo-migrate-1  healthy" not in text
    assert "demo-db-1  healthy" in text
    assert "demo-web-1  healthy" in text


class CreatingApi(EngineApi):
    """EngineApi that also creates, starts and removes: `order` records what happened when;
    a create of a container named in `refuse` fails as the engine's refusal would."""

    def __init__(self, refuse: str = "") -> None:
        super().__init__([])
        self.order: list[str] = []
        self.refuse = refuse
        self.removed: list[str] = []

    def create_container(self, image: str, name: str, labels: Any = None, **kwargs: Any) -> Any:
        if name == self.refuse:
            raise APIError("409 Client Error", explanation=f'Conflict. "{name}" is in use')
        self.order.append(f"create {name}")
        checked = " (health: starting)" if kwargs.get("healthcheck") else ""
        self.listed.append(
            {
                "Id": f"{name}-id",
                "Names": [f"/{name}"],
                "State": "created",
                "Status": "Created" + checked,
                "Labels": labels,
            }
        )
        return {"Id": f"{name}-id"}

    def start(self, container: str, *args: Any, **kwargs: Any) -> None:
        self.order.append(f"start {container.removesuffix('-id')}")
        found = next(c for c in self.listed if c["Id"] == container)
        found["State"] = "running"

    def remove_container(self, container: str, **kwargs: Any) -> None:
        self.removed.append(container)


def test_new_containers_are_all_created_before_the_first_starts(tmp_path: Path) -> None:
    """As compose v2 does: a level of dependencies then waits for its starts only."""
    project = project_in(tmp_path, WITHOUT_MIGRATE)
    api = CreatingApi()
    stack = stack_with(api, project, tmp_path, Console(quiet=True))

    plans = stack.up(build=False)

    assert [(plan.service, plan.action) for plan in plans] == [("db", "create"), ("web", "create")]
    assert sorted(api.order[:2]) == ["create demo-db-1", "create demo-web-1"]
    assert api.order[2:] == ["start demo-db-1", "start demo-web-1"]  # web after db is healthy


def test_a_create_refused_removes_what_was_created_and_starts_nothing(tmp_path: Path) -> None:
    project = project_in(tmp_path, WITHOUT_MIGRATE)
    api = CreatingApi(refuse="demo-web-1")
    stack = stack_with(api, project, tmp_path, Console(quiet=True))

    with pytest.raises(APIError, match="is in use"):
        stack.up(build=False)

    assert api.order == ["create demo-db-1"]
    assert api.removed == ["demo-db-1-id"]


def test_what_was_created_ahead_for_a_service_never_started_goes_when_up_fails(
    tmp_path: Path,
) -> None:
    """web waits for db, whose start fails: web's container, made ahead, is removed (nothing
    of a service `up` never reached is left behind); db's stays, as the failure's evidence."""
    project = project_in(tmp_path, WITHOUT_MIGRATE)
    api = CreatingApi()

    def refused(container: str, *args: Any, **kwargs: Any) -> None:
        raise APIError("500 Server Error", explanation=f"cannot start {container}: no memory")

    api.start = refused  # type: ignore[method-assign]
    stack = stack_with(api, project, tmp_path, Console(quiet=True))

    with pytest.raises(APIError, match="cannot start demo-db-1-id"):
        stack.up(build=False)

    assert api.removed == ["demo-web-1-id"]
