"""Getting an image onto a host: pushed to and pulled from a registry, or with no registry at all
streamed over the SSH connection (`docker save` here into `docker load` there), skipped when the
host already has the very same image.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

from stackctl.deploy.errors import DeployFailed

if TYPE_CHECKING:
    import docker
    from rich.progress import Progress, TaskID

Shipped = Literal["present", "streamed", "pulled"]
_CHUNK = 1 << 20


def image_id(client: docker.DockerClient, ref: str) -> str | None:
    from docker.errors import ImageNotFound

    try:
        return str(client.api.inspect_image(ref)["Id"])
    except ImageNotFound:
        return None


def raise_stream_errors(stream: Iterable[Mapping[str, Any]], what: str) -> None:
    """Push, pull and load answer 200 and report failures inside the stream: read it to the end."""
    for chunk in stream:
        if "error" in chunk or "errorDetail" in chunk:
            detail = chunk.get("errorDetail") or {}
            message = chunk.get("error") or detail.get("message") or "unknown error"
            raise DeployFailed(f"{what} failed: {' '.join(str(message).split())}")


def ship_image(
    local: docker.DockerClient,
    remote: docker.DockerClient,
    ref: str,
    *,
    host: str,
    registry: str = "",
    progress: Progress | None = None,
) -> Shipped:
    """Make `ref` (a local image) exist on the host under the same name and id."""
    wanted = image_id(local, ref)
    if wanted is None:
        raise DeployFailed(f"image {ref} is not in the local engine: build it first")
    if image_id(remote, ref) == wanted:
        return "present"
    if registry:
        _through_registry(local, remote, ref, registry, host)
        how: Shipped = "pulled"
    else:
        _stream(local, remote, ref, host, progress)
        how = "streamed"
    if image_id(remote, ref) != wanted:
        raise DeployFailed(f"host {host}: {ref} arrived with another image id than the local one")
    return how


def _through_registry(
    local: docker.DockerClient, remote: docker.DockerClient, ref: str, registry: str, host: str
) -> None:
    repository, _, tag = ref.rpartition(":")
    remote_repository = f"{registry.rstrip('/')}/{repository}"
    local.api.tag(ref, remote_repository, tag)
    raise_stream_errors(
        local.api.push(remote_repository, tag=tag, stream=True, decode=True),
        f"push of {remote_repository}:{tag}",
    )
    raise_stream_errors(
        remote.api.pull(remote_repository, tag=tag, stream=True, decode=True),
        f"host {host}: pull of {remote_repository}:{tag}",
    )
    remote.api.tag(f"{remote_repository}:{tag}", repository, tag)


def _stream(
    local: docker.DockerClient,
    remote: docker.DockerClient,
    ref: str,
    host: str,
    progress: Progress | None,
) -> None:
    size = int(local.api.inspect_image(ref).get("Size") or 0)
    task: TaskID | None = None
    if progress is not None:
        task = progress.add_task(f"{host}: {ref}", total=size or None)

    def chunks() -> Iterator[bytes]:
        # `save` by name, so the loaded image keeps its tag.
        for chunk in local.api.get_image(ref, chunk_size=_CHUNK):
            if progress is not None and task is not None:
                progress.advance(task, len(chunk))
            yield chunk

    try:
        raise_stream_errors(remote.api.load_image(chunks()), f"host {host}: load of {ref}")
    finally:
        if progress is not None and task is not None:
            progress.remove_task(task)
