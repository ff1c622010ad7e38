"""CRC64-ECMA: OSS reports it on writes and reads, and oss2 checks it."""

from __future__ import annotations

import os

import oss2
from oss2.utils import Crc64


def _crc64(data: bytes) -> int:
    crc = Crc64()
    crc.update(data)
    return int(crc.crc)


def test_put_reports_the_crc64_of_the_content(bucket: oss2.Bucket, prefix: str) -> None:
    data = os.urandom(4096)

    result = bucket.put_object(prefix + "c", data)

    assert result.crc == _crc64(data)


def test_get_reports_a_crc64_that_oss2_verifies(bucket: oss2.Bucket, prefix: str) -> None:
    data = os.urandom(4096)
    bucket.put_object(prefix + "c", data)

    result = bucket.get_object(prefix + "c")
    body = result.read()

    assert body == data
    assert result.server_crc == result.client_crc == _crc64(data)


def test_upload_part_reports_the_crc64_of_the_part(bucket: oss2.Bucket, prefix: str) -> None:
    data = os.urandom(100 * 1024)
    upload_id = bucket.init_multipart_upload(prefix + "mp").upload_id

    result = bucket.upload_part(prefix + "mp", upload_id, 1, data)

    assert result.crc == _crc64(data)


def test_complete_reports_the_crc64_of_the_whole_object(bucket: oss2.Bucket, prefix: str) -> None:
    chunks = [os.urandom(100 * 1024), os.urandom(1000)]
    upload_id = bucket.init_multipart_upload(prefix + "mp").upload_id
    parts = []
    for number, chunk in enumerate(chunks, start=1):
        up = bucket.upload_part(prefix + "mp", upload_id, number, chunk)
        parts.append(oss2.models.PartInfo(number, up.etag, size=len(chunk), part_crc=up.crc))

    result = bucket.complete_multipart_upload(prefix + "mp", upload_id, parts)

    assert result.crc == _crc64(b"".join(chunks))


def test_append_reports_the_crc64_of_the_whole_object(bucket: oss2.Bucket, prefix: str) -> None:
    first = bucket.append_object(prefix + "a", 0, b"abc")

    second = bucket.append_object(prefix + "a", first.next_position, b"def", init_crc=first.crc)

    assert second.crc == _crc64(b"abcdef")
