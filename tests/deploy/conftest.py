"""Fixtures of the deploy tests: the ECS host image (once per session), an SSH key, the release
images in the local engine (built once), and simulated hosts started once per module."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import docker
import paramiko
import pytest
from deploy_hosts import (
    APP,
    NEW_WELCOME,
    ROOT,
    build_dockerfile_image,
    build_host_image,
    secret_value,
)
from rich.console import Console
from werkzeug.security import generate_password_hash

from stackctl.deploy.release import ReleaseImages, SourceVersion
from stackctl.images import build_image, buildargs_for
from stackctl.settings import load_settings

WEB = f"{APP}/web"
PROXY = f"{APP}/proxy"


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
    """An SSH key pair, known_hosts and the secrets file the deployed app runs with."""
    folder = tmp_path_factory.mktemp("deploy-ssh")
    key = paramiko.RSAKey.generate(2048)
    key.write_private_key_file(str(folder / "id_rsa"))
    (folder / "id_rsa.pub").write_text(f"{key.get_name()} {key.get_base64()} deploy-tests\n")
    (folder / "secrets.env").write_text(
        f"SECRET_KEY={secret_value()}\n"
        "OSS_ACCESS_KEY_ID=deploy-test-id\n"
        "OSS_ACCESS_KEY_SECRET=deploy-test-oss-secret\n"
        f"GALLERY_API_TOKEN={secrets.token_hex(16)}\n"
        f"GALLERY_ADMIN_PASSWORD_HASH='{generate_password_hash('deploy-admin')}'\n"
    )
    return folder


@pytest.fixture(scope="session")
def public_key(key_dir: Path) -> str:
    return (key_dir / "id_rsa.pub").read_text().strip()


def release(version: str, web: str, proxy: str) -> ReleaseImages:
    return ReleaseImages(
        source=SourceVersion(commit=version, dirty=False), version=version, web=web, proxy=proxy
    )


@pytest.fixture(scope="session")
def images(local: docker.DockerClient) -> dict[str, ReleaseImages]:
    """v1 built from the project, v2 with its welcome line changed, broken that never starts."""
    console = Console(quiet=True)
    args = buildargs_for(load_settings(ROOT))
    web_id = build_image(
        local,
        context=ROOT,
        dockerfile="containers/web/Dockerfile",
        tag=f"{WEB}:v1",
        buildargs=args,
        target="runtime",
        labels={},
        console=console,
        service="web",
    )
    proxy_id = build_image(
        local,
        context=ROOT,
        dockerfile="containers/nginx/Dockerfile",
        tag=f"{PROXY}:test",
        buildargs=args,
        target=None,
        labels={},
        console=console,
        service="proxy",
    )
    assert web_id
    assert proxy_id
    build_dockerfile_image(
        local,
        f"FROM {WEB}:v1\nUSER root\n"
        "RUN sed -i 's|welcome to CI/CD world|" + NEW_WELCOME + "|' "
        "/opt/app/gallery/main.py\nUSER app\n",
        f"{WEB}:v2",
    )
    build_dockerfile_image(
        local,
        f"FROM {WEB}:v1\n"
        'CMD ["python", "-c", "import sys; print(\'boom: release cannot start\', '
        'file=sys.stderr); sys.exit(3)"]\n',
        f"{WEB}:broken",
    )
    proxy = f"{PROXY}:test"
    return {v: release(v, f"{WEB}:{v}", proxy) for v in ("v1", "v2", "broken")}
