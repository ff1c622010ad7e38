"""Two simulated hosts deployed one batch at a time."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from rich.console import Console

from stackctl.deploy.appdef import AppDefinition
from stackctl.deploy.release import ReleaseImages, release_environment
from stackctl.deploy.ssh.run import deploy
from support.deploy_hosts import SimulatedHost, body, deploy_settings, hosts_fixture, wait_reachable

pytestmark = [
    pytest.mark.engine,
    pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning"),
]


@pytest.fixture(scope="module")
def two_hosts(
    local: docker.DockerClient, host_image: None, public_key: str
) -> Iterator[list[SimulatedHost]]:
    yield from hosts_fixture(local, public_key, 2)


def test_two_hosts_are_deployed_in_batches(
    local: docker.DockerClient,
    two_hosts: list[SimulatedHost],
    key_dir: Path,
    app: AppDefinition,
    images: dict[str, ReleaseImages],
) -> None:
    settings = deploy_settings(two_hosts, key_dir, batch_size=1)
    wait_reachable(settings)
    output = io.StringIO()

    deploy(
        local,
        settings,
        app,
        images["v1"],
        release_environment(settings, environ={}),
        Console(file=output, width=200),
    )

    said = output.getvalue()
    first, second = (h.address.split("@")[1] for h in two_hosts)
    assert said.index(f"batch 1: {first}") < said.index(f"{first}: running v1")
    assert said.index(f"{first}: running v1") < said.index(f"batch 2: {second}")
    for host in two_hosts:
        assert "welcome to CI/CD world" in body(host.url)
