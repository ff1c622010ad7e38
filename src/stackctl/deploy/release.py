"""What a deploy ships: the version (git commit, marked dirty), the images built by the very code
and fingerprints `invoke up` uses (an unchanged tree builds nothing), and the environment the
containers get at run time (secrets included: never in an image or a label)."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from stackctl.deploy.appdef import BLOCK, AppDefinition, SecretsBy
from stackctl.deploy.errors import DeployFailed
from stackctl.deploy.settings import DeploySettings
from stackctl.engine.models import inspect_image
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
    """A release's images in the local engine, each service's as the reference hosts get."""

    source: SourceVersion
    version: str
    roles: dict[str, str]
    """role service -> `<repository>:<version>`"""
    accessories: dict[str, str]
    """accessory service -> `<repository>:<short image id>`"""
    proxy: str | None
    image_ids: dict[str, str]
    """every shipped service -> the local image id"""

    @property
    def references(self) -> list[str]:
        """Each distinct image to ship, roles first."""
        refs = [*self.roles.values(), *self.accessories.values()]
        refs += [self.proxy] if self.proxy else []
        return list(dict.fromkeys(refs))


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
    settings: DeploySettings,
    environ: Mapping[str, str] | None = None,
    *,
    app: AppDefinition | None = None,
) -> dict[str, str]:
    """Run-time values for the roles: the secrets file (read strictly: a bad line is named, its
    value never shown), named secrets from the environment. Given at run time, over the app's
    plain values (`x-deploy.env`, `AppDefinition.role_environment`)."""
    from stackctl.compose.envfiles import read_env_file

    environ = os.environ if environ is None else environ
    env: dict[str, str] = {}
    if settings.secrets_file is not None:
        values = read_env_file(settings.secrets_file, str(settings.secrets_file), secret=True)
        env.update({k: v for k, v in values.items() if v is not None})
    # The secrets a `secrets-by` setting chooses depend on its value, which the secrets file
    # may set: read after it.
    for name in secret_names(settings, app, env):
        if name not in env and environ.get(name):
            env[name] = environ[name]
    return env


def chosen_values(
    app: AppDefinition, environment: Mapping[str, str]
) -> list[tuple[SecretsBy, str]]:
    """Each `x-deploy.secrets-by` setting with the value the roles get (DeployFailed, one line,
    when it is none of the listed values or the roles disagree)."""
    found = []
    for rule in app.secrets_by:
        values = {
            r.service: app.role_setting(r.service, environment, rule.setting) for r in app.roles
        }
        distinct = sorted(set(values.values()))
        path = f"{app.shown_as}: {BLOCK}.secrets-by.{rule.setting}"
        if len(distinct) > 1:
            shown = ", ".join(f"{role}: {value!r}" for role, value in values.items())
            raise DeployFailed(
                f"{path}: the roles get different values of {rule.setting} ({shown}): give them"
                " one (DEPLOY_SECRETS_FILE, the environment or .env); nothing was started"
            )
        value = distinct[0] if distinct else ""
        if value not in rule.needs:
            raise DeployFailed(
                f"{path}: the roles' {rule.setting}={value!r} is none of its values"
                f" ({', '.join(rule.needs)}): set {rule.setting} to one of them"
                " (DEPLOY_SECRETS_FILE, the environment or .env); nothing was started"
            )
        found.append((rule, value))
    return found


def secret_names(
    settings: DeploySettings,
    app: AppDefinition | None,
    environment: Mapping[str, str] | None = None,
) -> tuple[str, ...]:
    """The secrets a release needs: DEPLOY_SECRET_NAMES, else the app's `x-deploy.secrets` and
    those its `x-deploy.secrets-by` settings choose with the release's values `environment`."""
    if settings.secret_names is not None:
        return settings.secret_names
    if app is None:
        return ()
    chosen = [
        n for rule, value in chosen_values(app, environment or {}) for n in rule.needed(value)
    ]
    return tuple(dict.fromkeys([*app.secrets, *chosen]))


def unused_secrets(app: AppDefinition, environment: Mapping[str, str]) -> tuple[str, ...]:
    """The names `secrets-by` lists for other values only: never given to the roles."""
    unused = [n for rule, value in chosen_values(app, environment) for n in rule.unused(value)]
    return tuple(dict.fromkeys(unused))


def missing_secrets(
    settings: DeploySettings, app: AppDefinition, environment: Mapping[str, str]
) -> list[str]:
    """The secrets (`secret_names`) given neither as a value (secrets file, environment) nor as
    a compose secret file of every role: a deploy refuses before it starts anything."""
    as_files = [{s.file_name for s in app.spec(role.service).secrets} for role in app.roles]
    return [
        name
        for name in secret_names(settings, app, environment)
        if not environment.get(name) and not all(name in files for files in as_files)
    ]


def unwanted_secrets(app: AppDefinition, environment: Mapping[str, str]) -> list[str]:
    """The unused names (`unused_secrets`) given anyway: in the release's values, compose's
    `environment` of a role, or as a compose secret file of a role."""
    found = []
    for name in unused_secrets(app, environment):
        for role in app.roles:
            as_file = any(s.file_name == name for s in app.spec(role.service).secrets)
            if as_file or app.role_setting(role.service, environment, name):
                found.append(name)
                break
    return found


def check_secrets(
    settings: DeploySettings, app: AppDefinition, environment: Mapping[str, str]
) -> None:
    unwanted = unwanted_secrets(app, environment)
    if unwanted:
        rule, value = next(
            (r, v) for r, v in chosen_values(app, environment) if unwanted[0] in r.unused(v)
        )
        raise DeployFailed(
            f"secret {unwanted[0]} is given but {rule.setting}={value} does not use it"
            f" ({app.shown_as} {BLOCK}.secrets-by): it would be a long-lived secret on every"
            f" host for nothing: remove it from {_where(settings)}, the environment and .env"
            f" (given: {', '.join(unwanted)}); nothing was started"
        )
    missing = missing_secrets(settings, app, environment)
    if missing:
        raise DeployFailed(
            f"secret {missing[0]} is missing: put it in {_where(settings)}, the environment or a"
            f" compose secret file (missing: {', '.join(missing)}); nothing was started"
        )


def _where(settings: DeploySettings) -> str:
    return f"{settings.secrets_file}" if settings.secrets_file else "DEPLOY_SECRETS_FILE"


def check_one_container_per_host(app: AppDefinition) -> None:
    """A host runs one container per role or accessory: refuse replicas it would drop."""
    for service in app.services:
        replicas = app.spec(service).replicas
        if replicas != 1:
            raise DeployFailed(
                f"{app.project.compose_file.name}: services.{service}.deploy.replicas: {replicas}:"
                f" invoke deploy runs one {service} container per host: add hosts to"
                " DEPLOY_HOSTS (or the role's hosts), or deploy to a Swarm (--target swarm)"
            )


def build_release(
    local: docker.DockerClient,
    stack: StackSettings,
    app: AppDefinition,
    console: Console,
    *,
    version: str | None = None,
    source: SourceVersion | None = None,
) -> ReleaseImages:
    """Build what the app definition ships with `invoke up`'s own build (same fingerprints, so an
    unchanged tree reuses the images `up` built) and tag the roles' images by version."""
    from stackctl.images.builds import repository_of
    from stackctl.plan.converge import image_name
    from stackctl.stack.stack import Stack

    built = Stack(local, app.project, stack, console).build(app.services)
    image_ids: dict[str, str] = {}
    for service in app.services:
        reference = image_name(app.project, app.spec(service))
        found = built.get(service)
        if found is None:
            try:
                found = inspect_image(local.api, reference).id
            except Exception:
                raise DeployFailed(
                    f"image {reference} of {service} is not in the local engine and has no"
                    f" build: load it (`docker load`) or add services.{service}.build"
                ) from None
        image_ids[service] = found
    source = source or source_version(app.project.project_dir)
    role_ids = sorted({image_ids[r.service] for r in app.roles})
    combined = role_ids[0] if len(role_ids) == 1 else hashlib.sha256("".join(role_ids).encode())
    digest = combined if isinstance(combined, str) else combined.hexdigest()
    version = version or source.release(digest)

    def tagged(service: str, tag: str) -> str:
        repository = repository_of(image_name(app.project, app.spec(service)))
        local.api.tag(image_ids[service], repository, tag)
        return f"{repository}:{tag}"

    def by_id(service: str) -> str:
        return tagged(service, image_ids[service].removeprefix("sha256:")[:12])

    return ReleaseImages(
        source=source,
        version=version,
        roles={r.service: tagged(r.service, version) for r in app.roles},
        accessories={a.service: by_id(a.service) for a in app.accessories},
        proxy=by_id(app.proxy) if app.proxy else None,
        image_ids=image_ids,
    )
