"""Deploys of the whole app (web and worker roles, redis and fakeoss accessories) to one simulated
ECS host, in the order a user lives them: first deploy and an upload thumbnailed by the deployed
worker, a redeploy under load with a job in flight, a release whose worker cannot start, a
failing release command, a rollback of both roles, redeploys that keep Redis's data, a concurrent
deploy, and where the secrets went. One host serves the whole module (DinD hosts are heavy)."""

from __future__ import annotations

import io
import json

import docker
import pytest
from rich.console import Console

from stackctl.deploy import lock
from stackctl.deploy.appdef import AppDefinition
from stackctl.deploy.errors import DeployLocked, ReleaseCommandFailed, ReleaseUnhealthy
from stackctl.deploy.hosts import connect_host
from stackctl.deploy.release import ReleaseImages, release_environment
from stackctl.deploy.settings import DeploySettings
from stackctl.deploy.ssh import containers as ssh_containers
from stackctl.deploy.ssh import proxy, releases
from stackctl.deploy.ssh.accessories import accessory_name
from stackctl.deploy.ssh.run import deploy, release_locks, rollback, versions
from support.deploy_hosts import (
    APP,
    NEW_WELCOME,
    OLD_WELCOME,
    Load,
    SimulatedHost,
    body,
    secret_value,
    thumbnail_ready,
    upload,
)

pytestmark = [
    pytest.mark.engine,
    # paramiko's use of TripleDES, deprecated by cryptography.
    pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning"),
]

OUTPUT = io.StringIO()
REDIS_KEY = "deploy-test:kept"


def console() -> Console:
    return Console(file=OUTPUT, width=200, force_terminal=False)


def ship(
    local: docker.DockerClient,
    settings: DeploySettings,
    app: AppDefinition,
    images: ReleaseImages,
) -> None:
    deploy(local, settings, app, images, release_environment(settings, environ={}), console())


def remote(settings: DeploySettings) -> docker.DockerClient:
    return connect_host(settings.addresses[0], settings)


def running_roles(settings: DeploySettings) -> dict[str, str]:
    """role -> the version of its running container."""
    client = remote(settings)
    try:
        found = {}
        for release in releases.releases(client, APP):
            for role in release.running_roles:
                assert role not in found, f"two {role} containers run"
                found[role] = release.version
        return found
    finally:
        client.close()


def host_exec(settings: DeploySettings, container: str, command: list[str]) -> str:
    client = remote(settings)
    try:
        created = client.api.exec_create(container, command)
        output: bytes = client.api.exec_start(created["Id"])
        assert client.api.exec_inspect(created["Id"])["ExitCode"] == 0, output
        return output.decode().strip()
    finally:
        client.close()


def retag(local: docker.DockerClient, ref: str, tag: str) -> str:
    repository = ref.rsplit(":", 1)[0]
    local.api.tag(ref, repository, tag)
    return f"{repository}:{tag}"


def test_first_deploy_starts_accessories_and_both_roles_and_the_worker_makes_thumbnails(
    local: docker.DockerClient,
    settings: DeploySettings,
    app: AppDefinition,
    images: dict[str, ReleaseImages],
    host: SimulatedHost,
) -> None:
    before = len(OUTPUT.getvalue())
    ship(local, settings, app, images["v1"])

    assert OLD_WELCOME in body(host.url)
    said = OUTPUT.getvalue()[before:]
    assert f"{APP}/web:v1 streamed" in said
    assert f"accessory {APP}-redis created" in said
    assert f"accessory {APP}-fakeoss created" in said
    assert running_roles(settings) == {"web": "v1", "worker": "v1"}

    image_id = upload(host.url)
    took = thumbnail_ready(host.url, image_id, within=10)
    assert took is not None, "no thumbnail within 10 s"
    # The deployed worker is the only one on that Redis: its log has the job.
    client = remote(settings)
    logs = client.api.logs(ssh_containers.role_container(APP, "worker", "v1")).decode()
    client.close()
    assert "succeeded" in logs


def test_redis_data_is_written_before_the_redeploys(settings: DeploySettings) -> None:
    redis = accessory_name(APP, "redis")
    assert host_exec(settings, redis, ["redis-cli", "set", REDIS_KEY, "survives"]) == "OK"


def test_redeploy_under_load_fails_no_request_and_a_job_in_flight_completes(
    local: docker.DockerClient,
    settings: DeploySettings,
    app: AppDefinition,
    images: dict[str, ReleaseImages],
    host: SimulatedHost,
) -> None:
    with Load(host.url, at_least=2000, at_most=20000, seconds=180) as load:
        in_flight = upload(host.url)
        ship(local, settings, app, images["v2"])
    assert load.sent >= 2000
    assert load.failed == 0, load.errors[:10]
    assert NEW_WELCOME in body(host.url)
    assert running_roles(settings) == {"web": "v2", "worker": "v2"}
    assert thumbnail_ready(host.url, in_flight, within=30) is not None


def test_a_worker_that_cannot_start_rolls_back_both_roles(
    local: docker.DockerClient,
    settings: DeploySettings,
    broken_app: AppDefinition,
    images: dict[str, ReleaseImages],
    host: SimulatedHost,
) -> None:
    with pytest.raises(ReleaseUnhealthy) as failed:
        ship(local, settings, broken_app, images["broken"])

    assert "worker exited with code 3" in str(failed.value)
    assert "rolled back every role" in str(failed.value)
    assert any("boom: worker cannot start" in line for line in failed.value.log_tail)
    client = remote(settings)
    names = [c["Names"][0] for c in client.api.containers(all=True)]
    client.close()
    assert not [n for n in names if n.endswith("-broken")], names
    assert running_roles(settings) == {"web": "v2", "worker": "v2"}
    # The old ones keep working: served and thumbnailed.
    assert NEW_WELCOME in body(host.url)
    assert thumbnail_ready(host.url, upload(host.url), within=10) is not None


def test_a_failing_release_command_stops_before_traffic_moves(
    local: docker.DockerClient,
    settings: DeploySettings,
    app: AppDefinition,
    images: dict[str, ReleaseImages],
    host: SimulatedHost,
) -> None:
    failing = settings.model_copy(update={"release_command": "sh -c 'echo migrating; exit 4'"})
    with pytest.raises(ReleaseCommandFailed) as failed:
        ship(local, failing, app, images["v1"])

    assert "exited with code 4" in str(failed.value)
    assert "migrating" in failed.value.log_tail
    assert NEW_WELCOME in body(host.url)
    assert running_roles(settings) == {"web": "v2", "worker": "v2"}


def test_rollback_moves_web_and_worker_back_together(
    settings: DeploySettings, app: AppDefinition, host: SimulatedHost
) -> None:
    rollback(settings, app, console())

    assert OLD_WELCOME in body(host.url)
    assert running_roles(settings) == {"web": "v1", "worker": "v1"}
    client = remote(settings)
    assert proxy.serving(client, APP) == ssh_containers.role_container(APP, "web", "v1")
    client.close()
    listing = versions(settings)[settings.addresses[0].name]
    assert "* v1: web running, worker running" in listing
    assert "  v2: web stopped, worker stopped" in listing
    assert thumbnail_ready(host.url, upload(host.url), within=10) is not None


def test_redis_keeps_its_data_and_container_across_three_redeploys(
    local: docker.DockerClient,
    settings: DeploySettings,
    app: AppDefinition,
    images: dict[str, ReleaseImages],
    host: SimulatedHost,
) -> None:
    client = remote(settings)
    redis_id = client.api.inspect_container(accessory_name(APP, "redis"))["Id"]
    for name in ("r1", "r2", "r3"):
        source = images["v2" if name == "r2" else "v1"]
        retagged = ReleaseImages(
            source=source.source,
            version=name,
            roles={service: retag(local, ref, name) for service, ref in source.roles.items()},
            accessories=source.accessories,
            proxy=source.proxy,
            image_ids=source.image_ids,
        )
        ship(local, settings, app, retagged)
        assert running_roles(settings) == {"web": name, "worker": name}
    assert client.api.inspect_container(accessory_name(APP, "redis"))["Id"] == redis_id
    client.close()
    redis = accessory_name(APP, "redis")
    assert host_exec(settings, redis, ["redis-cli", "get", REDIS_KEY]) == "survives"
    assert OLD_WELCOME in body(host.url)


def test_a_concurrent_deploy_is_refused_by_the_lock(
    local: docker.DockerClient,
    settings: DeploySettings,
    app: AppDefinition,
    images: dict[str, ReleaseImages],
    host: SimulatedHost,
) -> None:
    client = remote(settings)
    lock.acquire_lock(client, APP, "h", holder="alice@laptop", message="deploy abc")
    try:
        with pytest.raises(DeployLocked) as refused:
            ship(local, settings, app, images["v2"])
        assert "held by alice@laptop since" in str(refused.value)
        assert "deploy abc" in str(refused.value)
        assert OLD_WELCOME in body(host.url)
    finally:
        release_locks(settings, console())
    assert lock.read_lock(client, APP) is None
    client.close()


def test_a_secret_file_is_readable_by_the_app_and_in_no_env_image_label_or_output(
    settings: DeploySettings, images: dict[str, ReleaseImages]
) -> None:
    client = remote(settings)
    running_web = ssh_containers.role_container(APP, "web", running_roles(settings)["web"])
    web = client.api.inspect_container(running_web)["Config"]["Image"]
    history = json.dumps(client.api.history(web))
    image_config = json.dumps(client.api.inspect_image(web))
    containers = client.api.containers(all=True, filters={"label": f"org.aliecs.deploy.app={APP}"})
    container_labels = json.dumps([c["Labels"] for c in containers])
    environments = json.dumps(
        [client.api.inspect_container(c["Id"])["Config"]["Env"] for c in containers]
    )
    client.close()

    for role, version in running_roles(settings).items():
        container = ssh_containers.role_container(APP, role, version)
        # As the app's own user (the image's USER): readable, 0400, owned by uid 10001.
        assert host_exec(settings, container, ["cat", "/run/secrets/SECRET_KEY"]) == secret_value()
        mode = host_exec(settings, container, ["stat", "-c", "%a %u", "/run/secrets/SECRET_KEY"])
        assert mode == "400 10001"
    for where in (history, image_config, container_labels, environments, OUTPUT.getvalue()):
        assert secret_value() not in where
    assert "SECRET_KEY=" not in environments
