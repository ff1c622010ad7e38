"""A service's secrets as Swarm secrets: encrypted in the swarm's raft log, given to tasks only
as files under /run/secrets, never as environment or labels.

Swarm secrets cannot change, so each is versioned by its content: `<app>_<NAME>_<fingerprint>`.
A changed value is a new name, so the service spec changes and Swarm rolls it out; old versions
no service uses any more are removed after a deploy. The fingerprint is a slow salted hash
(PBKDF2), so a secret's name does not offer a cheap way to test guesses of its value.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stackctl.compose import Project, ServiceSpec
from stackctl.deploy import labels
from stackctl.deploy.secretfiles import DEFAULT_MODE, secret_files
from stackctl.engine.models import Service, created_id, inspect_image

if TYPE_CHECKING:
    import docker

SECRET_LABEL = "org.aliecs.deploy.secret"  # noqa: S105 - a label key, not a secret
_ROUNDS = 50_000


@dataclass(frozen=True)
class SwarmSecret:
    file_name: str
    """The file under /run/secrets (the setting's name for the app)."""
    content: bytes
    uid: str | None
    gid: str | None
    mode: int

    def object_name(self, app: str) -> str:
        salt = f"{app}/{self.file_name}".encode()
        digest = hashlib.pbkdf2_hmac("sha256", self.content, salt, _ROUNDS)[:6].hex()
        return f"{app}_{self.file_name}_{digest}"[:64]


def service_secrets(
    project: Project,
    spec: ServiceSpec,
    values: Mapping[str, str],
) -> list[SwarmSecret]:
    """The compose secret files of the service, then `values` (the deploy's secrets file and
    named environment secrets) for names it does not already get as a file."""
    found = [
        SwarmSecret(file.name, file.content, file.uid, file.gid, file.mode)
        for file in secret_files(project, spec)
    ]
    names = {s.file_name for s in found}
    found += [
        SwarmSecret(name, value.encode(), None, None, DEFAULT_MODE)
        for name, value in sorted(values.items())
        if name not in names
    ]
    return found


def ensure_secrets(
    manager: docker.DockerClient, app: str, secrets: list[SwarmSecret]
) -> dict[str, str]:
    """Create the versions the swarm lacks; object name -> secret id for each."""
    existing = {
        s.name: s.id for s in manager.secrets.list(filters={"label": f"{labels.APP}={app}"})
    }
    ids = {}
    for secret in secrets:
        name = secret.object_name(app)
        if name not in existing:
            created = manager.secrets.create(
                name=name,
                data=secret.content,
                labels={labels.APP: app, SECRET_LABEL: secret.file_name},
            )
            existing[name] = created.id
        ids[name] = existing[name]
    return ids


def secret_references(
    app: str,
    secrets: list[SwarmSecret],
    ids: Mapping[str, str],
    default_ids: tuple[str, str],
) -> list[dict[str, Any]]:
    """The TaskTemplate.ContainerSpec.Secrets entries; files owned by the image's user unless
    the compose entry says otherwise."""
    references = []
    for secret in secrets:
        name = secret.object_name(app)
        references.append(
            {
                "SecretID": ids.get(name, f"<new {name}>"),
                "SecretName": name,
                "File": {
                    "Name": secret.file_name,
                    "UID": secret.uid or default_ids[0],
                    "GID": secret.gid or default_ids[1],
                    "Mode": secret.mode,
                },
            }
        )
    return references


def image_user_ids(local: docker.DockerClient, image: str) -> tuple[str, str]:
    """uid and gid of the image's USER, read from the image's /etc/passwd in the local engine
    (a created, never started container)."""
    from stackctl.deploy.secretfiles import user_ids

    user = inspect_image(local.api, image).user or "0"
    if ":" not in user and user.isdigit():
        return user, user
    helper = created_id(local.api.create_container(image, command=["true"], entrypoint=[]))
    try:
        uid, gid = user_ids(local, helper, user)
    finally:
        local.api.remove_container(helper, force=True)
    return str(uid), str(gid)


def prune_secrets(manager: docker.DockerClient, app: str) -> list[str]:
    """Remove this app's secret versions no service refers to; their names."""
    from docker.errors import APIError

    used: set[str] = set()
    for service in manager.services.list(filters={"label": f"{labels.APP}={app}"}):
        used |= Service(service).secret_ids
    removed = []
    for secret in manager.secrets.list(filters={"label": f"{labels.APP}={app}"}):
        if secret.id in used:
            continue
        with contextlib.suppress(APIError):
            secret.remove()
            removed.append(secret.name)
    return removed
