"""Sending only the layers a host lacks.

`docker save` writes every layer of an image; `docker load` reads a layer's file only when the
engine does not already hold that layer (it looks the layer up by its chain id first). So a
saved image whose files for the layers the host has are left out loads the same image, and a
source change ships its small top layer instead of the whole image.

The save is spooled to a local temporary file because its manifest comes last in the stream;
the trimmed archive is written to a second one and sent from there.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from stackctl.engine.models import ArchiveEntry, Image, inspect_image

if TYPE_CHECKING:
    import docker

_CHUNK = 1 << 20
_MAX_IMAGES_INSPECTED = 200


def chain_ids(diff_ids: list[str]) -> list[str]:
    """The chain id of each layer of an image (OCI: the digest over the ids of the layers
    below it and its own), which is how an engine knows whether it holds a layer."""
    chains: list[str] = []
    for diff_id in diff_ids:
        if not chains:
            chains.append(diff_id)
        else:
            joined = f"{chains[-1]} {diff_id}".encode()
            chains.append("sha256:" + hashlib.sha256(joined).hexdigest())
    return chains


def chains_on(client: docker.DockerClient) -> set[str]:
    """Every layer chain the engine's images hold."""
    from docker.errors import NotFound

    held: set[str] = set()
    for summary in map(Image, client.api.images(all=False)[:_MAX_IMAGES_INSPECTED]):
        # An image removed meanwhile holds nothing.
        with contextlib.suppress(NotFound):
            held.update(chain_ids(inspect_image(client.api, summary.id).layers))
    return held


def spool(chunks: Iterable[bytes], into: IO[bytes], advance: Callable[[int], None]) -> None:
    for chunk in chunks:
        into.write(chunk)
        advance(len(chunk))
    into.flush()


def trimmed(saved: Path, held: set[str], into: Path) -> tuple[int, int]:
    """Copy the archive at `saved` to `into` without the files of layers in `held`; the
    (layers sent, layers left out)."""
    with tarfile.open(saved) as source:
        manifest = ArchiveEntry.read(json.load(_member(source, "manifest.json")))
        skipped: set[str] = set()
        for entry in manifest:
            config = json.load(_member(source, entry.config))
            chains = chain_ids(list(config["rootfs"]["diff_ids"]))
            skipped.update(
                path for path, chain in zip(entry.layers, chains, strict=False) if chain in held
            )
        total = sum(len(entry.layers) for entry in manifest)
        with tarfile.open(into, "w", format=tarfile.PAX_FORMAT) as target:
            for member in source:
                if member.name in skipped:
                    continue
                data = source.extractfile(member) if member.isfile() else None
                target.addfile(member, data)
    return total - len(skipped), len(skipped)


def _member(archive: tarfile.TarFile, name: str) -> IO[bytes]:
    extracted = archive.extractfile(name)
    if extracted is None:
        raise KeyError(name)
    return extracted


def read_in_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            yield chunk


def temporary_dir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="stackctl-ship-")
