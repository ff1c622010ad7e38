"""Stack settings: one validated place, read from the environment and the project's .env file.

Every value here is a build or run setting a user may need to change: base images (registries are
slow or blocked in China, so a mirror or ACR name goes here), package mirrors, timeouts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stackctl.errors import SettingsError

DEFAULT_PYTHON_BASE = "python:3.11-slim-bookworm"
DEFAULT_NGINX_BASE = "nginx:1.25-bookworm"
DEFAULT_REDIS_BASE = "redis:7-bookworm"
DEVELOP_OVERRIDE = "containers/compose.develop.yaml"
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


class StackSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    project_dir: Path
    compose_file: Path
    # None: compose.yaml's `name`, else the folder's name (compose's own rule).
    project_name: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    python_base_image: str = DEFAULT_PYTHON_BASE
    nginx_base_image: str = DEFAULT_NGINX_BASE
    redis_base_image: str = DEFAULT_REDIS_BASE
    debian_mirror: str = "http://deb.debian.org/debian"
    pip_index_url: str = ""
    # A CA bundle pip must trust inside builds (a TLS-inspecting proxy). Given to the build stage
    # only, never to the final image.
    build_ca_bundle: Path | None = None
    # develop: containers/compose.develop.yaml is merged over compose.yaml (code mounted, reload);
    # production: compose.yaml alone, code baked into the images.
    mode: Literal["develop", "production"] = "develop"
    health_timeout: float = Field(default=120.0, gt=0)
    # Images built side by side by `up`/`build` (builds of one Dockerfile still go in turn).
    build_parallel: int = Field(default=2, ge=1, le=32)
    docker_host: str = ""

    @property
    def override_files(self) -> list[Path]:
        override = self.project_dir / DEVELOP_OVERRIDE
        return [override] if self.mode == "develop" and override.is_file() else []

    @property
    def base_images(self) -> dict[str, str]:
        return {
            "python": self.python_base_image,
            "nginx": self.nginx_base_image,
            "redis": self.redis_base_image,
        }


# Environment variable -> field, kept explicit so `invoke doctor` and the README name the same.
ENV_NAMES = {
    "COMPOSE_PROJECT_NAME": "project_name",
    "PYTHON_BASE_IMAGE": "python_base_image",
    "NGINX_BASE_IMAGE": "nginx_base_image",
    "REDIS_BASE_IMAGE": "redis_base_image",
    "DEBIAN_MIRROR": "debian_mirror",
    "PIP_INDEX_URL": "pip_index_url",
    "BUILD_CA_BUNDLE": "build_ca_bundle",
    "STACK_MODE": "mode",
    "STACK_HEALTH_TIMEOUT": "health_timeout",
    "STACK_BUILD_PARALLEL": "build_parallel",
    "DOCKER_HOST": "docker_host",
}


def load_settings(
    project_dir: Path,
    environ: Mapping[str, str] | None = None,
    dotenv: Mapping[str, str] | None = None,
    compose_file: str = "compose.yaml",
) -> StackSettings:
    """Settings from the environment, falling back to the project's .env values, then defaults."""
    environ = os.environ if environ is None else environ
    dotenv = dotenv or {}
    values: dict[str, object] = {
        "project_dir": project_dir,
        "compose_file": project_dir / compose_file,
    }
    for env_name, field in ENV_NAMES.items():
        raw = environ.get(env_name, dotenv.get(env_name))
        if raw not in (None, ""):
            values[field] = raw
    if "build_ca_bundle" not in values:
        # pip's own setting on machines behind a TLS-inspecting proxy, else the system store:
        # only what it adds to Debian's public roots reaches a build (buildargs.extra_certificates).
        candidates = [environ.get("PIP_CERT"), environ.get("SSL_CERT_FILE"), SYSTEM_CA_BUNDLE]
        for candidate in candidates:
            if candidate and Path(candidate).is_file():
                values["build_ca_bundle"] = candidate
                break
    try:
        return StackSettings.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "?"
        env_name = next((k for k, v in ENV_NAMES.items() if v == field), field)
        raise SettingsError(
            f"setting {env_name}={values.get(field)!r} is invalid: {err['msg']}"
        ) from None
