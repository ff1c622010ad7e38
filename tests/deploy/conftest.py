"""Fixtures of the deploy tests: the ECS host image (once per session), an SSH key, the secrets,
the release images in the local engine (built once, by the deploy's own build: compose.yaml
through `invoke up`'s build), and simulated hosts started once per module."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from werkzeug.security import generate_password_hash

from stackctl.deploy.appdef import AppDefinition
from stackctl.deploy.release import ReleaseImages
from stackctl.deploy.settings import DeploySettings
from support.deploy_hosts import (
    ADMIN_PASSWORD,
    APP,
    NEW_WELCOME,
    ROOT,
    SimulatedHost,
    api_token,
    build_host_image,
    build_release_images,
    deploy_app,
    deploy_settings,
    hosts_fixture,
    wait_reachable,
    write_key_and_secrets,
)

BROKEN_WORKER = Path(__file__).with_name("compose.broken-worker.yaml")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[None] | pytest.TestReport:
    """Each phase's report on the item (`item.report_call`), for fixtures that add what the
    hosts said when a test failed."""
    report: pytest.TestReport = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def local() -> Iterator[docker.DockerClient]:
    client = docker.from_env(timeout=600)
    yield client
    client.close()


@pytest.fixture(scope="session")
def host_image(local: docker.DockerClient) -> None:
    build_host_image(local)


@pytest.fixture(scope="session")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SSH key pair, known_hosts, the secrets file and the SECRET_KEY secret file."""
    folder = tmp_path_factory.mktemp("deploy-ssh")
    write_key_and_secrets(folder, api_token(), generate_password_hash(ADMIN_PASSWORD))
    return folder


@pytest.fixture(scope="session")
def public_key(key_dir: Path) -> str:
    return (key_dir / "id_rsa.pub").read_text().strip()


@pytest.fixture(scope="module")
def host(local: docker.DockerClient, host_image: None, public_key: str) -> Iterator[SimulatedHost]:
    """One simulated ECS host for each module that asks (single host, RAM role);
    the Swarm module starts its three on a network of their own."""
    yield from (hosts[0] for hosts in hosts_fixture(local, public_key, 1))


@pytest.fixture(scope="module")
def settings(host: SimulatedHost, key_dir: Path) -> DeploySettings:
    """The deploy settings for that host, once it answers on SSH (a module with its own secrets
    file, like the RAM-role one, overrides this)."""
    found = deploy_settings([host], key_dir)
    wait_reachable(found)
    return found


@pytest.fixture(scope="session")
def app(key_dir: Path) -> AppDefinition:
    return deploy_app(ROOT, key_dir)


@pytest.fixture(scope="session")
def images(
    local: docker.DockerClient, app: AppDefinition, key_dir: Path
) -> dict[str, ReleaseImages]:
    """v1 from this tree, v2 from a copy with the welcome line changed (a user's source change),
    broken: v1's images with a worker that exits at start. All built as `invoke up` builds."""
    from support.stack_copy import copy_project

    built = {"v1": build_release_images(local, app, "v1")}
    with tempfile.TemporaryDirectory(prefix="deploy-v2-") as folder:
        copy = Path(folder)
        copy_project(copy)
        main_py = copy / "src/gallery/main.py"
        main_py.write_text(main_py.read_text().replace("welcome to CI/CD world", NEW_WELCOME))
        built["v2"] = build_release_images(local, deploy_app(copy, key_dir), "v2")
    # Built after v2, so this tree's build is `latest` again (usually v1's very image ids, from
    # the classic builder's cache; nothing depends on it).
    broken = deploy_app(ROOT, key_dir, BROKEN_WORKER)
    built["broken"] = build_release_images(local, broken, "broken")
    return built


@pytest.fixture(scope="session")
def broken_app(key_dir: Path) -> AppDefinition:
    return deploy_app(ROOT, key_dir, BROKEN_WORKER)


__all__ = ["APP"]
