"""What a deploy ships: the version (git commit, marked dirty), the built images, the environment
the containers get at run time (secrets included: never in an image or a label)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from stackctl.deploy.settings import DeploySettings
from stackctl.errors import SettingsError

if TYPE_CHECKING:
    import docker
    from rich.console import Console

    from stackctl.settings import StackSettings


@dataclass(frozen=True)
class SourceVersion:
    commit: str
    dirty: bool

    def release(self, image_id: str | None = None) -> str:
        """A clean tree is its commit; a dirty one adds the image id, so each edit differs."""
        if not self.dirty:
            return self.commit
        suffix = f"-{image_id.removeprefix('sha256:')[:8]}" if image_id else ""
        return f"{self.commit}-dirty{suffix}"


@dataclass(frozen=True)
class ReleaseImages:
    """A release's images in the local engine: the web app and the proxy."""

    source: SourceVersion
    version: str
    web: str
    proxy: str


def source_version(project_dir: Path) -> SourceVersion:
    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=project_dir, check=True, capture_output=True, text=True
            ).stdout
        except (OSError, subprocess.CalledProcessError) as exc:
            raise SettingsError(
                f"deploy needs a git checkout: git {args[0]} failed ({exc})"
            ) from None

    commit = git("rev-parse", "--short=12", "HEAD").strip()
    dirty = bool(git("status", "--porcelain", "--untracked-files=no").strip())
    return SourceVersion(commit=commit, dirty=dirty)


def release_environment(
    settings: DeploySettings, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The web containers' environment: FLASK_CONFIG, the secrets file, named secrets from the
    environment. Given at run time only."""
    from dotenv import dotenv_values

    environ = os.environ if environ is None else environ
    env = {"FLASK_CONFIG": settings.flask_config}
    if settings.secrets_file is not None:
        env.update({k: v for k, v in dotenv_values(settings.secrets_file).items() if v is not None})
    for name in settings.secret_names:
        if name not in env and environ.get(name):
            env[name] = environ[name]
    return env


def build_release(
    local: docker.DockerClient,
    stack: StackSettings,
    settings: DeploySettings,
    console: Console,
) -> ReleaseImages:
    """Build the web (runtime target) and proxy images here and tag them by version."""
    from stackctl.images import build_image, buildargs_for

    source = source_version(settings.project_dir)
    args = buildargs_for(stack)
    web_id = build_image(
        local,
        context=settings.project_dir,
        dockerfile="containers/web/Dockerfile",
        tag=f"{settings.web_repository}:build",
        buildargs=args,
        target="runtime",
        labels={},
        console=console,
        service="web",
    )
    version = source.release(web_id)
    web = f"{settings.web_repository}:{version}"
    local.api.tag(web_id, settings.web_repository, version)
    proxy_id = build_image(
        local,
        context=settings.project_dir,
        dockerfile="containers/nginx/Dockerfile",
        tag=f"{settings.proxy_repository}:build",
        buildargs=args,
        target=None,
        labels={},
        console=console,
        service="proxy",
    )
    proxy_tag = proxy_id.removeprefix("sha256:")[:12]
    local.api.tag(proxy_id, settings.proxy_repository, proxy_tag)
    return ReleaseImages(
        source=source, version=version, web=web, proxy=f"{settings.proxy_repository}:{proxy_tag}"
    )
