"""Compose `secrets:` for `invoke up`: each secret a service names is its file bind-mounted
read-only at /run/secrets/<target>, as compose does without swarm; a secret from a variable
(`environment:`) is copied in as a file there.

A bind mount keeps the host file's owner and mode (compose ignores uid/gid/mode there too):
the file must be readable by the container's user. `invoke deploy` copies secrets instead
(owner and mode set, see stackctl.deploy.secretfiles).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stackctl.compose import Project, ServiceSpec

SECRETS_DIR = "/run/secrets"


def secret_target(file_name: str) -> str:
    return file_name if file_name.startswith("/") else f"{SECRETS_DIR}/{file_name}"


def secret_mounts(project: Project, spec: ServiceSpec) -> list[dict[str, Any]]:
    """The service's `file:` secrets as mounts (the fields of converge.MountConfig)."""
    return [
        {
            "type": "bind",
            "source": str(project.secrets[secret.source].file),
            "target": secret_target(secret.file_name),
            "read_only": True,
        }
        for secret in spec.secrets
        if project.secrets[secret.source].file is not None
    ]


def secret_contents(project: Project, spec: ServiceSpec) -> list[tuple[str, bytes]]:
    """The service's `environment:` secrets as (target path, content): there is no host file to
    mount, so `up` copies them into the created container before it starts (as compose v2)."""
    found = []
    for secret in spec.secrets:
        content = project.secrets[secret.source].content
        if content is not None:
            found.append((secret_target(secret.file_name), content.get_secret_value().encode()))
    return found


def without_secrets(environment: Mapping[str, str], spec: ServiceSpec) -> dict[str, str]:
    """The environment minus variables the service also gets as secret files: the file is the
    value, and a secret must not show in `docker inspect`'s Env."""
    names = {secret.file_name for secret in spec.secrets}
    return {key: value for key, value in environment.items() if key not in names}
