"""What `up` decides for each service, and the config hash it decides by: no engine needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import docker
import pytest
from rich.console import Console

from stackctl import labels
from stackctl.compose import (
    BuildSpec,
    DependsOn,
    DeploySpec,
    HealthcheckSpec,
    LoggingSpec,
    MountSpec,
    PortSpec,
    Project,
    ResourceSpec,
    ResourcesSpec,
    ServiceNetwork,
    ServiceSpec,
    Ulimit,
    VolumeSpec,
)
from stackctl.engine.models import Container
from stackctl.plan.converge import (
    MountConfig,
    container_config,
    container_name,
    plan_replicas,
    plan_service,
)
from stackctl.settings import StackSettings
from stackctl.stack.stack import Stack

IMAGE_ID = "sha256:abc"


def web(**changes: Any) -> ServiceSpec:
    values: dict[str, Any] = {
        "name": "web",
        "image": "aliecs/web:latest",
        "command": ["gunicorn", "gallery.wsgi:app"],
        "entrypoint": ["/entry.sh"],
        "environment": {"B": "2", "A": "1"},
        "ports": [PortSpec(host_ip="127.0.0.1", published=18080, target=8000)],
        "volumes": [
            MountSpec(type="volume", source="data", target="/data"),
            MountSpec(type="bind", source="/src", target="/app/src", read_only=True),
        ],
        "healthcheck": HealthcheckSpec(
            test=["CMD", "true"], interval=5, timeout=2, start_period=1, retries=3
        ),
        "restart": "on-failure:3",
        "labels": {"team": "ci"},
        "init": True,
        "stop_grace_period": 3.0,
        "working_dir": "/app",
        "user": "app",
        "stop_signal": "SIGINT",
    }
    values.update(changes)
    return ServiceSpec(**values)


def project_of(*specs: ServiceSpec) -> Project:
    return Project(
        name="demo",
        services={spec.name: spec for spec in specs},
        volumes={"data": VolumeSpec(name="data")},
        compose_file=Path("/p/compose.yaml"),
        project_dir=Path("/p"),
    )


def running(spec: ServiceSpec, state: str = "running", number: int = 1) -> Container:
    config_hash = container_config(project_of(spec), spec, IMAGE_ID).config_hash
    return Container(
        {
            "Id": f"id-{number}",
            "Names": [f"/demo-{spec.name}-{number}"],
            "State": state,
            "Labels": {
                labels.SERVICE: spec.name,
                labels.CONFIG_HASH: config_hash,
                labels.CONTAINER_NUMBER: str(number),
            },
        }
    )


def plan(spec: ServiceSpec, *found: Container, image_id: str = IMAGE_ID) -> Any:
    return plan_service(project_of(spec), spec, image_id, list(found))


def test_the_hash_format_is_unchanged_so_running_stacks_are_not_recreated() -> None:
    """Digests taken with the dict-based code this replaced: the label on running containers."""
    minimal = ServiceSpec(name="redis", image="redis:7")
    project = project_of(web(), minimal)
    assert container_config(project, web(), IMAGE_ID).config_hash == (
        "deeb0dc831179bb65b21c100434330207632e88afcc36d90fe08a5ceb87c07f6"
    )
    assert container_config(project, minimal, IMAGE_ID).config_hash == (
        "e52e48d4dfebe48c3f3a5ee2f1ab98ab9cc6e7e788096e0c68112127e92902b2"
    )


def test_nothing_running_creates() -> None:
    assert plan(web()).action == "create"


def test_the_same_config_running_is_kept() -> None:
    found = plan(web(), running(web()))
    assert (found.action, found.existing, found.extra) == ("keep", running(web()), [])


def test_the_same_config_stopped_is_started() -> None:
    assert plan(web(), running(web(), state="exited")).action == "start"


def test_a_rebuilt_image_recreates() -> None:
    assert plan(web(), running(web()), image_id="sha256:rebuilt").action == "recreate"


@pytest.mark.parametrize(
    "change",
    [
        {"image": "aliecs/web:next"},
        {"command": ["flask", "run"]},
        {"entrypoint": None},
        {"environment": {"A": "1", "B": "3"}},
        {"ports": [PortSpec(host_ip="127.0.0.1", published=18081, target=8000)]},
        {"ports": []},
        {"volumes": [MountSpec(type="volume", source="data", target="/data")]},
        {"volumes": [MountSpec(type="volume", source="data", target="/data", read_only=True)]},
        {"healthcheck": HealthcheckSpec(test=["CMD", "true"], interval=6)},
        {"healthcheck": None},
        {"restart": "always"},
        {"labels": {"team": "ops"}},
        {"init": False},
        {"stop_grace_period": 10.0},
        {"working_dir": "/srv"},
        {"user": "root"},
        {"stop_signal": "SIGTERM"},
        {"expose": ["9000"]},
        {"networks": {"back": ServiceNetwork()}},
        {"networks": {"default": ServiceNetwork(aliases=["api"])}},
        {"network_mode": "host", "networks": {}},
        {"hostname": "web-host"},
        {"cap_drop": ["NET_RAW"]},
        {"sysctls": {"net.core.somaxconn": "1024"}},
        {"ulimits": {"nofile": Ulimit(soft=1, hard=2)}},
        {"logging": LoggingSpec(driver="local")},
        {"tty": True},
        {"platform": "linux/amd64"},
        {"extra_hosts": ["db=10.0.0.5"]},
        {"deploy": DeploySpec(resources=ResourcesSpec(limits=ResourceSpec(memory=1024**3)))},
    ],
    ids=lambda change: next(iter(change)),
)
def test_each_field_that_reaches_the_container_recreates(change: dict[str, Any]) -> None:
    assert plan(web(**change), running(web())).action == "recreate"


@pytest.mark.parametrize(
    "change",
    [
        {"depends_on": {"redis": DependsOn(condition="service_healthy")}},
        {"profiles": ["debug"]},
        {"build": BuildSpec(context=Path("/p/containers/web"), args={"X": "1"})},
        {"environment": {"A": "1", "B": "2"}},  # the same variables in another order
    ],
    ids=["depends_on", "profiles", "build", "environment-order"],
)
def test_what_does_not_reach_the_container_keeps_it(change: dict[str, Any]) -> None:
    """A build change recreates only through the image id it produces."""
    assert plan(web(**change), running(web())).action == "keep"


def test_extra_containers_of_a_service_are_removed() -> None:
    first, second = running(web()), running(web(), number=2)
    found = plan(web(), first, second)
    assert (found.action, found.existing, found.extra) == ("keep", first, [second])


def test_volumes_get_the_project_prefix_and_bind_mounts_keep_their_path() -> None:
    config = container_config(project_of(web()), web(), IMAGE_ID)
    assert config.mounts == (
        MountConfig("volume", "demo_data", "/data"),
        MountConfig("bind", "/src", "/app/src", read_only=True),
    )


class RecordingApi(docker.APIClient):  # type: ignore[misc]
    """docker-py's own request builders (no engine is contacted); create_container recorded."""

    def __init__(self) -> None:
        super().__init__(base_url="unix:///nonexistent.sock", version="1.41")
        self.created: dict[str, Any] = {}

    def create_container(self, **kwargs: Any) -> dict[str, str]:
        self.created = kwargs
        return {"Id": "new"}


class RecordingClient:
    def __init__(self) -> None:
        self.api = RecordingApi()


def test_the_create_call_carries_the_config_and_its_hash(tmp_path: Path) -> None:
    spec = web()
    project = project_of(spec)
    settings = StackSettings(
        project_dir=tmp_path, compose_file=tmp_path / "compose.yaml", project_name="demo"
    )
    client = RecordingClient()
    stack = Stack(client, project, settings, Console(quiet=True))  # type: ignore[arg-type]
    found = plan_service(project, spec, IMAGE_ID, [])

    assert stack._create(found, "demo-web-1") == "new"

    created = client.api.created
    assert created["labels"][labels.CONFIG_HASH] == found.config_hash
    assert created["labels"]["team"] == "ci"
    assert (created["image"], created["command"]) == (spec.image, spec.command)
    assert created["environment"] == {"A": "1", "B": "2"}
    assert created["healthcheck"]["Interval"] == 5_000_000_000
    host = created["host_config"]
    assert host["PortBindings"] == {"8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18080"}]}
    assert [(m["Source"], m["Target"], m["ReadOnly"]) for m in host["Mounts"]] == [
        ("demo_data", "/data", False),
        ("/src", "/app/src", True),
    ]
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert created["networking_config"]["EndpointsConfig"]["demo_default"]["Aliases"] == ["web"]


def test_replicas_are_planned_by_number_and_the_highest_numbers_go() -> None:
    spec = web(deploy=DeploySpec(replicas=2))
    found = [running(spec, number=n) for n in (3, 1)]

    plans = plan_replicas(project_of(spec), spec, IMAGE_ID, found)

    assert [(p.number, p.action) for p in plans] == [(1, "keep"), (2, "create")]
    assert [c.id for c in plans[-1].extra] == ["id-3"]


def test_zero_replicas_only_remove() -> None:
    spec = web(deploy=DeploySpec(replicas=0))

    plans = plan_replicas(project_of(spec), spec, IMAGE_ID, [running(spec)])

    assert [(p.number, [c.id for c in p.extra]) for p in plans] == [(0, ["id-1"])]


def test_container_name_replaces_compose_numbering() -> None:
    project = project_of(web(container_name="gallery-web"), ServiceSpec(name="redis", image="r"))

    assert container_name(project, "web") == "gallery-web"
    assert container_name(project, "redis", 2) == "demo-redis-2"


def test_one_health_check_mapping_serves_up_the_ssh_deploy_and_swarm() -> None:
    from stackctl.engine.healthchecks import create_healthcheck, swarm_healthcheck
    from stackctl.plan.converge import health_config

    check = health_config(web())
    assert check is not None
    assert create_healthcheck(check) == {
        "Test": ["CMD", "true"],
        "Interval": 5_000_000_000,
        "Timeout": 2_000_000_000,
        "Retries": 3,
        "StartPeriod": 1_000_000_000,
    }
    assert swarm_healthcheck(check) == create_healthcheck(check)
    assert health_config(web(), deployed=True) == check


def test_a_disabled_check_is_kept_by_up_and_left_out_by_a_deploy() -> None:
    from stackctl.plan.converge import health_config

    disabled = web(healthcheck=HealthcheckSpec(test=["NONE"]))
    found = health_config(disabled)
    assert found is not None
    assert found.test == ("NONE",)  # `up` disables the image's check (and hashes that)
    assert health_config(disabled, deployed=True) is None  # deploys keep the image's own
