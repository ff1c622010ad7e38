"""`invoke deploy.exec` on one simulated ECS host, deployed once for the module: a command runs
beside the running release in a one-off container of its image, with the role's environment,
secret files and network; its output and exit status come back, no container is left behind,
and the host's audit log has each run. `deploy.details` shows what the host runs."""

from __future__ import annotations

import hashlib
import io
import ipaddress
import uuid
from collections.abc import Iterator

import docker
import pytest
from rich.console import Console

from stackctl.deploy import fanout, labels
from stackctl.deploy.appdef import AppDefinition
from stackctl.deploy.errors import DeployFailed
from stackctl.deploy.lock import default_holder
from stackctl.deploy.oneoff import exec_request
from stackctl.deploy.release import ReleaseImages, release_environment
from stackctl.deploy.settings import DeploySettings
from stackctl.deploy.ssh.run import deploy
from stackctl.deploy.ssh.target import SshTarget
from stackctl.deploy.target import DeployRun
from stackctl.engine.models import listed_containers
from stackctl.settings import load_settings
from support.deploy_hosts import (
    APP,
    build_release_images,
    secret_value,
)

pytestmark = [
    pytest.mark.engine,
    # paramiko's use of TripleDES, deprecated by cryptography.
    pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning"),
]

VERSION = f"exec-{uuid.uuid4().hex[:6]}"
"""This module's own tag: the deploy tests' v1/v2 tags may be in use by another run."""


@pytest.fixture(scope="module")
def deployed(
    local: docker.DockerClient, settings: DeploySettings, app: AppDefinition
) -> Iterator[ReleaseImages]:
    built = build_release_images(local, app, VERSION)
    console = Console(file=io.StringIO(), width=200)
    deploy(local, settings, app, built, release_environment(settings, environ={}), console)
    yield built
    for ref in set(built.roles.values()):
        local.api.remove_image(ref)  # the tag only: the image is the deploy tests' too


def no_engine(stack: object) -> docker.DockerClient:
    raise AssertionError("deploy.exec needs no local engine")


@pytest.fixture
def run(settings: DeploySettings, app: AppDefinition, deployed: ReleaseImages) -> DeployRun:
    stack = load_settings(app.project.project_dir, {"STACK_MODE": "production"})
    console = Console(file=io.StringIO(), width=200, force_terminal=False)
    return DeployRun(settings, app, stack, {}, console, no_engine)


def exec_on(run: DeployRun, role: str, *command: str, reuse: bool = False) -> tuple[int, str]:
    """`deploy.exec ROLE -- COMMAND` on the host: its exit code and its output."""
    output = bytearray()
    request = exec_request(run.app, run.settings, role, command, reuse=reuse)
    code = SshTarget().execute(run, request, output.extend)
    return code, output.decode()


def host_containers(settings: DeploySettings, kind: str) -> list[str]:
    with fanout.connected(settings) as clients:
        client = next(iter(clients.values()))
        wanted = [f"{labels.APP}={APP}", f"{labels.KIND}={kind}"]
        return [c.name for c in listed_containers(client.api, label=wanted)]


def audit_lines(run: DeployRun) -> list[str]:
    return [line.strip() for line in SshTarget().audit(run, (), None)[1:]]


def test_a_flask_command_runs_beside_the_release_and_its_output_comes_back(
    run: DeployRun,
) -> None:
    code, output = exec_on(run, "web", "flask", "gallery", "rebuild-index")

    assert code == 0, output
    assert output.startswith("index: "), output
    assert " added, " in output


def test_the_one_off_gets_the_role_s_environment_secret_files_and_network(
    run: DeployRun,
) -> None:
    script = (
        "import hashlib, os, socket; print(os.environ['FLASK_CONFIG'],"
        " hashlib.sha256(open('/run/secrets/SECRET_KEY', 'rb').read().strip()).hexdigest(),"
        " socket.gethostbyname('redis'))"
    )
    code, output = exec_on(run, "web", "python", "-c", script)

    config, secret_digest, redis_address = output.split()
    assert code == 0, output
    assert config == "production"
    assert secret_digest == hashlib.sha256(secret_value().encode()).hexdigest()
    assert ipaddress.ip_address(redis_address)
    assert secret_value() not in output


def test_a_failing_command_s_exit_status_comes_back_and_is_audited(run: DeployRun) -> None:
    code, output = exec_on(run, "worker", "sh", "-c", "echo giving up >&2; exit 3")

    assert (code, output) == (3, "giving up\n")
    assert audit_lines(run)[-1].split("  ")[1:] == [
        default_holder(),
        "exec worker -- sh -c 'echo giving up >&2; exit 3'",
        VERSION,
        "failed: exited with code 3",
    ]


def test_a_command_not_in_the_image_is_one_line_and_leaves_no_container(run: DeployRun) -> None:
    with pytest.raises(DeployFailed) as raised:
        exec_on(run, "web", "no-such-command", "--now")

    assert str(raised.value).startswith(
        f"{run.settings.addresses[0].name}: `no-such-command --now` did not start in web: "
    )
    assert "no-such-command" in str(raised.value).split(": ", 2)[2]
    assert "\n" not in str(raised.value)
    assert host_containers(run.settings, "exec") == []


def test_reuse_runs_in_the_running_role_container(run: DeployRun) -> None:
    code, output = exec_on(run, "web", "cat", "/proc/1/cmdline", reuse=True)

    assert code == 0
    assert "gunicorn" in output
    assert audit_lines(run)[-1].split("  ")[2:] == [
        "exec --reuse web -- cat /proc/1/cmdline",
        VERSION,
        "ok",
    ]


def test_no_one_off_container_is_left_and_every_run_is_audited(run: DeployRun) -> None:
    code, _ = exec_on(run, "web", "true")

    assert code == 0
    assert host_containers(run.settings, "exec") == []
    assert audit_lines(run)[-1].split("  ")[1:] == [
        default_holder(),
        "exec web -- true",
        VERSION,
        "ok",
    ]


def test_details_shows_the_served_release_s_roles_the_accessories_and_the_proxy_running(
    run: DeployRun,
) -> None:
    rows = SshTarget().details(run, ())

    host = run.settings.addresses[0].name
    assert {r.host for r in rows} == {host}
    assert [(r.kind, r.service) for r in rows] == [
        ("role", "web"),
        ("role", "worker"),
        ("accessory", "fakeoss"),
        ("accessory", "redis"),
        ("proxy", "proxy"),
    ]
    assert [r.version for r in rows if r.kind == "role"] == [f"{VERSION} *"] * 2
    assert {r.state for r in rows} == {"running"}
    assert rows[0].health == "healthy"
    assert all(r.up != "-" for r in rows)
