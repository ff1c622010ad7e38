"""Getting an image onto a host: pushed to and pulled from a registry, or with no registry at all
streamed over the SSH connection (`docker save` here into `docker load` there, without the layers
the host already holds: see layers.py), skipped when the host already has the very same image.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from stackctl.deploy import layers
from stackctl.deploy.errors import DeployFailed
from stackctl.engine.models import inspect_image

if TYPE_CHECKING:
    import docker
    from rich.progress import Progress, TaskID

Shipped = Literal["present", "streamed", "pulled"]
_CHUNK = 1 << 20


def image_id(client: docker.DockerClient, ref: str) -> str | None:
    from docker.errors import ImageNotFound

    try:
        return inspect_image(client.api, ref).id
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
    say: Callable[[str], None] | None = None,
) -> Shipped:
    """Make `ref` (a local image) exist on the host under the same name and id; `say` hears
    how much of a streamed image had to travel."""
    wanted = image_id(local, ref)
    if wanted is None:
        raise DeployFailed(f"image {ref} is not in the local engine: build it first")
    if image_id(remote, ref) == wanted:
        return "present"
    if registry:
        _through_registry(local, remote, ref, registry, host)
        how: Shipped = "pulled"
    else:
        _stream(local, remote, ref, host, progress, say or (lambda _text: None))
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
    say: Callable[[str], None],
) -> None:
    size = inspect_image(local.api, ref).size
    task: TaskID | None = None
    if progress is not None:
        task = progress.add_task(f"{host}: saving {ref}", total=size or None)

    def advance(count: int) -> None:
        if progress is not None and task is not None:
            progress.advance(task, count)

    try:
        held = layers.chains_on(remote)
        with layers.temporary_dir() as folder:
            saved = Path(folder) / "saved.tar"
            with saved.open("wb") as file:
                # `save` by name, so the loaded image keeps its tag.
                layers.spool(local.api.get_image(ref, chunk_size=_CHUNK), file, advance)
            sending = Path(folder) / "sending.tar"
            sent, left_out = layers.trimmed(saved, held, sending)
            if progress is not None and task is not None:
                progress.update(
                    task,
                    description=f"{host}: sending {ref}",
                    completed=0,
                    total=sending.stat().st_size,
                )
            what = f"host {host}: load of {ref}"
            from docker.errors import APIError

            try:
                _load(remote, sending, what, advance)
            except (DeployFailed, APIError):
                if not left_out:
                    raise
                # A layer the host held went away meanwhile (a prune): send them all.
                _load(remote, saved, what, advance)
                sent, left_out = sent + left_out, 0
            if left_out:
                kilobytes = sending.stat().st_size // 1024
                say(
                    f"{host}: {ref}: sent {sent} layer(s), {kilobytes} kB;"
                    f" the host had the other {left_out}"
                )
    finally:
        if progress is not None and task is not None:
            progress.remove_task(task)


def _load(
    remote: docker.DockerClient, archive: Path, what: str, advance: Callable[[int], None]
) -> None:
    def chunks() -> Iterable[bytes]:
        for chunk in layers.read_in_chunks(archive):
            advance(len(chunk))
            yield chunk

    raise_stream_errors(remote.api.load_image(chunks()), what)
