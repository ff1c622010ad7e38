"""Simulated ECS hosts: Docker-in-Docker containers with sshd, reached only on 127.0.0.1."""

from __future__ import annotations

import io
import secrets
import tarfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import requests
from PIL import Image
from rich.console import Console

from stackctl.deploy.appdef import AppDefinition, load_app
from stackctl.deploy.hosts import connect_host
from stackctl.deploy.release import ReleaseImages, SourceVersion, build_release
from stackctl.deploy.settings import DeploySettings, load_deploy_settings
from stackctl.settings import load_settings
from support.loopback import free_port

ROOT = Path(__file__).resolve().parents[2]
HOST_IMAGE = "stackctl-test/ecs-host:latest"
TEST_LABEL = "org.aliecs.test"
TEST_LABEL_VALUE = "deploy"
APP = "deploytest"
TEST_OVERRIDE = ROOT / "tests" / "deploy" / "compose.deploy-test.yaml"
# A source change a user would make: the page's welcome line.
NEW_WELCOME = "welcome to release two"
# The admin password of the deployed app (its hash goes to the hosts as a secret).
ADMIN_PASSWORD = "deploy-admin"
_SECRET = f"sk-{secrets.token_hex(20)}"


def secret_value() -> str:
    """The SECRET_KEY the deployed app gets as a file: it must show up nowhere but that file."""
    return _SECRET


def compose_environ(key_dir: Path) -> dict[str, str]:
    """What compose.yaml is interpolated with for the deploy tests."""
    return {"COMPOSE_PROJECT_NAME": APP, "DEPLOY_TEST_SECRETS_DIR": str(key_dir)}


def deploy_app(project_dir: Path, key_dir: Path, *more_overrides: Path) -> AppDefinition:
    """compose.yaml of `project_dir` with the test override (fakeoss as an accessory, SECRET_KEY
    as a file), read the way `invoke deploy` reads it."""
    return load_app(
        project_dir / "compose.yaml",
        compose_environ(key_dir),
        project_name=APP,
        overrides=[TEST_OVERRIDE, *more_overrides],
    )


# What the Docker-in-Docker container needs here: --privileged fails ("unable to apply caps").
DIND_OPTIONS: dict[str, Any] = {
    "cap_add": ["ALL"],
    "cap_drop": ["SYS_RESOURCE"],
    "security_opt": ["seccomp=unconfined", "apparmor=unconfined"],
}


@dataclass
class SimulatedHost:
    container: Any
    volume: str
    ssh_port: int
    http_port: int
    https_port: int = 0
    """Where its port 443 is published on 127.0.0.1 (0: not published)."""

    @property
    def address(self) -> str:
        return f"root@127.0.0.1:{self.ssh_port}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


def build_dockerfile_image(client: docker.DockerClient, dockerfile: str, tag: str) -> str:
    """An image from a Dockerfile text alone (no context files): its id."""
    data = dockerfile.encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    for chunk in client.api.build(
        fileobj=buffer, custom_context=True, tag=tag, decode=True, rm=True, forcerm=True
    ):
        if "error" in chunk:
            raise RuntimeError(f"build of {tag} failed: {chunk['error']}")
    return str(client.api.inspect_image(tag)["Id"])


def build_host_image(client: docker.DockerClient) -> None:
    for chunk in client.api.build(
        path=str(ROOT),
        dockerfile="containers/ecs-host/Dockerfile",
        tag=HOST_IMAGE,
        decode=True,
        rm=True,
        forcerm=True,
        labels={TEST_LABEL: TEST_LABEL_VALUE},
    ):
        if "error" in chunk:
            raise RuntimeError(f"build of the ECS host image failed: {chunk['error']}")


def start_host(
    client: docker.DockerClient,
    public_key: str,
    *,
    network: str | None = None,
    ports: tuple[int, int] | None = None,
    prefix: str = "deploytest-host",
    https: bool = False,
) -> SimulatedHost:
    """A host on the default bridge, or on `network` (a swarm's hosts must reach each other);
    its sshd and port 80 published on 127.0.0.1 at `ports` (default: free ones), and with
    `https` its port 443 at a free one."""
    volume = f"{prefix}-{uuid.uuid4().hex[:8]}"
    client.volumes.create(volume, labels={TEST_LABEL: TEST_LABEL_VALUE})
    ssh_port, http_port = ports or (free_port(), free_port())
    https_port = free_port() if https else 0
    published: dict[str, tuple[str, int]] = {
        "22/tcp": ("127.0.0.1", ssh_port),
        "80/tcp": ("127.0.0.1", http_port),
    }
    if https:
        published["443/tcp"] = ("127.0.0.1", https_port)
    container = client.containers.run(
        HOST_IMAGE,
        detach=True,
        name=volume,
        environment={"AUTHORIZED_KEY": public_key},
        volumes={
            "/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"},
            volume: {"bind": "/var/lib/docker", "mode": "rw"},
        },
        ports=published,
        labels={TEST_LABEL: TEST_LABEL_VALUE},
        network=network,
        **DIND_OPTIONS,
    )
    return SimulatedHost(container, volume, ssh_port, http_port, https_port)


def remove_host(client: docker.DockerClient, host: SimulatedHost) -> None:
    host.container.remove(force=True, v=True)
    client.volumes.get(host.volume).remove(force=True)


def deploy_settings(
    hosts: list[SimulatedHost], key_dir: Path, **overrides: object
) -> DeploySettings:
    environ = {
        "DEPLOY_HOSTS": ",".join(h.address for h in hosts),
        "DEPLOY_SSH_KEY": str(key_dir / "id_rsa"),
        "DEPLOY_SSH_KNOWN_HOSTS": str(key_dir / "known_hosts"),
        "DEPLOY_APP": APP,
        "DEPLOY_HTTP_HOST": "0.0.0.0",
        "DEPLOY_HTTP_PORT": "80",
        "DEPLOY_SECRETS_FILE": str(key_dir / "secrets.env"),
        "DEPLOY_COMPOSE_OVERRIDE": str(TEST_OVERRIDE),
        "DEPLOY_HEALTH_TIMEOUT": "30",
        "DEPLOY_DRAIN_SECONDS": "1",
        "DEPLOY_KEEP_RELEASES": "3",
    }
    return load_deploy_settings(ROOT, environ=environ, overrides=overrides)


def wait_reachable(settings: DeploySettings, timeout: float = 60) -> None:
    started = time.monotonic()
    for address in settings.addresses:
        while True:
            try:
                connect_host(address, settings, timeout=10).close()
                break
            except Exception:
                if time.monotonic() - started > timeout:
                    raise
                time.sleep(0.5)


def body(url: str) -> str:
    # The same bound as a load's requests: a test asks whether it is served, not how fast.
    response = requests.get(f"{url}/main/", timeout=10)
    response.raise_for_status()
    return response.text


def hosts_fixture(
    client: docker.DockerClient, public_key: str, count: int
) -> Iterator[list[SimulatedHost]]:
    started: list[SimulatedHost] = []
    try:
        for _ in range(count):
            started.append(start_host(client, public_key))
        yield started
    finally:
        for host in started:
            remove_host(client, host)


def build_release_images(
    local: docker.DockerClient, app: AppDefinition, version: str
) -> ReleaseImages:
    """The release images `invoke deploy` builds for `app`'s tree, tagged `version`."""
    stack = load_settings(app.project.project_dir, {"STACK_MODE": "production"})
    return build_release(
        local,
        stack,
        app,
        Console(quiet=True),
        version=version,
        source=SourceVersion(version, dirty=False),
    )


def write_key_and_secrets(
    folder: Path, api_token: str | None = None, password_hash: str | None = None
) -> str:
    """An SSH key pair (id_rsa, id_rsa.pub), secrets.env and the SECRET_KEY file in `folder`
    (a random API token and admin password unless given); returns the public key line the
    simulated hosts trust."""
    import paramiko
    from werkzeug.security import generate_password_hash

    api_token = api_token or secrets.token_hex(16)
    password_hash = password_hash or generate_password_hash(secrets.token_hex(12))

    key = paramiko.RSAKey.generate(2048)
    key.write_private_key_file(str(folder / "id_rsa"))
    public_key = f"{key.get_name()} {key.get_base64()}"
    (folder / "id_rsa.pub").write_text(f"{public_key} deploy-tests\n")
    (folder / "secrets.env").write_text(
        "OSS_ACCESS_KEY_ID=fakeoss-id\n"
        "OSS_ACCESS_KEY_SECRET=fakeoss-secret\n"
        f"GALLERY_API_TOKEN={api_token}\n"
        f"GALLERY_ADMIN_PASSWORD_HASH='{password_hash}'\n"
    )
    (folder / "SECRET_KEY").write_text(secret_value() + "\n")
    return public_key


class Load:
    """GETs of /main/ through a host's published port in a thread, bounded in count and time:
    at most `at_most` requests and `seconds`; once told to stop, it goes on to `at_least`."""

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
            sent_at = time.monotonic()
            # Each failure with when it was sent and how long it took (a CI log then tells a
            # connect timeout per dead upstream, 2 s each, from a stalled machine).
            when = f"at {sent_at - started:.1f} s"
            try:
                response = requests.get(f"{self.url}/main/", timeout=10)
                if response.status_code != 200:
                    self.failed += 1
                    took = time.monotonic() - sent_at
                    self.errors.append(f"HTTP {response.status_code} {when}, took {took:.1f} s")
            except requests.RequestException as exc:
                self.failed += 1
                took = time.monotonic() - sent_at
                self.errors.append(f"{type(exc).__name__} {when}, took {took:.1f} s")

    def __enter__(self) -> Load:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join(self.seconds + 15)


_TOKEN = secrets.token_hex(16)


def api_token() -> str:
    """The deployed app's API token in these tests (made once per session)."""
    return _TOKEN


OLD_WELCOME = "welcome to CI/CD world"
"""The welcome line of this tree (v1); v2 is built from a copy with it changed."""


def upload_request_id(url: str) -> str:
    """An upload through the host's proxy; the request id its response carries (X-Request-ID)."""
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


def upload(url: str) -> str:
    picture = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 120, 200)).save(picture, "PNG")
    response = requests.post(
        f"{url}/api/images",
        files={"file": (f"{uuid.uuid4().hex[:6]}.png", picture.getvalue(), "image/png")},
        headers={"Authorization": f"Bearer {api_token()}"},
        timeout=20,
    )
    assert response.status_code == 201, response.text
    image_id: str = response.json()["id"]
    return image_id


def thumbnail_ready(url: str, image_id: str, within: float) -> float | None:
    """Seconds until the image's thumbnail was ready, None when it was not within `within`."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        found = requests.get(f"{url}/api/images/{image_id}", timeout=10).json()
        if found["thumbnail_status"] == "ready":
            return time.monotonic() - started
        time.sleep(0.2)
    return None
