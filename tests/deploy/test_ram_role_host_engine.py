"""A deploy to one simulated ECS host in RAM-role mode (OSS_CREDENTIALS=ecs-ram-role): the host's
metadata service is simulated (`python -m fakeoss.metadata` in a container on the host's own
Docker, reached by name; never Alibaba's real address), no OSS key is shipped, and the deployed
app and worker get short-lived credentials from it: an upload through the host's published port
gets its thumbnail, and no `OSS_ACCESS_KEY_*` is anywhere on the host. `invoke doctor --host`'s
check runs the app's own settings check there and sees the role."""

from __future__ import annotations

import io
import json
from pathlib import Path

import docker
import pytest
from rich.console import Console

from stackctl.deploy.appdef import AppDefinition
from stackctl.deploy.errors import DeployFailed
from stackctl.deploy.hosts import connect_host
from stackctl.deploy.release import ReleaseImages, release_environment
from stackctl.deploy.settings import DeploySettings
from stackctl.deploy.ssh import containers as ssh_containers
from stackctl.deploy.ssh.hostcheck import check_host
from stackctl.deploy.ssh.run import deploy
from stackctl.deploy.transfer import ship_image
from support.deploy_hosts import (
    APP,
    OLD_WELCOME,
    SimulatedHost,
    api_token,
    body,
    build_release_images,
    deploy_settings,
    thumbnail_ready,
    upload,
    wait_reachable,
)

pytestmark = [
    pytest.mark.engine,
    # paramiko's use of TripleDES, deprecated by cryptography.
    pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning"),
]

METADATA = "ecs-metadata"
ROLE = "gallery-app"
OUTPUT = io.StringIO()
KEY_NAME = "OSS_ACCESS_KEY_"
# fakeoss's root key (compose.yaml's FAKEOSS_ACCESS_KEY_*): the metadata service signs the role's
# STS credentials with its secret; the app must never see either.
FAKEOSS_SECRET = "fakeoss-secret"


@pytest.fixture(scope="module")
def keyless_secrets(tmp_path_factory: pytest.TempPathFactory, key_dir: Path) -> Path:
    """The deploy's secrets file in RAM-role mode: the app's own secrets, no OSS key."""
    known = (key_dir / "secrets.env").read_text().splitlines()
    path = tmp_path_factory.mktemp("keyless") / "secrets.env"
    kept = [line for line in known if not line.startswith("OSS_")]
    path.write_text(
        "\n".join(
            [
                *kept,
                "OSS_CREDENTIALS=ecs-ram-role",
                f"OSS_ECS_METADATA_URL=http://{METADATA}:8100",
                "OSS_TIMEOUT=5",
            ]
        )
        + "\n"
    )
    return path


@pytest.fixture(scope="module")
def settings(host: SimulatedHost, key_dir: Path, keyless_secrets: Path) -> DeploySettings:
    found = deploy_settings([host], key_dir, secrets_file=keyless_secrets)
    wait_reachable(found)
    return found


@pytest.fixture(scope="module")
def release(local: docker.DockerClient, app: AppDefinition) -> ReleaseImages:
    """This tree's release images (the same build and cache as the other deploy tests)."""
    return build_release_images(local, app, "keyless")


def remote(settings: DeploySettings) -> docker.DockerClient:
    return connect_host(settings.addresses[0], settings)


def host_exec(client: docker.DockerClient, container: str, command: list[str]) -> str:
    created = client.api.exec_create(container, command)
    output: bytes = client.api.exec_start(created["Id"])
    assert client.api.exec_inspect(created["Id"])["ExitCode"] == 0, output
    return output.decode(errors="replace")


def start_metadata_service(
    local: docker.DockerClient, settings: DeploySettings, release: ReleaseImages
) -> None:
    """The host's ECS metadata service, simulated: fakeoss's image (shipped as the deploy ships
    it) running `python -m fakeoss.metadata` on the app's network under the name the app is told,
    hardened mode only, with the RAM role attached and 60 s credentials."""
    client = remote(settings)
    try:
        image = release.accessories["fakeoss"]
        ship_image(local, client, image, host=settings.addresses[0].name)
        ssh_containers.ensure_network(client, APP)
        created = client.api.create_container(
            image,
            name=METADATA,
            command=[
                "python",
                "-m",
                "fakeoss.metadata",
                "--host=0.0.0.0",
                "--port=8100",
                f"--access-key-secret={FAKEOSS_SECRET}",
                f"--role={ROLE}",
                "--bucket=gallery",
                "--lifetime=60",
                "--hardened-only",
            ],
            host_config=client.api.create_host_config(network_mode=APP),
            networking_config=client.api.create_networking_config(
                {APP: client.api.create_endpoint_config(aliases=[METADATA])}
            ),
        )
        client.api.start(created["Id"])
    finally:
        client.close()


def test_a_key_given_in_ram_role_mode_is_refused_before_any_host_is_touched(
    local: docker.DockerClient,
    settings: DeploySettings,
    app: AppDefinition,
    release: ReleaseImages,
    keyless_secrets: Path,
    tmp_path: Path,
) -> None:
    with_key = tmp_path / "secrets.env"
    with_key.write_text(keyless_secrets.read_text() + "OSS_ACCESS_KEY_ID=LTAI-on-every-host\n")
    given = settings.model_copy(update={"secrets_file": with_key})

    with pytest.raises(DeployFailed) as refused:
        deploy(local, given, app, release, release_environment(given, {}, app=app), Console())

    assert str(refused.value).startswith(
        "secret OSS_ACCESS_KEY_ID is given but OSS_CREDENTIALS=ecs-ram-role does not use it"
    )
    assert "LTAI" not in str(refused.value)
    client = remote(settings)
    try:
        assert client.api.containers(all=True) == []
    finally:
        client.close()


def test_the_ram_role_deploy_ships_no_key_and_an_upload_gets_its_thumbnail(
    local: docker.DockerClient,
    settings: DeploySettings,
    app: AppDefinition,
    release: ReleaseImages,
    host: SimulatedHost,
) -> None:
    start_metadata_service(local, settings, release)
    environment = release_environment(settings, environ={}, app=app)
    assert not [name for name in environment if name.startswith(KEY_NAME)]

    deploy(local, settings, app, release, environment, Console(file=OUTPUT, width=200))

    assert OLD_WELCOME in body(host.url)
    image_id = upload(host.url)
    assert thumbnail_ready(host.url, image_id, within=30) is not None, "no thumbnail in 30 s"
    # The credentials the worker signed with came from the metadata service: it was asked.
    client = remote(settings)
    try:
        asked = client.api.logs(METADATA).decode(errors="replace")
    finally:
        client.close()
    assert f"/latest/meta-data/ram/security-credentials/{ROLE}" in asked


def test_no_oss_access_key_is_anywhere_on_the_host(settings: DeploySettings) -> None:
    client = remote(settings)
    try:
        containers = client.api.containers(all=True)
        inspected = [client.api.inspect_container(c["Id"]) for c in containers]
        # A container logging to "none" (the deploy lock's) keeps no log anywhere on the host.
        logs = [
            client.api.logs(i["Id"]).decode(errors="replace")
            for i in inspected
            if i["HostConfig"]["LogConfig"]["Type"] != "none"
        ]
        images = [image["Id"] for image in client.api.images(all=True)]
        image_configs = [client.api.inspect_image(i) for i in images]
        histories = [client.api.history(i) for i in images]
        roles = [
            i for i in inspected if i["Config"]["Labels"].get("org.aliecs.deploy.kind") == "role"
        ]
        secret_files = {
            i["Name"]: host_exec(
                client, i["Id"], ["sh", "-c", "ls -A /run/secrets; cat /run/secrets/*"]
            )
            for i in roles
        }
        volumes = [v["Name"] for v in client.api.volumes()["Volumes"] or []]
    finally:
        client.close()

    assert {i["Config"]["Labels"]["org.aliecs.deploy.role"] for i in roles} == {"web", "worker"}
    for where in (inspected, logs, image_configs, histories, secret_files, volumes):
        assert KEY_NAME not in json.dumps(where)
    # Nor fakeoss's root secret, which signs the role's credentials, in the app's containers.
    assert FAKEOSS_SECRET not in json.dumps(roles)
    assert FAKEOSS_SECRET not in json.dumps(secret_files)
    for role in roles:
        env = dict(line.split("=", 1) for line in role["Config"]["Env"])
        assert env["OSS_CREDENTIALS"] == "ecs-ram-role"
        assert "OSS_SECURITY_TOKEN" not in env
    # The one secret file the roles get is SECRET_KEY (compose.deploy-test.yaml).
    assert all(files.splitlines()[0] == "SECRET_KEY" for files in secret_files.values())


def test_the_host_check_says_the_credentials_come_from_the_role(
    settings: DeploySettings, app: AppDefinition
) -> None:
    client = remote(settings)
    try:
        check = check_host(client, settings, app, settings.addresses[0].name)
        left = [
            c["Names"]
            for c in client.api.containers(
                all=True, filters={"label": "org.aliecs.deploy.role=check"}
            )
        ]
    finally:
        client.close()

    assert check.status in ("ok", "warn"), check.detail
    assert check.name.startswith("app settings (")
    assert f"RAM role (discovered) from the metadata service at http://{METADATA}:8100" in (
        check.detail
    )
    assert "current ones expire at" in check.detail
    assert left == []


def test_the_host_check_fails_in_one_line_when_the_metadata_service_is_gone(
    settings: DeploySettings, app: AppDefinition
) -> None:
    client = remote(settings)
    try:
        client.api.stop(METADATA, timeout=1)
        check = check_host(client, settings, app, settings.addresses[0].name)
        client.api.start(METADATA)
    finally:
        client.close()

    assert check.status == "fail"
    assert check.detail.startswith(f"OSS_ECS_METADATA_URL=http://{METADATA}:8100: ")
    assert "\n" not in check.detail
    assert api_token() not in check.detail
