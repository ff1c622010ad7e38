"""The engine's answers, read once (stackctl/engine/models.py) into names the rest of stackctl
uses: a container from a list entry and from an inspection reads the same, a Swarm task and
service through their own views, and readiness decided from them in one place."""

from __future__ import annotations

import pytest

from stackctl import labels
from stackctl.engine.models import Container, Service, ServiceSpec, Task
from stackctl.engine.readiness import Phase, readiness

LISTED = {
    "Id": "c0ffee",
    "Names": ["/aliecs-web-1"],
    "State": "running",
    "Status": "Up 3 minutes (healthy)",
    "Labels": {
        labels.PROJECT: "aliecs",
        labels.SERVICE: "web",
        labels.CONFIG_HASH: "abc123",
    },
    "Ports": [
        {"PrivatePort": 8000, "Type": "tcp"},
        {"IP": "127.0.0.1", "PrivatePort": 80, "PublicPort": 18014, "Type": "tcp"},
    ],
}


def test_a_listed_container_speaks_in_names() -> None:
    container = Container(LISTED)
    assert (container.id, container.name, container.project, container.service) == (
        "c0ffee",
        "aliecs-web-1",
        "aliecs",
        "web",
    )
    assert (container.config_hash, container.status, container.health) == (
        "abc123",
        "running",
        "healthy",
    )


def test_only_published_ports_are_listed() -> None:
    assert Container(LISTED).published_ports == [("127.0.0.1", 18014, 80, "tcp")]


def test_a_container_without_labels_ports_or_healthcheck_reads_as_empty() -> None:
    container = Container({"Id": "1", "Names": ["/x"], "State": "exited", "Status": "Exited (0)"})
    assert (container.service, container.config_hash, container.health) == ("", "", "")
    assert container.published_ports == []


def test_a_starting_health_check_reads_as_starting() -> None:
    # The engine's own wording: "(health: starting)", unlike "(healthy)" and "(unhealthy)".
    for status, health in [
        ("Up 1 second (health: starting)", "starting"),
        ("Up 3 minutes (unhealthy)", "unhealthy"),
        ("Up 3 minutes (healthy)", "healthy"),
    ]:
        assert Container({**LISTED, "Status": status}).health == health


INSPECTED = {
    "Id": "c0ffee",
    "Name": "/aliecs-web-1",
    "Image": "sha256:1mage",
    "State": {
        "Status": "running",
        "Running": True,
        "ExitCode": 0,
        "Health": {"Status": "starting", "Log": [{"ExitCode": 1, "Output": "refused\n"}]},
    },
    "Config": {
        "Labels": {labels.PROJECT: "aliecs", labels.SERVICE: "web"},
        "User": "app",
        "StopTimeout": 30,
        "Healthcheck": {"Test": ["CMD-SHELL", "curl -f localhost"], "Interval": 5_000_000_000},
    },
    "Mounts": [
        {"Type": "volume", "Name": "aliecs_data", "Destination": "/data"},
        {"Type": "bind", "Source": "/src", "Destination": "/app"},
    ],
}


def test_an_inspected_container_reads_as_a_listed_one_does() -> None:
    listed, inspected = Container(LISTED), Container(INSPECTED)
    for read in ("id", "name", "project", "service", "status", "running"):
        assert getattr(inspected, read) == getattr(listed, read), read


def test_only_an_inspection_carries_the_check_the_exit_code_and_the_mounts() -> None:
    inspected = Container(INSPECTED)
    check = inspected.check
    assert check is not None
    assert (check.command, check.interval) == (["/bin/sh", "-c", "curl -f localhost"], 5.0)
    assert (inspected.exit_code, inspected.health, inspected.last_check) == (
        0,
        "starting",
        (1, "refused\n"),
    )
    assert (inspected.user, inspected.stop_timeout, inspected.image_id) == (
        "app",
        30,
        "sha256:1mage",
    )
    assert inspected.volumes == {"/data": "aliecs_data"}
    assert (Container(LISTED).check, Container(LISTED).exit_code) == (None, None)


def test_a_check_without_an_interval_runs_every_30_seconds_as_docker_s_default() -> None:
    config = {"Healthcheck": {"Test": ["CMD", "true"]}}
    check = Container({**INSPECTED, "Config": config}).check
    assert check is not None
    assert (check.command, check.interval) == (["true"], 30.0)
    assert Container({**INSPECTED, "Config": {"Healthcheck": {"Test": ["NONE"]}}}).check is None


def _state(**state: object) -> Container:
    return Container({"Id": "c", "State": state})


@pytest.mark.parametrize(
    ("container", "phase"),
    [
        (_state(Running=True, Health={"Status": "healthy"}), Phase.HEALTHY),
        (_state(Running=True), Phase.RUNNING),
        (_state(Running=True, Health={"Status": "starting"}), Phase.STARTING),
        (_state(Running=True, Health={"Status": "unhealthy"}), Phase.UNHEALTHY),
        (_state(Running=False, Status="exited", ExitCode=3), Phase.EXITED),
        (_state(Running=False, Status="dead"), Phase.EXITED),
        (_state(Running=False, Status="created"), Phase.NOT_RUNNING),
        (Container({**LISTED, "Status": "Up 1 second (health: starting)"}), Phase.STARTING),
        (Container({**LISTED, "State": "exited", "Status": "Exited (1)"}), Phase.EXITED),
    ],
)
def test_readiness_is_read_from_the_state_and_docker_s_health_word(
    container: Container, phase: Phase
) -> None:
    assert readiness(container) is phase
    assert phase.ready == (phase in (Phase.HEALTHY, Phase.RUNNING))


def _task(state: str, *, check: bool = True, secrets: tuple[str, ...] = ()) -> Task:
    container = {
        "Image": "web:v2",
        "Env": ["A=1"],
        "Secrets": [{"SecretName": name} for name in secrets],
    }
    if check:
        container["Healthcheck"] = {"Test": ["CMD", "true"]}
    return Task(
        {
            "NodeID": "n1",
            "Slot": 2,
            "Spec": {"ContainerSpec": container},
            "Status": {"State": state, "ContainerStatus": {"ContainerID": "abc"}},
        }
    )


def test_a_swarm_task_is_ready_once_swarm_says_running() -> None:
    assert readiness(_task("running")) is Phase.HEALTHY
    assert readiness(_task("running", check=False)) is Phase.RUNNING
    assert readiness(_task("starting")) is Phase.STARTING
    assert readiness(_task("failed")) is Phase.EXITED
    task = _task("running")
    assert (task.node_id, task.slot, task.container_id, task.error) == ("n1", 2, "abc", "")


def test_a_task_runs_a_spec_when_its_container_matches_and_its_secrets_by_name() -> None:
    spec = ServiceSpec(
        {
            "Name": "app_web",
            "Labels": {},
            "TaskTemplate": {
                "ContainerSpec": {
                    "Image": "web:v2",
                    "Env": ["A=1"],
                    "Healthcheck": {"Test": ["CMD", "true"]},
                    "Secrets": [{"SecretName": "key-v2", "SecretID": "s2"}],
                }
            },
            "Mode": {"Replicated": {"Replicas": 3}},
        }
    )
    assert _task("running", secrets=("key-v2",)).runs(spec)
    assert not _task("running", secrets=("key-v1",)).runs(spec)
    assert not _task("running", check=False, secrets=("key-v2",)).runs(spec)
    assert (spec.name, spec.replicas, spec.secret_ids) == ("app_web", 3, {"s2"})


class _Model:
    """docker-py's Service model: `attrs` and reload()/tasks()."""

    def __init__(self, attrs: dict[str, object]) -> None:
        self.attrs = attrs
        self.id = "svc1"
        self.name = "app_web"

    def reload(self) -> None:
        pass

    def tasks(self, filters: dict[str, str] | None = None) -> list[dict[str, object]]:
        return []


def test_a_service_reads_its_update_state_version_and_previous_spec() -> None:
    service = Service(
        _Model(
            {
                "Version": {"Index": 41},
                "Spec": {"Name": "app_web", "Labels": {"release": "v2"}},
                "PreviousSpec": {
                    "TaskTemplate": {"ContainerSpec": {"Secrets": [{"SecretID": "old"}]}}
                },
                "UpdateStatus": {"State": "rollback_completed", "Message": "rolled back"},
            }
        )
    )
    assert (service.version, service.has_previous_spec, service.spec.labels) == (
        41,
        True,
        {"release": "v2"},
    )
    assert (service.update.state, service.update.message) == ("rollback_completed", "rolled back")
    assert service.secret_ids == {"old"}
    fresh = Service(_Model({"Version": {"Index": 1}, "Spec": {}}))
    assert (fresh.update.state, fresh.has_previous_spec) == (None, False)


def test_a_task_s_addresses_on_a_network_are_read_without_their_prefix() -> None:
    task = Task(
        {
            "NetworksAttachments": [
                {"Network": {"Spec": {"Name": "ingress"}}, "Addresses": ["10.0.0.4/24"]},
                {"Network": {"Spec": {"Name": "app_overlay"}}, "Addresses": ["10.0.1.5/24"]},
            ]
        }
    )
    assert task.addresses_on("app_overlay") == {"10.0.1.5"}
    assert task.addresses_on("other") == set()
    assert Task({}).addresses_on("app_overlay") == set()
