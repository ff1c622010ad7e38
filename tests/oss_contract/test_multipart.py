"""Multipart uploads with OSS's 100 KB minimum part size."""

from __future__ import annotations

import os

import oss2
import pytest

PART = 100 * 1024


def _upload(bucket: oss2.Bucket, key: str, chunks: list[bytes]) -> tuple[str, list]:  # type: ignore[type-arg]
    upload_id = bucket.init_multipart_upload(key).upload_id
    parts = []
    for number, chunk in enumerate(chunks, start=1):
        result = bucket.upload_part(key, upload_id, number, chunk)
        parts.append(
            oss2.models.PartInfo(number, result.etag, size=len(chunk), part_crc=result.crc)
        )
    return upload_id, parts


def test_multipart_with_100_kb_parts_assembles_the_object(bucket: oss2.Bucket, prefix: str) -> None:
    chunks = [os.urandom(PART), os.urandom(PART), b"tail"]
    upload_id, parts = _upload(bucket, prefix + "big", chunks)

    bucket.complete_multipart_upload(prefix + "big", upload_id, parts)

    result = bucket.get_object(prefix + "big")
    assert (result.read(), result.object_type) == (b"".join(chunks), "Multipart")


def test_a_part_below_100_kb_before_the_last_is_entity_too_small(
    bucket: oss2.Bucket, prefix: str
) -> None:
    upload_id, parts = _upload(bucket, prefix + "small", [b"x" * (PART - 1), b"y"])

    with pytest.raises(oss2.exceptions.OssError) as raised:
        bucket.complete_multipart_upload(prefix + "small", upload_id, parts)

    assert (raised.value.status, raised.value.code) == (400, "EntityTooSmall")


def test_list_parts_reports_the_uploaded_parts(bucket: oss2.Bucket, prefix: str) -> None:
    upload_id, parts = _upload(bucket, prefix + "lp", [os.urandom(PART), b"end"])

    listed = bucket.list_parts(prefix + "lp", upload_id).parts

    assert [(p.part_number, p.etag, p.size) for p in listed] == [
        (p.part_number, p.etag, p.size) for p in parts
    ]


def test_list_multipart_uploads_shows_an_open_upload(bucket: oss2.Bucket, prefix: str) -> None:
    upload_id = bucket.init_multipart_upload(prefix + "open").upload_id

    uploads = bucket.list_multipart_uploads(prefix=prefix).upload_list

    assert [(u.key, u.upload_id) for u in uploads] == [(prefix + "open", upload_id)]


def test_aborted_upload_is_gone(bucket: oss2.Bucket, prefix: str) -> None:
    upload_id, _ = _upload(bucket, prefix + "ab", [b"x"])

    bucket.abort_multipart_upload(prefix + "ab", upload_id)

    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.list_parts(prefix + "ab", upload_id)


def test_part_number_over_10000_is_invalid_argument(bucket: oss2.Bucket, prefix: str) -> None:
    upload_id = bucket.init_multipart_upload(prefix + "n").upload_id

    with pytest.raises(oss2.exceptions.OssError) as raised:
        bucket.upload_part(prefix + "n", upload_id, 10001, b"x")

    assert (raised.value.status, raised.value.code) == (400, "InvalidArgument")


def test_multipart_metadata_set_at_init_is_on_the_object(bucket: oss2.Bucket, prefix: str) -> None:
    key = prefix + "meta"
    upload_id = bucket.init_multipart_upload(key, headers={"x-oss-meta-album": "summer"}).upload_id
    part = bucket.upload_part(key, upload_id, 1, b"only")

    bucket.complete_multipart_upload(key, upload_id, [oss2.models.PartInfo(1, part.etag)])

    assert bucket.head_object(key).headers["x-oss-meta-album"] == "summer"
