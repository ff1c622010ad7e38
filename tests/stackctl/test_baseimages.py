"""Offline base images: which are missing, what `invoke base` skips, and one real offline build."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from rich.console import Console

from stackctl.errors import BuildError
from stackctl.images.baseimages import (
    DEBIAN_IMAGE,
    OFFLINE_BASE_LABEL,
    _slim_rootfs,
    build_offline_base_images,
    missing_base_images,
)
from stackctl.settings import StackSettings


def settings(tmp_path: Path, **values: Any) -> StackSettings:
    return StackSettings(
        project_dir=tmp_path, compose_file=tmp_path / "compose.yaml", project_name="t", **values
    )


def quiet_console() -> Console:
    return Console(file=io.StringIO(), record=True, width=120)


def test_the_rootfs_is_slimmed_like_the_official_slim_images(tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    for directory in ("etc/apt/apt.conf.d", "etc/dpkg/dpkg.cfg.d", "usr/sbin", "var/log"):
        (rootfs / directory).mkdir(parents=True)
    files = {
        "usr/share/doc/bash/copyright": "GPL",
        "usr/share/doc/bash/README": "docs",
        "usr/share/man/man1/bash.1.gz": "man",
        "usr/share/locale/de/LC_MESSAGES/bash.mo": "de",
        "usr/share/locale/locale.alias": "aliases",
        "var/lib/apt/lists/deb.debian.org_Packages": "lists",
        "var/cache/apt/pkgcache.bin": "cache",
        "var/log/bootstrap.log": "log",
        "etc/resolv.conf": "nameserver 10.0.0.1",
    }
    for name, text in files.items():
        (rootfs / name).parent.mkdir(parents=True, exist_ok=True)
        (rootfs / name).write_text(text)

    _slim_rootfs(rootfs, "http://mirrors.aliyun.com/debian/")

    left = {str(p.relative_to(rootfs)) for p in rootfs.rglob("*") if p.is_file()}
    assert "usr/share/doc/bash/copyright" in left
    assert "usr/share/locale/locale.alias" in left
    removed = {n for n in files if not n.startswith("etc/")} - {
        "usr/share/doc/bash/copyright",
        "usr/share/locale/locale.alias",
    }
    assert not left & removed
    assert (rootfs / "etc/resolv.conf").read_text() == ""
    assert (rootfs / "etc/apt/sources.list").read_text().splitlines() == [
        "deb http://mirrors.aliyun.com/debian bookworm main",
        "deb http://mirrors.aliyun.com/debian bookworm-updates main",
        "deb http://mirrors.aliyun.com/debian-security bookworm-security main",
    ]
    assert (rootfs / "usr/sbin/policy-rc.d").stat().st_mode & 0o111


# --- against the engine ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def docker_client() -> Iterator[docker.DockerClient]:
    docker_client = docker.from_env()
    yield docker_client
    docker_client.close()


@pytest.fixture
def test_names(docker_client: docker.DockerClient) -> Iterator[dict[str, str]]:
    suffix = uuid.uuid4().hex[:12]
    names = {kind: f"stackctl-test/{kind}:{suffix}" for kind in ("python", "nginx", "redis")}
    yield names
    for name in names.values():
        if docker_client.images.list(name=name):
            docker_client.images.remove(name, force=True)


def tag_a_scratch_image(docker_client: docker.DockerClient, tmp_path: Path, name: str) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\nLABEL purpose=test\n")
    docker_client.images.build(path=str(tmp_path), tag=name, rm=True)


@pytest.mark.engine
def test_missing_base_images_lists_the_configured_names_the_engine_lacks(
    docker_client: docker.DockerClient, test_names: dict[str, str], tmp_path: Path
) -> None:
    tag_a_scratch_image(docker_client, tmp_path, test_names["nginx"])
    configured = settings(
        tmp_path,
        python_base_image=test_names["python"],
        nginx_base_image=test_names["nginx"],
        redis_base_image=test_names["redis"],
    )

    assert missing_base_images(docker_client, configured) == [
        test_names["python"],
        test_names["redis"],
    ]


@pytest.mark.engine
def test_present_base_images_are_kept(
    docker_client: docker.DockerClient, test_names: dict[str, str], tmp_path: Path
) -> None:
    for name in test_names.values():
        tag_a_scratch_image(docker_client, tmp_path, name)
    configured = settings(
        tmp_path,
        python_base_image=test_names["python"],
        nginx_base_image=test_names["nginx"],
        redis_base_image=test_names["redis"],
        debian_mirror="http://127.0.0.1:9/debian",
    )
    console = quiet_console()

    assert build_offline_base_images(docker_client, configured, console) == []
    assert "nothing to build" in console.export_text()


@pytest.mark.engine
def test_an_unknown_base_is_refused(docker_client: docker.DockerClient, tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="unknown base image 'postgres'"):
        build_offline_base_images(
            docker_client, settings(tmp_path), quiet_console(), only=["postgres"]
        )


@pytest.mark.engine
def test_an_offline_base_is_built_from_debian_packages_under_the_configured_name(
    docker_client: docker.DockerClient, test_names: dict[str, str], tmp_path: Path
) -> None:
    configured = settings(tmp_path, redis_base_image=test_names["redis"])

    built = build_offline_base_images(
        docker_client, configured, quiet_console(), workdir=tmp_path / "work", only=["redis"]
    )

    assert built == [test_names["redis"]]
    image = docker_client.images.get(test_names["redis"])
    assert image.labels[OFFLINE_BASE_LABEL] == "true"
    assert docker_client.images.get(DEBIAN_IMAGE).labels[OFFLINE_BASE_LABEL] == "true"
    output = docker_client.containers.run(image.id, ["redis-server", "--version"], remove=True)
    assert output.startswith(b"Redis server v=7.")
