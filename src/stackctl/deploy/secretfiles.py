"""Compose file secrets on a host: read here, written into a volume there, mounted read-only at
/run/secrets by the container that uses them.

A host has no copy of the project, so a bind mount (what `invoke up` does) cannot work. The
volume is filled through a created, never-started helper container (the engine's archive API
writes into a volume mounted in it), each file owned by the user of the container that mounts it
and mode 0400 unless the compose entry says otherwise (uid, gid, mode). Secrets never travel as
environment, image layers or labels.

The helper runs from a tiny image of one empty folder, imported on the host once: an engine that
copies an image's files for each new container (vfs) would otherwise copy the whole app image
for a helper that only holds a mount.
"""

from __future__ import annotations

import contextlib
import io
import tarfile
from typing import TYPE_CHECKING

from stackctl.deploy import labels
from stackctl.deploy.secrets import Secret
from stackctl.engine.models import created_id, inspect_container
from stackctl.plan.secretmounts import SECRETS_DIR

if TYPE_CHECKING:
    import docker

HELPER_IMAGE = "stackctl/secrets-helper:1"
_HELPER_LABEL = "io.stackctl.kind=secrets-helper"


def prepare_volume(client: docker.DockerClient, *, volume: str, app: str) -> None:
    """(Re)create `volume` empty, for a container to be created mounting it."""
    from docker.errors import NotFound

    with contextlib.suppress(NotFound):
        client.api.remove_volume(volume, force=True)
    client.api.create_volume(volume, labels={labels.APP: app, labels.KIND: "secrets"})


def ensure_helper_image(client: docker.DockerClient) -> str:
    """The helper's image on the host, imported from a one-folder archive when missing."""
    from docker.errors import ImageNotFound

    try:
        client.api.inspect_image(HELPER_IMAGE)
    except ImageNotFound:
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w") as tar:
            for folder in ("run", SECRETS_DIR.strip("/")):
                info = tarfile.TarInfo(folder)
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
        repository, _, tag = HELPER_IMAGE.rpartition(":")
        client.api.import_image_from_data(
            archive.getvalue(), repository=repository, tag=tag, changes=[f"LABEL {_HELPER_LABEL}"]
        )
    return HELPER_IMAGE


def fill_secrets_volume(
    client: docker.DockerClient,
    *,
    volume: str,
    container: str,
    app: str,
    files: list[Secret],
) -> None:
    """Write `files` into `volume`, owned by the user of `container` (created, maybe never
    started, mounting the volume) unless told otherwise."""
    user = inspect_container(client.api, container).user or "0"
    default_uid, default_gid = user_ids(client, container, user)
    helper = created_id(
        client.api.create_container(
            ensure_helper_image(client),
            command=["true"],
            entrypoint=[],
            labels={labels.APP: app, labels.KIND: "secrets-helper"},
            host_config=client.api.create_host_config(binds={volume: {"bind": SECRETS_DIR}}),
        )
    )
    try:
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w") as tar:
            for file in files:
                info = tarfile.TarInfo(file.file_name)
                info.size = len(file.content)
                info.mode = file.mode
                info.uid = int(file.uid) if file.uid is not None else default_uid
                info.gid = int(file.gid) if file.gid is not None else default_gid
                tar.addfile(info, io.BytesIO(file.content))
        client.api.put_archive(helper, SECRETS_DIR, archive.getvalue())
    finally:
        client.api.remove_container(helper, force=True)


def secret_files_differ(client: docker.DockerClient, container: str, files: list[Secret]) -> bool:
    """Whether the running `container`'s secret files differ from `files` (read back through
    the archive API, compared here: nothing is written anywhere)."""
    for file in files:
        if _read_bytes(client, container, f"{SECRETS_DIR}/{file.file_name}") != file.content:
            return True
    return False


def user_ids(client: docker.DockerClient, container: str, user: str) -> tuple[int, int]:
    """uid and gid of an image's USER (`name`, `uid`, `name:group` or `uid:gid`)."""
    name, _, group = user.partition(":")
    passwd = _read(client, container, "/etc/passwd")
    uid, gid = 0, 0
    if name.isdigit():
        uid = int(name)
    for line in passwd.splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and (fields[0] == name or fields[2] == name):
            uid, gid = int(fields[2]), int(fields[3])
            break
    if group.isdigit():
        gid = int(group)
    elif group:
        for line in _read(client, container, "/etc/group").splitlines():
            fields = line.split(":")
            if len(fields) >= 3 and fields[0] == group:
                gid = int(fields[2])
    return uid, gid


def _read(client: docker.DockerClient, container: str, path: str) -> str:
    found = _read_bytes(client, container, path)
    return found.decode(errors="replace") if found is not None else ""


def _read_bytes(client: docker.DockerClient, container: str, path: str) -> bytes | None:
    from docker.errors import NotFound

    try:
        stream, _ = client.api.get_archive(container, path)
    except NotFound:
        return None
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        member = tar.next()
        extracted = tar.extractfile(member) if member is not None else None
        return extracted.read() if extracted is not None else None
