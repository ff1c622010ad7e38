"""Deploys to one simulated ECS host, in the order a user lives them: first deploy, a redeploy
under load, a broken release, a rollback, a concurrent deploy, and where the secrets went."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
import requests
from deploy_hosts import (
    APP,
    NEW_WELCOME,
    SimulatedHost,
    body,
    deploy_settings,
    hosts_fixture,
    secret_value,
    wait_reachable,
)
from rich.console import Console

from stackctl.deploy import cutover, lock
from stackctl.deploy.errors import DeployLocked, ReleaseCommandFailed, ReleaseUnhealthy
from stackctl.deploy.hosts import connect_host
from stackctl.deploy.release import ReleaseImages, release_environment
from stackctl.deploy.run import deploy, release_locks, rollback
from stackctl.deploy.settings import DeploySettings

pytestmark = [
    pytest.mark.engine,
    # paramiko's use of TripleDES, deprecated by cryptography.
    pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning"),
]

OLD_WELCOME = "welcome to CI/CD world"
OUTPUT = io.StringIO()


@pytest.fixture(scope="module")
def host(local: docker.DockerClient, host_image: None, public_key: str) -> Iterator[SimulatedHost]:
    yield from (hosts[0] for hosts in hosts_fixture(local, public_key, 1))


@pytest.fixture(scope="module")
def settings(host: SimulatedHost, key_dir: Path) -> DeploySettings:
    found = deploy_settings([host], key_dir)
    wait_reachable(found)
    return found


def console() -> Console:
    return Console(file=OUTPUT, width=200, force_terminal=False)


def ship(local: docker.DockerClient, settings: DeploySettings, images: ReleaseImages) -> None:
    deploy(local, settings, images, release_environment(settings, environ={}), console())


def remote(settings: DeploySettings) -> docker.DockerClient:
    return connect_host(settings.addresses[0], settings)


class Load:
    """GETs through the host's published port in a thread: bounded in count and time."""

    def __init__(self, url: str, *, at_least: int, at_most: int, seconds: float) -> None:
        self.url, self.at_least, self.at_most, self.seconds = url, at_least, at_most, seconds
        self.done = threading.Event()
        self.sent = self.failed = 0
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        started = time.monotonic()
        while self.sent < self.at_most and time.monotonic() - started < self.seconds:
            if self.done.is_set() and self.sent >= self.at_least:
                break
            self.sent += 1
            try:
                response = requests.get(f"{self.url}/main/", timeout=10)
                if response.status_code != 200:
                    self.failed += 1
                    self.errors.append(f"HTTP {response.status_code}")
            except requests.RequestException as exc:
                self.failed += 1
                self.errors.append(type(exc).__name__)

    def __enter__(self) -> Load:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join(self.seconds + 15)


def test_first_deploy_streams_the_image_over_ssh_and_serves(
    local: docker.DockerClient,
    settings: DeploySettings,
    images: dict[str, ReleaseImages],
    host: SimulatedHost,
) -> None:
    before = len(OUTPUT.getvalue())
    ship(local, settings, images["v1"])

    assert OLD_WELCOME in body(host.url)
    said = OUTPUT.getvalue()[before:]
    assert f"{APP}/web:v1 streamed" in said
    assert "serving v1" in said


def test_redeploy_of_a_source_change_under_load_fails_no_request(
    local: docker.DockerClient,
    settings: DeploySettings,
    images: dict[str, ReleaseImages],
    host: SimulatedHost,
) -> None:
    with Load(host.url, at_least=2000, at_most=20000, seconds=180) as load:
        ship(local, settings, images["v2"])
    assert load.sent >= 2000
    assert load.failed == 0, load.errors[:10]
    assert NEW_WELCOME in body(host.url)
    client = remote(settings)
    running = [r.version for r in cutover.releases(client, APP) if r.running]
    client.close()
    assert running == ["v2"]


def test_a_release_failing_its_health_check_rolls_back_by_itself(
    local: docker.DockerClient,
    settings: DeploySettings,
    images: dict[str, ReleaseImages],
    host: SimulatedHost,
) -> None:
    with pytest.raises(ReleaseUnhealthy) as failed:
        ship(local, settings, images["broken"])

    assert "rolled back" in str(failed.value)
    assert any("boom: release cannot start" in line for line in failed.value.log_tail)
    assert NEW_WELCOME in body(host.url)


def test_a_failing_release_command_stops_before_traffic_moves(
    local: docker.DockerClient,
    settings: DeploySettings,
    images: dict[str, ReleaseImages],
    host: SimulatedHost,
) -> None:
    failing = settings.model_copy(update={"release_command": "sh -c 'echo migrating; exit 4'"})
    with pytest.raises(ReleaseCommandFailed) as failed:
        ship(local, failing, images["v1"])

    assert "exited with code 4" in str(failed.value)
    assert "migrating" in failed.value.log_tail
    assert NEW_WELCOME in body(host.url)


def test_rollback_switches_back_to_the_previous_release(
    settings: DeploySettings, host: SimulatedHost
) -> None:
    rollback(settings, release_environment(settings, environ={}), console())

    assert OLD_WELCOME in body(host.url)
    client = remote(settings)
    assert cutover.serving(client, APP) == cutover.web_name(APP, "v1")
    client.close()


def test_a_concurrent_deploy_is_refused_by_the_lock(
    local: docker.DockerClient,
    settings: DeploySettings,
    images: dict[str, ReleaseImages],
    host: SimulatedHost,
) -> None:
    client = remote(settings)
    lock.acquire_lock(client, APP, "h", holder="alice@laptop", message="deploy abc")
    try:
        with pytest.raises(DeployLocked) as refused:
            ship(local, settings, images["v2"])
        assert "held by alice@laptop since" in str(refused.value)
        assert "deploy abc" in str(refused.value)
        assert OLD_WELCOME in body(host.url)
    finally:
        release_locks(settings, console())
    assert lock.read_lock(client, APP) is None
    client.close()


def test_the_secret_is_in_no_image_label_or_output(
    settings: DeploySettings, images: dict[str, ReleaseImages]
) -> None:
    client = remote(settings)
    web = images["v2"].web
    history = json.dumps(client.api.history(web))
    image_config = json.dumps(client.api.inspect_image(web))
    containers = client.api.containers(all=True, filters={"label": f"org.aliecs.deploy.app={APP}"})
    container_labels = json.dumps([c["Labels"] for c in containers])
    serving = client.api.inspect_container(cutover.web_name(APP, "v1"))
    client.close()

    assert f"SECRET_KEY={secret_value()}" in serving["Config"]["Env"]
    for where in (history, image_config, container_labels, OUTPUT.getvalue()):
        assert secret_value() not in where
