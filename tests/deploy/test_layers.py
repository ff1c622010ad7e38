"""Sending only the layers a host lacks: the chain ids an engine looks layers up by, and the
trimmed archive (a `docker save` archive without the files of layers the host holds)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

from stackctl.deploy.layers import chain_ids, trimmed


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_chain_ids_follow_the_oci_rule() -> None:
    a, b, c = digest(b"a"), digest(b"b"), digest(b"c")
    chains = chain_ids([a, b, c])
    assert chains[0] == a
    assert chains[1] == digest(f"{a} {b}".encode())
    assert chains[2] == digest(f"{chains[1]} {c}".encode())
    assert chain_ids([]) == []


def saved_archive(path: Path, layer_bodies: list[bytes]) -> list[str]:
    """A `docker save`-shaped archive of one image with these layers; its layer paths."""
    diff_ids = [digest(body) for body in layer_bodies]
    config = json.dumps({"rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    paths = [f"{index:064x}/layer.tar" for index in range(len(layer_bodies))]
    manifest = json.dumps(
        [{"Config": "config.json", "RepoTags": ["app/web:2"], "Layers": paths}]
    ).encode()
    with tarfile.open(path, "w") as tar:
        for name, body in [*zip(paths, layer_bodies, strict=True), ("config.json", config)]:
            folder = tarfile.TarInfo(name.rsplit("/", 1)[0]) if "/" in name else None
            if folder is not None:
                folder.type = tarfile.DIRTYPE
                tar.addfile(folder)
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
    return paths


def test_layers_the_host_holds_are_left_out_and_the_rest_kept_byte_for_byte(
    tmp_path: Path,
) -> None:
    bodies = [b"base" * 1000, b"venv" * 1000, b"code"]
    paths = saved_archive(tmp_path / "saved.tar", bodies)
    # The host holds the first two layers (an earlier release of the same image).
    held = set(chain_ids([digest(b) for b in bodies[:2]]))

    sent, left_out = trimmed(tmp_path / "saved.tar", held, tmp_path / "sending.tar")

    assert (sent, left_out) == (1, 2)
    with tarfile.open(tmp_path / "sending.tar") as tar:
        names = tar.getnames()
        assert paths[0] not in names
        assert paths[1] not in names
        code = tar.extractfile(paths[2])
        assert code is not None
        assert code.read() == b"code"
        assert {"manifest.json", "config.json"} <= set(names)


def test_a_layer_held_under_another_chain_is_still_sent(tmp_path: Path) -> None:
    """The same top layer over a different base is another layer to the engine."""
    bodies = [b"base-2", b"code"]
    paths = saved_archive(tmp_path / "saved.tar", bodies)
    held = set(chain_ids([digest(b"base-1"), digest(b"code")]))

    assert trimmed(tmp_path / "saved.tar", held, tmp_path / "sending.tar") == (2, 0)
    with tarfile.open(tmp_path / "sending.tar") as tar:
        assert set(paths) <= set(tar.getnames())
