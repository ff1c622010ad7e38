"""Offline base images: the official python, nginx and redis images, rebuilt from Debian packages.

Where no registry answers (blocked, or behind a firewall), `invoke base` debootstraps Debian
bookworm from the configured mirror, imports it as a plain Debian image and builds each base from
it under the configured name (by default the official one). Compose files and Dockerfiles stay the
same, and a user who later has a registry just sets the names or pulls.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import docker
from rich.console import Console

from stackctl.errors import BuildError
from stackctl.images.images import build_image, image_present
from stackctl.settings import StackSettings

SUITE = "bookworm"
DEBIAN_IMAGE = f"stackctl/debian:{SUITE}"
OFFLINE_BASE_LABEL = "org.aliecs.offline-base"
_CHUNK = 1 << 20

# Like the official slim images (debuerreotype --slimify): no docs, man pages or translations,
# no apt caches, and no services started by package scripts inside a build.
_DPKG_SLIM = """\
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
"""
_APT_CONF = {
    "docker-clean": (
        'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb '
        '/var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\n'
        'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb '
        '/var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\n'
        'Dir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n'
    ),
    "docker-no-languages": 'Acquire::Languages "none";\n',
    "docker-gzip-indexes": (
        'Acquire::GzipIndexes "true";\nAcquire::CompressionTypes::Order:: "gz";\n'
    ),
    "docker-autoremove-suggests": 'Apt::AutoRemove::SuggestsImportant "false";\n',
}
_POLICY_RC_D = "#!/bin/sh\n# No services start inside image builds.\nexit 101\n"
_PRUNE_DIRS = (
    "var/lib/apt/lists",
    "var/cache/apt",
    "usr/share/groff",
    "usr/share/info",
    "usr/share/linda",
    "usr/share/lintian/overrides",
    "usr/share/man",
)
_APT_INSTALL = (
    "RUN apt-get update \\\n"
    " && apt-get install -y --no-install-recommends {packages} \\\n"
    " && rm -rf /var/lib/apt/lists/* /var/log/apt/* /var/log/dpkg.log"
)


@dataclass(frozen=True)
class BaseRecipe:
    """How one offline base is built FROM the plain Debian image."""

    kind: str
    build_arg: str
    dockerfile: str


RECIPES: dict[str, BaseRecipe] = {
    "python": BaseRecipe(
        "python",
        "PYTHON_BASE_IMAGE",
        f"FROM {DEBIAN_IMAGE}\n"
        + _APT_INSTALL.format(packages="python3 python3-venv python-is-python3 ca-certificates")
        + "\nENV LANG=C.UTF-8\n"
        'CMD ["python3"]\n',
    ),
    "nginx": BaseRecipe(
        "nginx",
        "NGINX_BASE_IMAGE",
        f"FROM {DEBIAN_IMAGE}\n"
        + _APT_INSTALL.format(packages="nginx gettext-base curl ca-certificates")
        # The official image's layout: an nginx user, logs to the container's output, no
        # Debian sites-enabled default, conf.d included by nginx.conf.
        + " \\\n && useradd --system --no-create-home --home-dir /nonexistent"
        " --shell /usr/sbin/nologin --user-group nginx"
        " \\\n && rm -f /etc/nginx/sites-enabled/default"
        " \\\n && ln -sf /dev/stdout /var/log/nginx/access.log"
        " \\\n && ln -sf /dev/stderr /var/log/nginx/error.log"
        " \\\n && mkdir -p /etc/nginx/templates /usr/share/nginx/html\n"
        "EXPOSE 80\n"
        "STOPSIGNAL SIGQUIT\n"
        'CMD ["nginx", "-g", "daemon off;"]\n',
    ),
    "redis": BaseRecipe(
        "redis",
        "REDIS_BASE_IMAGE",
        f"FROM {DEBIAN_IMAGE}\n"
        + _APT_INSTALL.format(packages="redis-server")
        + " \\\n && mkdir -p /data && chown redis:redis /data\n"
        "VOLUME /data\n"
        "WORKDIR /data\n"
        "EXPOSE 6379\n"
        # The official image builds redis with protected mode off: the network is the boundary.
        'CMD ["redis-server", "--protected-mode", "no"]\n',
    ),
}


def missing_base_images(client: docker.DockerClient, settings: StackSettings) -> list[str]:
    """The configured base images the engine does not have, in python, nginx, redis order."""
    names = list(dict.fromkeys(settings.base_images.values()))
    return [name for name in names if not image_present(client, name)]


def build_offline_base_images(
    client: docker.DockerClient,
    settings: StackSettings,
    console: Console,
    *,
    workdir: Path | None = None,
    only: Collection[str] = (),
    force: bool = False,
) -> list[str]:
    """Build the configured base images from a debootstrapped Debian; return the names built.

    `only` limits the work to some kinds ("python", "nginx", "redis") or image names. Images
    already in the engine are kept unless `force`. A `workdir` keeps the rootfs for the next run.
    """
    unknown = [o for o in only if o not in settings.base_images and o not in _names(settings)]
    if unknown:
        raise BuildError(
            f"unknown base image {unknown[0]!r}: choose from {', '.join(settings.base_images)}"
        )
    todo = [
        (RECIPES[kind], name)
        for kind, name in settings.base_images.items()
        if (not only or kind in only or name in only) and (force or not image_present(client, name))
    ]
    if not todo:
        console.print("[green]✓[/] base images present: nothing to build")
        return []
    with _workdir(workdir) as work:
        if force or not image_present(client, DEBIAN_IMAGE):
            _import_debian(client, settings, console, work)
        built: list[str] = []
        for recipe, name in todo:
            context = work / f"base-{recipe.kind}"
            context.mkdir(parents=True, exist_ok=True)
            (context / "Dockerfile").write_text(recipe.dockerfile, encoding="utf-8")
            build_image(
                client,
                context=context,
                dockerfile="Dockerfile",
                tag=name,
                buildargs={},
                target=None,
                labels={OFFLINE_BASE_LABEL: "true"},
                console=console,
                service=f"base {recipe.kind}",
                pull_missing=False,
            )
            built.append(name)
    return built


def _names(settings: StackSettings) -> set[str]:
    return set(settings.base_images.values())


@contextlib.contextmanager
def _workdir(workdir: Path | None) -> Iterator[Path]:
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        yield workdir
        return
    with tempfile.TemporaryDirectory(prefix="stackctl-base-", dir="/var/tmp") as tmp:
        yield Path(tmp)


def _import_debian(
    client: docker.DockerClient, settings: StackSettings, console: Console, work: Path
) -> None:
    rootfs = work / "rootfs"
    done = work / "rootfs.complete"
    started = time.monotonic()
    if not done.exists():
        if rootfs.exists():
            shutil.rmtree(rootfs)
        _debootstrap(settings.debian_mirror, rootfs, work / "debootstrap.log", console)
        done.touch()
    _slim_rootfs(rootfs, settings.debian_mirror)
    with console.status(f"importing {DEBIAN_IMAGE}"):
        tar = subprocess.Popen(
            ["tar", "-C", str(rootfs), "--numeric-owner", "-cf", "-", "."],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert tar.stdout is not None
        try:
            repository, _, tag = DEBIAN_IMAGE.rpartition(":")
            result = client.api.import_image_from_stream(
                _chunks(tar.stdout),
                repository=repository,
                tag=tag,
                changes=[
                    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    f"LABEL {OFFLINE_BASE_LABEL}=true",
                    'CMD ["bash"]',
                ],
            )
        finally:
            _, stderr = tar.communicate()
    if tar.returncode != 0:
        raise BuildError(f"tar of the Debian rootfs failed: {_last_line(stderr.decode())}")
    for line in str(result).splitlines():
        message = json.loads(line) if line.strip().startswith("{") else {}
        if "error" in message:
            raise BuildError(f"import of {DEBIAN_IMAGE} failed: {message['error']}")
    console.print(
        f"[green]✓[/] {DEBIAN_IMAGE}: imported from {settings.debian_mirror} "
        f"in {time.monotonic() - started:.1f}s"
    )


def _debootstrap(mirror: str, rootfs: Path, log: Path, console: Console) -> None:
    if shutil.which("debootstrap") is None:
        raise BuildError("debootstrap is not installed: `apt-get install -y debootstrap`")
    command = ["debootstrap", "--variant=minbase", SUITE, str(rootfs), mirror]
    with console.status(f"debootstrap {SUITE} from {mirror} (about 30 s)"), log.open("wb") as out:
        code = subprocess.call(command, stdout=out, stderr=subprocess.STDOUT)
    if code != 0:
        tail = log.read_text(errors="replace").splitlines()[-20:]
        hint = " (it needs root)" if any("root" in line for line in tail) else ""
        raise BuildError(
            f"debootstrap of {SUITE} from {mirror} failed{hint}: {_last_line(chr(10).join(tail))}",
            log_tail=tail,
        )


def _slim_rootfs(rootfs: Path, mirror: str) -> None:
    """Make the rootfs what the official debian:bookworm-slim is: small and container-ready."""
    etc = rootfs / "etc"
    mirror = mirror.rstrip("/")
    sources = [f"deb {mirror} {SUITE} main", f"deb {mirror} {SUITE}-updates main"]
    if mirror.endswith("/debian"):
        # deb.debian.org, mirrors.aliyun.com, mirrors.tuna...: security lives next to the archive.
        sources.append(f"deb {mirror}-security {SUITE}-security main")
    (etc / "apt" / "sources.list").write_text("\n".join(sources) + "\n")
    (etc / "dpkg" / "dpkg.cfg.d" / "docker-slim").write_text(_DPKG_SLIM)
    for name, text in _APT_CONF.items():
        (etc / "apt" / "apt.conf.d" / name).write_text(text)
    policy = rootfs / "usr" / "sbin" / "policy-rc.d"
    policy.write_text(_POLICY_RC_D)
    policy.chmod(0o755)
    # Docker mounts its own over these; the host's copies must not ship.
    for name in ("resolv.conf", "hostname"):
        (etc / name).write_text("")
    for relative in _PRUNE_DIRS:
        _empty_dir(rootfs / relative)
    for doc in (rootfs / "usr/share/doc").glob("*"):
        if doc.is_dir() and not doc.is_symlink():
            for item in doc.iterdir():
                if item.name != "copyright":
                    _remove(item)
    for locale in (rootfs / "usr/share/locale").glob("*"):
        if locale.name != "locale.alias":
            _remove(locale)
    for log in (rootfs / "var/log").rglob("*"):
        if log.is_file():
            log.unlink()
    for state in ("var/lib/dpkg", "var/cache/debconf"):
        for old in (rootfs / state).glob("*-old"):
            old.unlink()
    (rootfs / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
    (rootfs / "var/lib/apt/lists/partial").mkdir(parents=True, exist_ok=True)


def _empty_dir(path: Path) -> None:
    if path.is_dir():
        for item in path.iterdir():
            _remove(item)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(_CHUNK):
        yield chunk


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
