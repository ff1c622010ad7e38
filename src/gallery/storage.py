"""ImageStore: the gallery's objects in one OSS bucket.

Layout (every key is made here, never from a user's file name):

    records/<id>.json              the ImageRecord; listing this prefix is the gallery, newest first
    images/<id>/original.<ext>     the upload as sent
    images/<id>/thumb-<size>.<ext> each thumbnail

The record is written last on upload and deleted last on delete, so a listed image always has
its original, and a delete that fails half-way can simply be repeated.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import oss2
from oss2.models import PartInfo

from gallery.records import ImageRecord, is_image_id

RECORDS = "records/"
IMAGES = "images/"
JSON_TYPE = "application/json"


@dataclass(frozen=True)
class Page:
    records: list[ImageRecord]
    next_cursor: str | None


@dataclass(frozen=True)
class StoredObject:
    chunks: Iterator[bytes]
    content_type: str
    content_length: int
    etag: str | None  # None for an image processed by OSS (x-oss-process)


class ImageStore:
    def __init__(self, bucket: oss2.Bucket, *, multipart_threshold: int, part_size: int) -> None:
        self.bucket = bucket
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size

    # --- keys ---------------------------------------------------------------

    @staticmethod
    def record_key(image_id: str) -> str:
        return f"{RECORDS}{image_id}.json"

    @staticmethod
    def original_key(image_id: str, extension: str) -> str:
        return f"{IMAGES}{image_id}/original.{extension}"

    @staticmethod
    def thumbnail_key(image_id: str, size: int, extension: str) -> str:
        return f"{IMAGES}{image_id}/thumb-{size}.{extension}"

    # --- objects ------------------------------------------------------------

    def put_original(self, key: str, stream: IO[bytes], *, size: int, content_type: str) -> None:
        """Store the upload; above the threshold as a multipart upload, one part in memory."""
        # OSS serves this header with the object (IMAGE_DELIVERY=redirect): a stored file is
        # shown as the image it is, never rendered as a page.
        name = key.replace("/", "-")
        headers = {
            "Content-Type": content_type,
            "Content-Disposition": f'inline; filename="{name}"',
        }
        stream.seek(0)
        if size <= self.multipart_threshold:
            self.bucket.put_object(key, stream.read(), headers=headers)
            return
        upload_id = self.bucket.init_multipart_upload(key, headers=headers).upload_id
        try:
            parts = []
            number = 1
            while chunk := stream.read(self.part_size):
                result = self.bucket.upload_part(key, upload_id, number, chunk)
                parts.append(PartInfo(number, result.etag))
                number += 1
            self.bucket.complete_multipart_upload(key, upload_id, parts)
        except BaseException:
            self._abort_quietly(key, upload_id)
            raise

    def _abort_quietly(self, key: str, upload_id: str) -> None:
        # If OSS is what failed, the parts stay until a lifecycle rule expires them.
        with contextlib.suppress(oss2.exceptions.OssError):
            self.bucket.abort_multipart_upload(key, upload_id)

    def put_bytes(self, key: str, data: bytes, *, content_type: str) -> None:
        headers = {"Content-Type": content_type}
        if content_type.startswith("image/"):
            headers["Content-Disposition"] = f'inline; filename="{key.replace("/", "-")}"'
        self.bucket.put_object(key, data, headers=headers)

    def open(self, key: str, process: str | None = None) -> StoredObject | None:
        try:
            result = self.bucket.get_object(key, process=process)
        except oss2.exceptions.NoSuchKey:
            return None
        return StoredObject(
            chunks=_chunks(result),
            content_type=result.headers.get("Content-Type", "application/octet-stream"),
            content_length=int(result.headers.get("Content-Length", 0)),
            etag=result.etag,
        )

    def read(self, key: str) -> bytes | None:
        try:
            data: bytes = self.bucket.get_object(key).read()
        except oss2.exceptions.NoSuchKey:
            return None
        return data

    def signed_url(self, key: str, seconds: int, process: str | None = None) -> str:
        params = {"x-oss-process": process} if process else None
        url: str = self.bucket.sign_url("GET", key, seconds, slash_safe=True, params=params)
        return url

    # --- records ------------------------------------------------------------

    def save_record(self, record: ImageRecord) -> str:
        """Write the record; return its ETag (the index keeps it to see what changed)."""
        result = self.bucket.put_object(
            self.record_key(record.id),
            record.model_dump_json().encode(),
            headers={"Content-Type": JSON_TYPE},
        )
        etag: str = result.etag
        return etag

    def get_record(self, image_id: str) -> ImageRecord | None:
        if not is_image_id(image_id):
            return None
        data = self.read(self.record_key(image_id))
        return None if data is None else ImageRecord.model_validate_json(data)

    def list_records(self, *, limit: int, cursor: str | None = None) -> Page:
        """One page of records, newest first; `cursor` is the last id of the previous page."""
        marker = self.record_key(cursor) if cursor else ""
        listing = self.bucket.list_objects(prefix=RECORDS, marker=marker, max_keys=limit)
        records = []
        for info in listing.object_list:
            data = self.read(info.key)
            if data is not None:  # deleted between the listing and the read
                records.append(ImageRecord.model_validate_json(data))
        next_cursor = None
        if listing.is_truncated and listing.object_list:
            last_key: str = listing.object_list[-1].key
            next_cursor = last_key.removeprefix(RECORDS).removesuffix(".json")
        return Page(records, next_cursor)

    def record_etags(self) -> dict[str, str]:
        """Every record's id and ETag, from listings only (1000 records per request)."""
        found = {}
        for info in oss2.ObjectIterator(self.bucket, prefix=RECORDS, max_keys=1000):
            image_id = info.key.removeprefix(RECORDS).removesuffix(".json")
            if is_image_id(image_id):
                found[image_id] = info.etag
        return found

    def orphans(self, *, older_than: float) -> list[str]:
        """Keys under images/ whose image has no record and that were last written before
        `older_than` (a Unix time): what a failed upload left behind."""
        with_records = set(self.record_etags())
        found = []
        for info in oss2.ObjectIterator(self.bucket, prefix=IMAGES, max_keys=1000):
            image_id = info.key.removeprefix(IMAGES).split("/", 1)[0]
            if image_id not in with_records and info.last_modified < older_than:
                found.append(info.key)
        return found

    def delete_image(self, image_id: str) -> bool:
        """Delete every object of the image, its record last. False if there was no record."""
        if not is_image_id(image_id):
            return False
        record_key = self.record_key(image_id)
        if not self.bucket.object_exists(record_key):
            return False
        self.delete_objects(self.keys_of(image_id))
        self.bucket.delete_object(record_key)
        return True

    def keys_of(self, image_id: str) -> list[str]:
        prefix = f"{IMAGES}{image_id}/"
        return [info.key for info in oss2.ObjectIterator(self.bucket, prefix=prefix)]

    def delete_objects(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):  # OSS deletes at most 1000 keys per request
            self.bucket.batch_delete_objects(keys[start : start + 1000])


def _chunks(result: Any, size: int = 64 * 1024) -> Iterator[bytes]:
    try:
        while chunk := result.read(size):
            yield chunk
    finally:
        result.close()
