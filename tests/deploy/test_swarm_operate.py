"""`deploy.exec` and `deploy.details --target swarm`, the parts read against a scripted engine (no
Docker): the one-off service made from the role's spec, its task followed to its exit status,
the one-off removed however it ends, leftovers of a deployer gone, `--reuse`'s task, and a
task's details row."""

from __future__ import annotations

import builtins
import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from stackctl.deploy import labels
from stackctl.deploy.errors import DeployFailed
from stackctl.deploy.settings import HostAddress
from stackctl.deploy.swarm import oneoff
from stackctl.deploy.swarm.details import task_row
from stackctl.deploy.swarm.nodes import Swarm
from stackctl.engine.models import Container, Service, ServiceSpec, Task
from support.clock import Clock

NOW = 1_796_590_800.0
"""2026-12-06T21:00:00Z"""

ROLE_SPEC: dict[str, Any] = {
    "Name": "app_web",
    "Labels": {
        labels.APP: "app",
        labels.KIND: "role",
        labels.ROLE: "web",
        labels.RELEASE: "v1",
        "com.docker.stack.namespace": "app",
    },
    "TaskTemplate": {
        "ContainerSpec": {
            "Image": "app/web:v1",
            "Command": ["/usr/local/bin/entry"],
            "Args": ["gunicorn", "gallery.main:app"],
            "Env": ["FLASK_CONFIG=production"],
            "User": "app",
            "Dir": "/srv",
            "Labels": {"com.example.team": "gallery"},
            "Secrets": [
                {
                    "SecretID": "s1",
                    "SecretName": "app_SECRET_KEY_3f2a",
                    "File": {"Name": "SECRET_KEY", "UID": "10001", "GID": "10001", "Mode": 256},
                }
            ],
            "Mounts": [{"Type": "volume", "Source": "app_uploads", "Target": "/data"}],
            "Healthcheck": {"Test": ["CMD", "python", "-m", "gallery.healthcheck"]},
        },
        "RestartPolicy": {"Condition": "any", "Delay": 2_000_000_000, "MaxAttempts": 0},
        "Placement": {},
        "Networks": [{"Target": "net1", "Aliases": ["web"]}],
        "ForceUpdate": 0,
    },
    "Mode": {"Replicated": {"Replicas": 3}},
    "UpdateConfig": {"Order": "start-first"},
    "EndpointSpec": {"Mode": "dnsrr"},
}

NODE_A = HostAddress(user="root", host="node-a", port=22)
NODE_B = HostAddress(user="root", host="node-b", port=22)


def task(
    state: str,
    *,
    node: str = "n-a",
    error: str = "",
    exit_code: int | None = None,
    container: str = "c1",
    slot: int = 1,
    updated: str = "2026-12-06T21:00:00.000000000Z",
    spec: dict[str, Any] | None = None,
) -> dict[str, Any]:
    status: dict[str, Any] = {"State": state, "Err": error}
    if container:
        status["ContainerStatus"] = {"ContainerID": container, "ExitCode": exit_code}
    return {
        "ID": f"task-{state}-{slot}",
        "NodeID": node,
        "Slot": slot,
        "UpdatedAt": updated,
        "Status": status,
        "Spec": {"ContainerSpec": spec or ROLE_SPEC["TaskTemplate"]["ContainerSpec"]},
    }


@dataclass
class ScriptedApi:
    """An engine answering for a manager and a node: a created one-off's task goes through
    `states` (the next one at each poll, the last one kept), its container prints `output`."""

    states: list[dict[str, Any]] = field(default_factory=list)
    output: list[bytes] = field(default_factory=list)
    created: list[dict[str, Any]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    logs_read: list[str] = field(default_factory=list)
    refuse_removal: Exception | None = None

    def create_service(self, **arguments: Any) -> dict[str, str]:
        self.created.append(arguments)
        return {"ID": "oneoff-id"}

    def tasks(self, filters: dict[str, str]) -> list[dict[str, Any]]:
        if filters["service"] in self.removed or not self.states:
            return []
        return [self.states.pop(0) if len(self.states) > 1 else self.states[0]]

    def remove_service(self, name: str) -> None:
        if self.refuse_removal is not None:
            raise self.refuse_removal
        self.removed.append(name)

    def containers(self, **options: Any) -> list[dict[str, Any]]:
        """The one-off's task container until it is removed."""
        [label] = options["filters"]["label"]
        wanted = label.removeprefix("com.docker.swarm.service.name=")
        if not self.created or self.created[0]["name"] != wanted or "c1" in self.removed:
            return []
        return [{"Id": "c1", "Names": [f"/{wanted}.1.task"], "Labels": {}}]

    def remove_container(self, container: str, force: bool) -> None:
        assert force
        self.removed.append(container)

    def logs(self, container: str, **options: Any) -> Iterator[bytes]:
        assert options == {"stdout": True, "stderr": True, "stream": True, "follow": True}
        self.logs_read.append(container)
        yield from self.output


@dataclass
class Client:
    api: ScriptedApi


@dataclass
class ServiceModel:
    """docker-py's Service model, as far as `engine.models.Service` reads it."""

    attrs: dict[str, Any]
    listed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.attrs.get("ID", self.attrs["Spec"]["Name"]))

    @property
    def name(self) -> str:
        return str(self.attrs["Spec"]["Name"])

    def tasks(self, filters: dict[str, str] | None = None) -> list[dict[str, Any]]:
        return self.listed


def web_service(*tasks: dict[str, Any], previous: dict[str, Any] | None = None) -> Service:
    attrs: dict[str, Any] = {"Spec": copy.deepcopy(ROLE_SPEC)}
    if previous is not None:
        attrs["PreviousSpec"] = previous
    return Service(ServiceModel(attrs, list(tasks)))


def swarm_of(api: ScriptedApi) -> Swarm:
    client: Any = Client(api)
    return Swarm(
        clients={NODE_A: client, NODE_B: client},
        node_ids={NODE_A: "n-a", NODE_B: "n-b"},
        manager=client,
    )


def run(api: ScriptedApi, *command: str, write: Any = None) -> tuple[int, bytes, list[str]]:
    """A one-off of web on node-a: its exit code, its output and what it said."""
    output = bytearray()
    said: list[str] = []
    clock = Clock()
    code = oneoff.run_oneoff(
        swarm_of(api),
        NODE_A,
        web_service(),
        app="app",
        command=command,
        write=write or output.extend,
        say=said.append,
        waiter=oneoff.Waiter(Client(api), clock=clock, sleep=clock.sleep),
        clock=lambda: NOW,
    )
    return code, bytes(output), said


def spec_of(command: list[str]) -> Mapping[str, Any]:
    """The one-off's spec body, as the engine is sent it."""
    return oneoff.oneoff_spec(
        ServiceSpec(ROLE_SPEC),
        name="app_web_exec_1234abcd",
        app="app",
        role="web",
        command=command,
        node_id="n-a",
        started=NOW,
    ).body


def test_the_one_off_has_the_role_s_image_environment_secrets_user_volumes_and_network() -> None:
    container = spec_of(["flask", "gallery", "rebuild-index"])["TaskTemplate"]["ContainerSpec"]
    role = ROLE_SPEC["TaskTemplate"]["ContainerSpec"]

    for key in ("Image", "Env", "Secrets", "User", "Dir", "Mounts"):
        assert container[key] == role[key], key


def test_the_one_off_runs_the_command_after_the_image_s_entrypoint_with_no_health_check() -> None:
    container = spec_of(["flask", "gallery", "rebuild-index"])["TaskTemplate"]["ContainerSpec"]

    assert "Command" not in container
    assert container["Args"] == ["flask", "gallery", "rebuild-index"]
    assert container["Healthcheck"] == {"Test": ["NONE"]}


def test_the_one_off_is_a_job_run_once_on_the_chosen_node_reachable_by_no_role_alias() -> None:
    spec = spec_of(["true"])

    assert spec["Mode"] == {"ReplicatedJob": {"MaxConcurrent": 1, "TotalCompletions": 1}}
    assert spec["TaskTemplate"]["RestartPolicy"]["Condition"] == "none"
    assert spec["TaskTemplate"]["Placement"] == {"Constraints": ["node.id==n-a"]}
    assert spec["TaskTemplate"]["Networks"] == [{"Target": "net1"}]
    assert "UpdateConfig" not in spec


def test_the_one_off_is_labelled_an_exec_of_the_release_with_its_start_time() -> None:
    spec = spec_of(["true"])
    marks = {
        labels.APP: "app",
        labels.KIND: "exec",
        labels.ROLE: "web",
        labels.RELEASE: "v1",
    }

    assert spec["Labels"] == {
        "com.docker.stack.namespace": "app",
        **marks,
        labels.EXEC_STARTED: str(int(NOW)),
    }
    assert spec["TaskTemplate"]["ContainerSpec"]["Labels"] == {
        "com.example.team": "gallery",
        **marks,
    }


def test_building_the_one_off_leaves_the_role_s_spec_alone() -> None:
    before = copy.deepcopy(ROLE_SPEC)
    spec_of(["true"])
    assert before == ROLE_SPEC


def test_the_output_comes_back_and_the_one_off_is_removed() -> None:
    api = ScriptedApi(
        states=[task("pending", container=""), task("running"), task("complete", exit_code=0)],
        output=[b"index: 3 added, ", b"0 removed\n"],
    )

    code, output, said = run(api, "flask", "gallery", "rebuild-index")

    assert (code, output, said) == (0, b"index: 3 added, 0 removed\n", [])
    assert api.created[0]["name"].startswith("app_web_exec_")
    assert api.created[0]["task_template"]["ContainerSpec"]["Args"] == [
        "flask",
        "gallery",
        "rebuild-index",
    ]
    assert api.removed == [api.created[0]["name"], "c1"]


def test_a_failing_command_s_exit_status_comes_back() -> None:
    api = ScriptedApi(
        states=[task("failed", error="task: non-zero exit (3)", exit_code=3)],
        output=[b"giving up\n"],
    )

    code, output, _ = run(api, "sh", "-c", "echo giving up >&2; exit 3")

    assert (code, output) == (3, b"giving up\n")
    assert api.removed == [api.created[0]["name"], "c1"]


def test_a_command_not_in_the_image_is_one_line_and_the_one_off_is_removed() -> None:
    refused = (
        'starting container failed: OCI runtime create failed: exec: "no-such-command":\n'
        " executable file not found in $PATH: unknown"
    )
    api = ScriptedApi(states=[task("rejected", error=refused, exit_code=128)])

    with pytest.raises(DeployFailed) as raised:
        run(api, "no-such-command", "--now")

    assert str(raised.value) == (
        "node-a:22: `no-such-command --now` did not start in web: starting container failed:"
        ' OCI runtime create failed: exec: "no-such-command": executable file not found in'
        " $PATH: unknown"
    )
    assert api.logs_read == []
    assert api.removed == [api.created[0]["name"], "c1"]


def test_a_dropped_connection_still_removes_the_one_off() -> None:
    api = ScriptedApi(states=[task("running")], output=[b"first line\n", b"second line\n"])

    def dropped(chunk: bytes) -> None:
        raise ConnectionResetError("the terminal went away")

    with pytest.raises(ConnectionResetError):
        run(api, "flask", "gallery", "rebuild-index", write=dropped)

    assert api.removed == [api.created[0]["name"], "c1"]


def test_a_one_off_no_node_can_run_is_one_line_naming_swarm_s_reason() -> None:
    api = ScriptedApi(states=[task("pending", container="", error="no suitable node")])

    with pytest.raises(DeployFailed) as raised:
        run(api, "true")

    assert str(raised.value) == (
        f"one-off {api.created[0]['name']}: not started within 120 s"
        " (task pending: no suitable node)"
    )
    assert api.removed == [api.created[0]["name"], "c1"]


def test_a_one_off_that_cannot_be_removed_is_said_not_raised_over_the_outcome() -> None:
    api = ScriptedApi(
        states=[task("complete", exit_code=0)],
        refuse_removal=ConnectionError("manager gone\nmore"),
    )

    code, _, said = run(api, "true")

    assert code == 0
    assert said == [
        f"one-off {api.created[0]['name']} not removed (manager gone):"
        " the next deploy.exec removes it"
    ]


def test_a_task_stopped_from_outside_has_no_exit_status() -> None:
    found = Task(task("shutdown", container=""))
    with pytest.raises(DeployFailed) as raised:
        oneoff.exit_status(found, host="node-a:22", role="web", command=["sleep", "60"])
    assert str(raised.value) == (
        "node-a:22: `sleep 60` in web ended with no exit status: its task was shutdown"
        " (the node stopped, or the one-off was removed meanwhile)"
    )


@dataclass
class Leftovers:
    """A manager listing one-off services, and its node's containers (one node)."""

    listed: builtins.list[ServiceModel]
    containers_on_node: builtins.list[dict[str, Any]] = field(default_factory=list)
    removed: builtins.list[str] = field(default_factory=list)

    @property
    def api(self) -> Leftovers:
        return self

    @property
    def services(self) -> Leftovers:
        return self

    def list(self, filters: dict[str, Any]) -> builtins.list[ServiceModel]:
        assert filters == {"label": [f"{labels.APP}=app", f"{labels.KIND}=exec"]}
        return self.listed

    def remove_service(self, name: str) -> None:
        self.removed.append(name)

    def inspect_service(self, name: str) -> dict[str, Any]:
        from docker.errors import NotFound

        if name in self.removed or name not in {s.name for s in self.listed}:
            raise NotFound(f"service {name} not found")
        return {}

    def containers(self, **options: Any) -> builtins.list[dict[str, Any]]:
        """Every container (`all`) having each label filter (`key` or `key=value`)."""
        assert options["all"]
        wanted = options["filters"]["label"]
        return [
            found
            for found in self.containers_on_node
            if found["Id"] not in self.removed and every_label(found["Labels"], wanted)
        ]

    def remove_container(self, container: str, force: bool) -> None:
        assert force
        self.removed.append(container)


def every_label(have: dict[str, str], wanted: list[str]) -> bool:
    for item in wanted:
        key, _, value = item.partition("=")
        if key not in have or (value and have[key] != value):
            return False
    return True


def leftover(name: str, started: float, *tasks: dict[str, Any]) -> ServiceModel:
    spec = {"Name": name, "Labels": {labels.EXEC_STARTED: str(int(started))}}
    return ServiceModel({"ID": name, "Spec": spec}, list(tasks))


def task_container(service: str, name: str) -> dict[str, Any]:
    marks = {labels.APP: "app", labels.KIND: "exec", oneoff.SWARM_SERVICE: service}
    return {"Id": name, "Names": [f"/{name}"], "Labels": marks}


def one_node(manager: Leftovers) -> Swarm:
    client: Any = manager
    return Swarm(clients={NODE_A: client}, node_ids={NODE_A: "n-a"}, manager=client)


def test_leftovers_whose_command_ended_or_that_ran_a_day_are_removed_others_kept() -> None:
    ended_long_ago = "2026-12-06T20:50:00Z"
    just_ended = "2026-12-06T20:59:50Z"
    manager = Leftovers(
        [
            leftover("app_web_exec_ended", NOW - 900, task("complete", updated=ended_long_ago)),
            leftover("app_web_exec_justended", NOW - 30, task("failed", updated=just_ended)),
            leftover("app_web_exec_running", NOW - 900, task("running")),
            leftover("app_web_exec_starting", NOW - 1),
            leftover("app_web_exec_hung", NOW - 25 * 3600, task("running")),
        ]
    )

    lines = oneoff.remove_leftovers(one_node(manager), "app", NOW)

    assert manager.removed == ["app_web_exec_ended", "app_web_exec_hung"]
    assert lines == [
        "app_web_exec_ended: removed a one-off an earlier deploy.exec left (its command had ended)",
        "app_web_exec_hung: removed a one-off an earlier deploy.exec left (running for more"
        " than 24 h)",
    ]


def test_a_one_off_s_container_left_on_a_node_goes_when_its_service_is_gone() -> None:
    manager = Leftovers(
        [leftover("app_web_exec_running", NOW - 10, task("running"))],
        containers_on_node=[
            task_container("app_web_exec_running", "running-task"),
            task_container("app_web_exec_gone", "gone-task"),
            {"Id": "ssh-oneoff", "Names": ["/app-web-exec-1"], "Labels": {labels.KIND: "exec"}},
        ],
    )

    lines = oneoff.remove_leftovers(one_node(manager), "app", NOW)

    assert manager.removed == ["gone-task"]
    assert lines == ["node-a:22: removed the container gone-task of a one-off"]


@dataclass
class Inspecting:
    """A node's API inspecting the task containers it has."""

    containers: dict[str, dict[str, Any]]

    def inspect_container(self, container: str) -> dict[str, Any]:
        return self.containers[container]


def running_container(name: str, started: str = "2026-12-06T20:58:45Z") -> dict[str, Any]:
    return {
        "Id": name,
        "Name": f"/{name}",
        "State": {
            "Status": "running",
            "Running": True,
            "StartedAt": started,
            "Health": {"Status": "healthy"},
        },
        "Config": {"Labels": {}},
    }


def reuse_swarm() -> Swarm:
    node: Any = Client(Inspecting({"c-b": running_container("c-b")}))  # type: ignore[arg-type]
    return Swarm(
        clients={NODE_A: node, NODE_B: node},
        node_ids={NODE_A: "n-a", NODE_B: "n-b"},
        manager=node,
    )


def test_reuse_takes_a_task_on_another_node_when_none_were_named() -> None:
    web = web_service(task("running", node="n-b", container="c-b"))

    found = oneoff.running_in(reuse_swarm(), web, [NODE_A], anywhere=True)

    assert [(r.address, r.container.id) for r in found] == [(NODE_B, "c-b")]


def test_reuse_on_a_named_node_running_no_task_is_one_line() -> None:
    web = web_service(task("running", node="n-b", container="c-b"))

    with pytest.raises(DeployFailed) as raised:
        oneoff.running_in(reuse_swarm(), web, [NODE_A], anywhere=False)

    assert str(raised.value) == (
        "node-a:22: no running task of app_web there (--reuse execs in one; nodes running one:"
        " node-b:22): drop --reuse, or name one of those"
    )


def test_a_role_task_s_row_has_its_release_health_and_uptime() -> None:
    web = web_service()
    found = Task(task("running", slot=2))
    container = Container(running_container("c1"))

    row = task_row(web, found, container, "node-a:22", NOW)

    assert (row.host, row.kind, row.service, row.container) == (
        "node-a:22",
        "role",
        "web",
        "app_web.2",
    )
    assert (row.version, row.state, row.health, row.up) == ("v1", "running", "healthy", "1m 15s")


def test_mid_update_a_task_of_the_previous_spec_shows_the_previous_release() -> None:
    previous = copy.deepcopy(ROLE_SPEC)
    previous["Labels"][labels.RELEASE] = "v0"
    previous["TaskTemplate"]["ContainerSpec"]["Image"] = "app/web:v0"
    web = web_service(previous=previous)
    old = Task(task("running", spec=previous["TaskTemplate"]["ContainerSpec"]))

    assert task_row(web, old, None, "node-a:22", NOW).version == "v0"


def test_an_accessory_task_shows_its_image_and_one_not_started_no_uptime() -> None:
    spec = copy.deepcopy(ROLE_SPEC)
    spec["Labels"][labels.KIND] = "accessory"
    spec["Labels"][labels.ROLE] = "redis"
    redis = Service(ServiceModel({"Spec": spec}))
    image = {**spec["TaskTemplate"]["ContainerSpec"], "Image": "app/redis:7@sha256:abcd"}
    starting = Task(task("preparing", container="", spec=image))

    row = task_row(redis, starting, None, "node-b:22", NOW)

    assert (row.kind, row.service, row.version) == ("accessory", "redis", "app/redis:7")
    assert (row.state, row.health, row.up) == ("preparing", "", "-")
