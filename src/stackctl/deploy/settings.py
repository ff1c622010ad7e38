"""Deploy settings: one validated object, from the environment, then .env, then defaults."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from stackctl.errors import SettingsError
from stackctl.tls.settings import HttpsSettings

_HOST_RE = re.compile(
    r"^(?:(?P<user>[^@\s]+)@)?(?P<host>[A-Za-z0-9_.-]+|\[[0-9a-fA-F:]+\])(?::(?P<port>\d+))?$"
)


@dataclass(frozen=True)
class HostAddress:
    """One ECS host: where its sshd answers and as whom we log in."""

    host: str
    port: int
    user: str

    @property
    def name(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"ssh://{self.user}@{self.host}:{self.port}"


class DeploySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    project_dir: Path
    # `[user@]host[:port]` each; user and port default to ssh_user and ssh_port.
    hosts: tuple[str, ...] = Field(min_length=1)
    ssh_user: str = "root"
    ssh_port: int = Field(default=22, ge=1, le=65535)
    # A private key file; None: paramiko's defaults (~/.ssh/config IdentityFile, agent, id_*).
    ssh_key: Path | None = None
    # Host keys are checked against this file (default ~/.ssh/known_hosts); a host seen for the
    # first time is added to it (OpenSSH's StrictHostKeyChecking=accept-new), a changed key fails.
    ssh_known_hosts: Path | None = None
    app: str = Field(default="aliecs", pattern=r"^[a-z0-9][a-z0-9_-]*$")
    # Where each host publishes the app (nginx): address and port on the host.
    http_host: str = "0.0.0.0"
    http_port: int = Field(default=80, ge=1, le=65535)
    # Where each host publishes port 443 (on http_host) when its proxy terminates TLS.
    https_port: int = Field(default=443, ge=1, le=65535)
    # How the hosts meet HTTPS (deploy/https.py, README "HTTPS"): the local stack's settings,
    # DEPLOY_HTTPS choosing another mode than `invoke up`'s STACK_HTTPS.
    https: HttpsSettings = Field(default_factory=HttpsSettings)
    # A dotenv file of secrets and run-time settings for the web containers.
    secrets_file: Path | None = None
    # Taken from the environment when the secrets file does not name them.
    # None: the names compose.yaml's `x-deploy.secrets` lists (what the app refuses to start
    # without); DEPLOY_SECRET_NAMES replaces them.
    secret_names: tuple[str, ...] | None = None
    keep_releases: int = Field(default=5, ge=1)
    batch_size: int = Field(default=1, ge=1)
    # "registry.example.com/namespace": build, push there and pull on the hosts; empty: stream
    # the image over SSH.
    registry: str = ""
    health_timeout: float = Field(default=60.0, gt=0)
    # How long the old container keeps running after the proxy switched away from it.
    drain_seconds: float = Field(default=2.0, ge=0)
    stop_timeout: int = Field(default=10, ge=0)
    # A role without a health check (a worker) is ready once it ran this long without exiting.
    settle_seconds: float = Field(default=3.0, ge=0)
    # A compose file merged over compose.yaml for deploys only (as `docker compose -f a -f b`).
    compose_override: Path | None = None
    # A one-off command run from the new image before the cutover (migrations); shell words.
    release_command: str = ""

    @field_validator("hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(h.strip() for h in value.split(",") if h.strip())
        return value

    @field_validator("hosts")
    @classmethod
    def _valid_hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for host in value:
            if not _HOST_RE.match(host):
                raise ValueError(f"{host!r} is not [user@]host[:port]")
        if len(set(value)) != len(value):
            raise ValueError("a host is named twice")
        return value

    @field_validator("secrets_file", "compose_override")
    @classmethod
    def _readable(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a file")
        return value

    @property
    def addresses(self) -> list[HostAddress]:
        found = []
        for host in self.hosts:
            match = _HOST_RE.match(host)
            assert match is not None  # validated above
            found.append(
                HostAddress(
                    host=match["host"],
                    port=int(match["port"] or self.ssh_port),
                    user=match["user"] or self.ssh_user,
                )
            )
        return found


ENV_NAMES = {
    "DEPLOY_HOSTS": "hosts",
    "DEPLOY_SSH_USER": "ssh_user",
    "DEPLOY_SSH_PORT": "ssh_port",
    "DEPLOY_SSH_KEY": "ssh_key",
    "DEPLOY_SSH_KNOWN_HOSTS": "ssh_known_hosts",
    "DEPLOY_APP": "app",
    "DEPLOY_HTTP_HOST": "http_host",
    "DEPLOY_HTTP_PORT": "http_port",
    "DEPLOY_HTTPS_PORT": "https_port",
    "DEPLOY_SECRETS_FILE": "secrets_file",
    "DEPLOY_SECRET_NAMES": "secret_names",
    "DEPLOY_KEEP_RELEASES": "keep_releases",
    "DEPLOY_BATCH_SIZE": "batch_size",
    "DEPLOY_REGISTRY": "registry",
    "DEPLOY_HEALTH_TIMEOUT": "health_timeout",
    "DEPLOY_DRAIN_SECONDS": "drain_seconds",
    "DEPLOY_STOP_TIMEOUT": "stop_timeout",
    "DEPLOY_SETTLE_SECONDS": "settle_seconds",
    "DEPLOY_COMPOSE_OVERRIDE": "compose_override",
    "DEPLOY_RELEASE_COMMAND": "release_command",
}


def load_deploy_settings(
    project_dir: Path,
    environ: Mapping[str, str] | None = None,
    dotenv: Mapping[str, str] | None = None,
    overrides: Mapping[str, object] | None = None,
) -> DeploySettings:
    """Settings from overrides (task options), the environment, .env, then defaults."""
    environ = os.environ if environ is None else environ
    dotenv = dotenv or {}
    values: dict[str, object] = {"project_dir": project_dir}
    app = environ.get("COMPOSE_PROJECT_NAME") or dotenv.get("COMPOSE_PROJECT_NAME")
    if app:
        values["app"] = app
    for env_name, field in ENV_NAMES.items():
        raw = environ.get(env_name, dotenv.get(env_name))
        if raw not in (None, ""):
            values[field] = raw
    if isinstance(values.get("secret_names"), str):
        values["secret_names"] = tuple(str(values["secret_names"]).replace(",", " ").split())
    for field, value in (overrides or {}).items():
        if value not in (None, "", ()):
            values[field] = value
    if "hosts" not in values:
        raise SettingsError("no hosts to deploy to: set DEPLOY_HOSTS or give --host")
    for field in ("ssh_key", "ssh_known_hosts", "secrets_file", "compose_override"):
        if isinstance(values.get(field), str):
            path = Path(str(values[field])).expanduser()
            values[field] = path if path.is_absolute() else project_dir / path
    try:
        found = DeploySettings.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "?"
        env_name = next((k for k, v in ENV_NAMES.items() if v == field), field)
        shown = values.get(field)
        raise SettingsError(
            f"deploy setting {env_name}={shown!r} is invalid: {err['msg']}"
        ) from None
    if "https" not in values:
        from stackctl.deploy.httpsmode import load_deploy_https

        https = load_deploy_https(project_dir, environ, dotenv)
    else:
        https = found.https
    # Port 80's redirect names the published HTTPS port unless it is 443.
    return found.model_copy(
        update={"https": https.model_copy(update={"https_port": found.https_port})}
    )
