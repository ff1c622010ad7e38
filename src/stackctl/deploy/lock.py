"""One deploy per host at a time: the lock is a named, never-started container.

The engine refuses a second container of the same name (409 Conflict) atomically, so creating it
is taking the lock and its labels say who holds it. It needs an image: a tiny one built FROM
scratch on the host itself, with nothing in it.
"""

from __future__ import annotations

import getpass
import io
import socket
import tarfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from stackctl.deploy import labels
from stackctl.deploy.errors import DeployLocked
from stackctl.engine.models import inspect_container

if TYPE_CHECKING:
    import docker

LOCK_IMAGE = "stackctl/deploy-lock:1"


@dataclass(frozen=True)
class LockInfo:
    holder: str
    since: float
    message: str

    def describe(self) -> str:
        when = datetime.fromtimestamp(self.since, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
        age = int(time.time() - self.since)
        text = f"held by {self.holder} since {when} ({age}s ago)"
        return f"{text}: {self.message}" if self.message else text


def lock_name(app: str) -> str:
    return f"{app}-deploy-lock"


def default_holder() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def ensure_lock_image(client: docker.DockerClient) -> None:
    from docker.errors import ImageNotFound

    try:
        client.api.inspect_image(LOCK_IMAGE)
        return
    except ImageNotFound:
        pass
    dockerfile = b'FROM scratch\nLABEL org.aliecs.deploy.role=lock\nCMD ["held"]\n'
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
    buffer.seek(0)
    for chunk in client.api.build(fileobj=buffer, custom_context=True, tag=LOCK_IMAGE, decode=True):
        if "error" in chunk:
            raise DeployLocked(f"cannot create the lock image on the host: {chunk['error']}")


def read_lock(client: docker.DockerClient, app: str) -> LockInfo | None:
    from docker.errors import NotFound

    try:
        held = inspect_container(client.api, lock_name(app)).labels
    except NotFound:
        return None
    return LockInfo(
        holder=held.get(labels.LOCK_HOLDER, "?"),
        since=float(held.get(labels.LOCK_SINCE, "0") or 0),
        message=held.get(labels.LOCK_MESSAGE, ""),
    )


def acquire_lock(
    client: docker.DockerClient, app: str, host: str, *, holder: str, message: str
) -> LockInfo:
    """Take the host's lock or raise DeployLocked naming who holds it."""
    from docker.errors import APIError

    ensure_lock_image(client)
    info = LockInfo(holder=holder, since=time.time(), message=message)
    try:
        client.api.create_container(
            LOCK_IMAGE,
            name=lock_name(app),
            labels={
                labels.APP: app,
                labels.ROLE: "lock",
                labels.LOCK_HOLDER: info.holder,
                labels.LOCK_SINCE: f"{info.since:.0f}",
                labels.LOCK_MESSAGE: info.message,
            },
        )
    except APIError as exc:
        if exc.status_code != 409:
            raise
        held = read_lock(client, app)
        what = held.describe() if held else "held by another deploy"
        raise DeployLocked(
            f"host {host}: deploy lock {what}; `invoke deploy.lock --release` clears a stale one"
        ) from None
    return info


def release_lock(client: docker.DockerClient, app: str) -> bool:
    """Remove the lock; False when there was none."""
    from docker.errors import NotFound

    try:
        client.api.remove_container(lock_name(app), force=True)
    except NotFound:
        return False
    return True
