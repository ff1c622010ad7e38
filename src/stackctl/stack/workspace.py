"""Where a command starts: the project folder's settings and compose file, read and validated."""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from stackctl.compose import Project, load_project
from stackctl.compose.envfiles import read_dotenv
from stackctl.errors import ComposeError
from stackctl.gcpause import paused_gc
from stackctl.settings import StackSettings, load_settings
from stackctl.tls.overrides import compose_environment, override_file
from stackctl.tls.settings import HttpsSettings, load_https_settings


@dataclass(frozen=True)
class Workspace:
    settings: StackSettings
    project: Project
    https: HttpsSettings = field(default_factory=HttpsSettings)


def load_workspace(
    project_dir: Path,
    *,
    environ: Mapping[str, str] | None = None,
    compose_file: str = "compose.yaml",
    profiles: Collection[str] = (),
    mode: str | None = None,
    services: Collection[str] = (),
) -> Workspace:
    """`profiles` (`--profile`), else COMPOSE_PROFILES from the environment or `.env`, say which
    services with profiles are active; `services` named on the command line are active whatever
    their profiles, as compose v2 has it."""
    environ = dict(os.environ if environ is None else environ)
    if mode is not None:
        environ["STACK_MODE"] = mode
    dotenv = read_dotenv(project_dir, environ)
    settings = load_settings(project_dir, environ, dotenv, compose_file)
    # An HTTPS mode merges its override over compose.yaml and gives it the values it reads.
    https = load_https_settings(project_dir, environ, dotenv)
    https_override = override_file(https, project_dir)
    for name, value in compose_environment(https, project_dir).items():
        environ.setdefault(name, value)
    if not profiles:
        listed = environ.get("COMPOSE_PROFILES", dotenv.get("COMPOSE_PROFILES", ""))
        profiles = [name.strip() for name in listed.split(",") if name.strip()]
    if not settings.compose_file.is_file():
        raise ComposeError(f"{compose_file}: no such file in {project_dir}: create it or cd there")
    with paused_gc():  # a large file's reading allocates much, and nothing of it is a cycle
        project = load_project(
            settings.compose_file,
            environ,
            project_name=settings.project_name,
            profiles=profiles,
            overrides=[*settings.override_files, *filter(None, [https_override])],
            services=services,
        )
    return Workspace(settings=settings, project=project, https=https)
