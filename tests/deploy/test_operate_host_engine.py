"""Operating what was deployed, on one simulated ECS host: after a deploy, the request id an
upload's response carries is found by `deploy.logs --grep` in the proxy's log line of the host
that served it, and the host's audit log has the deploy with the local user and the version;
`deploy.metrics` reads every deployed container's metrics through the host's engine."""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Iterator

import docker
import pytest
import requests
from PIL import Image
from rich.console import Console

from stackctl.deploy.appdef import AppDefinition
from stackctl.deploy.lock import default_holder
from stackctl.deploy.logview import LogLine, log_request
from stackctl.deploy.release import ReleaseImages, release_environment
from stackctl.deploy.settings import DeploySettings
from stackctl.deploy.ssh.proxy import proxy_name
from stackctl.deploy.ssh.run import deploy
from stackctl.deploy.ssh.target import SshTarget
from stackctl.deploy.target import DeployRun
from stackctl.settings import load_settings
from support.deploy_hosts import (
    APP,
    SimulatedHost,
    api_token,
    build_release_images,
)

pytestmark = [
    pytest.mark.engine,
    # paramiko's use of TripleDES, deprecated by cryptography.
    pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning"),
]

VERSION = f"operate-{uuid.uuid4().hex[:6]}"
"""This module's own tag: the deploy tests' v1/v2 tags may be in use by another run."""
OUTPUT = io.StringIO()


@pytest.fixture(scope="module")
def release(local: docker.DockerClient, app: AppDefinition) -> Iterator[ReleaseImages]:
    built = build_release_images(local, app, VERSION)
    yield built
    for ref in set(built.roles.values()):
        local.api.remove_image(ref)  # the tag only: the image is the deploy tests' too


def no_engine(stack: object) -> docker.DockerClient:
    raise AssertionError("reading logs and the audit log needs no local engine")


def run_for(settings: DeploySettings, app: AppDefinition) -> DeployRun:
    stack = load_settings(app.project.project_dir, {"STACK_MODE": "production"})
    console = Console(file=OUTPUT, width=200, force_terminal=False)
    return DeployRun(settings, app, stack, {}, console, no_engine)


def upload_request_id(url: str) -> str:
    picture = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 120)).save(picture, "PNG")
    response = requests.post(
        f"{url}/api/images",
        files={"file": ("operate.png", picture.getvalue(), "image/png")},
        headers={"Authorization": f"Bearer {api_token()}"},
        timeout=20,
    )
    assert response.status_code == 201, response.text
    return response.headers["X-Request-ID"]


def grep_proxy(run: DeployRun, pattern: str, within: float) -> list[LogLine]:
    """The proxy's lines matching `pattern`, read again until one is there: nginx writes its
    access log through a buffer flushed every second."""
    deadline = time.monotonic() + within
    while True:
        request = log_request(run.app, run.settings, "proxy", grep=pattern, now=time.time())
        found = list(SshTarget().logs(run, request))
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def test_an_upload_s_request_id_is_found_in_the_serving_host_s_proxy_log_and_the_deploy_is_audited(
    local: docker.DockerClient,
    settings: DeploySettings,
    app: AppDefinition,
    release: ReleaseImages,
    host: SimulatedHost,
) -> None:
    deploy(
        local,
        settings,
        app,
        release,
        release_environment(settings, environ={}),
        run_for(settings, app).console,
    )
    run = run_for(settings, app)

    request_id = upload_request_id(host.url)
    found = grep_proxy(run, request_id, within=15)

    assert len(found) == 1, found
    assert (found[0].host, found[0].container) == (settings.addresses[0].name, proxy_name(APP))
    assert "POST /api/images" in found[0].text
    audit = SshTarget().audit(run, (), None)
    assert audit[0] == f"{settings.addresses[0].name}:"
    assert audit[1].strip().split("  ")[1:] == [default_holder(), "deploy", VERSION, "ok"]


def test_deploy_metrics_reads_the_deployed_web_worker_and_proxy_on_their_host(
    settings: DeploySettings, app: AppDefinition, release: ReleaseImages
) -> None:
    screen = SshTarget().metrics(run_for(settings, app), (), 0).splitlines()

    host = settings.addresses[0].name
    for container in (f"{APP}-web-{VERSION}", f"{APP}-worker-{VERSION}", proxy_name(APP)):
        row = next(line for line in screen if line.startswith(f"{host} {container} "))
        assert "no metrics" not in row, screen
