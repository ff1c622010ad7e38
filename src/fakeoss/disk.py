"""fakeoss's buckets kept in a folder, so a restarted fakeoss serves what it served before.

Every change is written through as it happens, so a killed process or container loses nothing
it answered 200 for (the files are not fsynced: a machine that loses power may lose the last
writes, a trade a local fake makes for speed), one file per thing so a change rewrites only
what changed::

    ROOT/BUCKET/bucket.json                    ACL and creation time
    ROOT/BUCKET/objects/HASH.bin, HASH.json    an object's bytes, then its record (key inside)
    ROOT/BUCKET/uploads/ID/upload.json         a multipart upload in progress
    ROOT/BUCKET/uploads/ID/N.bin, N.json       its parts

A record is written after its bytes and replaced atomically, so it is the commit: bytes
without a record (a write cut short) are ignored and removed at load. Keys name files by
their SHA-256, since a key may hold anything a file name cannot.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .records import ObjectRecord, PartRecord, UploadRecord

_DATES = ("last_modified", "initiated")


class DataFolderError(Exception):
    """The data folder cannot be used (not writable, or holds something fakeoss did not write)."""


@dataclass
class SavedUpload:
    upload: UploadRecord
    parts: list[tuple[PartRecord, bytes]]


@dataclass
class SavedBucket:
    name: str
    acl: str
    created: datetime
    objects: list[tuple[ObjectRecord, bytes]]
    uploads: list[SavedUpload]


def _encode(record: Any) -> bytes:
    fields = dataclasses.asdict(record)
    for name in _DATES:
        if name in fields:
            fields[name] = fields[name].isoformat()
    if isinstance(record, PartRecord):
        fields["md5"] = record.md5.hex()
    return json.dumps(fields, sort_keys=True).encode()


def _decode(kind: type[Any], data: bytes) -> Any:
    fields = json.loads(data)
    for name in _DATES:
        if name in fields:
            fields[name] = datetime.fromisoformat(fields[name])
    if kind is PartRecord:
        fields["md5"] = bytes.fromhex(fields["md5"])
    return kind(**fields)


def _write(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def _name(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class DataFolder:
    """Where one fakeoss keeps its buckets; the Store calls it on every change."""

    def __init__(self, root: Path) -> None:
        self.root = root
        try:
            root.mkdir(parents=True, exist_ok=True)
            probe = root / ".fakeoss-write-check"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as error:
            raise DataFolderError(
                f"data folder {root} is not writable ({error.strerror}): "
                "give fakeoss a folder it can write, or run it without --data-dir"
            ) from None

    # --- buckets ------------------------------------------------------------

    def _bucket(self, name: str) -> Path:
        # Bucket names are checked before they get here; a path must never come out of one.
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            raise DataFolderError(f"bucket name {name!r} cannot name a folder")
        return self.root / name

    def save_bucket(self, name: str, acl: str, created: datetime) -> None:
        folder = self._bucket(name)
        (folder / "objects").mkdir(parents=True, exist_ok=True)
        (folder / "uploads").mkdir(exist_ok=True)
        info = {"acl": acl, "created": created.isoformat()}
        _write(folder / "bucket.json", json.dumps(info).encode())

    def delete_bucket(self, name: str) -> None:
        shutil.rmtree(self._bucket(name), ignore_errors=True)

    # --- objects ------------------------------------------------------------

    def save_object(self, bucket: str, record: ObjectRecord, value: bytes | None) -> None:
        """The object's record, and its bytes unless ``value`` is None (a record-only change)."""
        base = self._bucket(bucket) / "objects" / _name(record.key)
        if value is not None:
            _write(base.with_suffix(".bin"), value)
        _write(base.with_suffix(".json"), _encode(record))

    def delete_object(self, bucket: str, key: str) -> None:
        base = self._bucket(bucket) / "objects" / _name(key)
        base.with_suffix(".json").unlink(missing_ok=True)
        base.with_suffix(".bin").unlink(missing_ok=True)

    # --- multipart uploads --------------------------------------------------

    def save_upload(self, bucket: str, upload: UploadRecord) -> None:
        folder = self._bucket(bucket) / "uploads" / upload.upload_id
        folder.mkdir(parents=True, exist_ok=True)
        _write(folder / "upload.json", _encode(upload))

    def save_part(self, bucket: str, upload_id: str, part: PartRecord, data: bytes) -> None:
        folder = self._bucket(bucket) / "uploads" / upload_id
        _write(folder / f"{part.number}.bin", data)
        _write(folder / f"{part.number}.json", _encode(part))

    def delete_upload(self, bucket: str, upload_id: str) -> None:
        shutil.rmtree(self._bucket(bucket) / "uploads" / upload_id, ignore_errors=True)

    # --- loading ------------------------------------------------------------

    def load(self) -> Iterator[SavedBucket]:
        """Every bucket saved here, with its objects and uploads in progress."""
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir()):
            info_path = folder / "bucket.json"
            if not info_path.is_file():
                continue  # a bucket whose creation was cut short
            try:
                info = json.loads(info_path.read_bytes())
                yield SavedBucket(
                    name=folder.name,
                    acl=info["acl"],
                    created=datetime.fromisoformat(info["created"]),
                    objects=list(self._objects(folder / "objects")),
                    uploads=list(self._uploads(folder / "uploads")),
                )
            except (OSError, ValueError, KeyError, TypeError) as error:
                raise DataFolderError(
                    f"data folder {self.root}: bucket {folder.name} cannot be read ({error}): "
                    "move the folder aside or give fakeoss another --data-dir"
                ) from None

    def _objects(self, folder: Path) -> Iterator[tuple[ObjectRecord, bytes]]:
        for path in sorted(folder.glob("*.bin")):
            record_path = path.with_suffix(".json")
            if not record_path.is_file():
                path.unlink()  # bytes whose record never came: a write cut short
                continue
            yield _decode(ObjectRecord, record_path.read_bytes()), path.read_bytes()

    def _uploads(self, folder: Path) -> Iterator[SavedUpload]:
        for upload_folder in sorted(p for p in folder.iterdir() if p.is_dir()):
            record_path = upload_folder / "upload.json"
            if not record_path.is_file():
                continue
            parts = []
            for path in upload_folder.glob("*.bin"):
                part_path = path.with_suffix(".json")
                if part_path.is_file():
                    parts.append((_decode(PartRecord, part_path.read_bytes()), path.read_bytes()))
            parts.sort(key=lambda item: item[0].number)
            yield SavedUpload(_decode(UploadRecord, record_path.read_bytes()), parts)
