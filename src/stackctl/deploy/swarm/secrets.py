"""A service's secrets as Swarm secrets: encrypted in the swarm's raft log, given to tasks only
as files under /run/secrets, never as environment or labels.

Swarm secrets cannot change, so each is versioned by its content: `<app>_<NAME>_<fingerprint>`
(`Secret.object_name`). A changed value is a new name, so the service spec changes and Swarm
rolls it out; old versions no service uses any more are removed after a deploy.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from stackctl.deploy import labels
from stackctl.deploy.secrets import Secret
from stackctl.engine.models import Service, created_id, inspect_image

if TYPE_CHECKING:
    import docker

SECRET_LABEL = "org.aliecs.deploy.secret"  # noqa: S105 - a label key, not a secret


def ensure_secrets(manager: docker.DockerClient, app: str, secrets: list[Secret]) -> dict[str, str]:
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
    secrets: list[Secret],
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
