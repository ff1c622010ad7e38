"""OSS semantics that differ from S3's: ranges, conditions, overrides, error codes, classes."""

from __future__ import annotations

import time
from email.utils import formatdate

import oss2
import pytest
import requests

from .conftest import OssTarget


def test_range_past_the_end_answers_200_with_the_whole_object(
    bucket: oss2.Bucket, prefix: str
) -> None:
    bucket.put_object(prefix + "short", b"0123456789")

    result = bucket.get_object(prefix + "short", byte_range=(20, 30))

    assert (result.status, result.read()) == (200, b"0123456789")


def test_range_past_the_end_with_standard_behavior_is_invalid_range(
    bucket: oss2.Bucket, prefix: str
) -> None:
    bucket.put_object(prefix + "short", b"0123456789")

    with pytest.raises(oss2.exceptions.ServerError) as raised:
        bucket.get_object(
            prefix + "short", byte_range=(20, 30), headers={"x-oss-range-behavior": "standard"}
        )

    assert (raised.value.status, raised.value.code) == (416, "InvalidRange")


def test_range_ending_past_the_end_answers_200_with_the_whole_object(
    bucket: oss2.Bucket, prefix: str
) -> None:
    bucket.put_object(prefix + "hundred", bytes(range(100)))

    result = bucket.get_object(prefix + "hundred", headers={"Range": "bytes=50-500"})

    assert (result.status, result.read()) == (200, bytes(range(100)))


def test_suffix_range_longer_than_the_object_answers_200_with_the_whole_object(
    bucket: oss2.Bucket, prefix: str
) -> None:
    bucket.put_object(prefix + "hundred", bytes(range(100)))

    result = bucket.get_object(prefix + "hundred", headers={"Range": "bytes=-500"})

    assert (result.status, result.read()) == (200, bytes(range(100)))


def test_range_ending_past_the_end_with_standard_behavior_is_cut_to_the_object(
    bucket: oss2.Bucket, prefix: str
) -> None:
    bucket.put_object(prefix + "hundred", bytes(range(100)))

    result = bucket.get_object(
        prefix + "hundred",
        headers={"Range": "bytes=50-500", "x-oss-range-behavior": "standard"},
    )

    assert (result.status, result.headers["Content-Range"], result.read()) == (
        206,
        "bytes 50-99/100",
        bytes(range(50, 100)),
    )


def test_if_none_match_with_the_current_etag_is_not_modified(
    bucket: oss2.Bucket, prefix: str
) -> None:
    etag = bucket.put_object(prefix + "c", b"c").etag

    with pytest.raises(oss2.exceptions.NotModified):
        bucket.get_object(prefix + "c", headers={"If-None-Match": f'"{etag}"'})


def test_if_match_with_another_etag_is_precondition_failed(
    bucket: oss2.Bucket, prefix: str
) -> None:
    bucket.put_object(prefix + "c", b"c")

    with pytest.raises(oss2.exceptions.PreconditionFailed):
        bucket.get_object(prefix + "c", headers={"If-Match": '"0123456789ABCDEF0123456789ABCDEF"'})


def test_if_modified_since_the_future_is_not_modified_and_unmodified_since_the_past_fails(
    bucket: oss2.Bucket, prefix: str
) -> None:
    bucket.put_object(prefix + "c", b"c")
    future, past = formatdate(time.time() + 3600, usegmt=True), formatdate(0, usegmt=True)

    with pytest.raises(oss2.exceptions.NotModified):
        bucket.head_object(prefix + "c", headers={"If-Modified-Since": future})
    with pytest.raises(oss2.exceptions.PreconditionFailed):
        bucket.get_object(prefix + "c", headers={"If-Unmodified-Since": past})
    assert bucket.get_object(prefix + "c", headers={"If-Modified-Since": past}).read() == b"c"


def test_copy_source_if_match_with_another_etag_is_precondition_failed(
    bucket: oss2.Bucket, prefix: str
) -> None:
    bucket.put_object(prefix + "src", b"s")

    with pytest.raises(oss2.exceptions.PreconditionFailed):
        bucket.copy_object(
            bucket.bucket_name,
            prefix + "src",
            prefix + "dst",
            headers={"x-oss-copy-source-if-match": '"0123456789ABCDEF0123456789ABCDEF"'},
        )

    assert not bucket.object_exists(prefix + "dst")


def test_response_overrides_replace_headers_on_get_and_signed_urls(
    bucket: oss2.Bucket, prefix: str
) -> None:
    bucket.put_object(prefix + "o", b"o", headers={"Content-Type": "text/plain"})
    overrides = {
        "response-content-type": "image/png",
        "response-content-disposition": 'attachment; filename="o.png"',
        "response-cache-control": "max-age=60",
    }

    got = bucket.get_object(prefix + "o", params=overrides)
    url = bucket.sign_url("GET", prefix + "o", 60, params=overrides)
    signed = requests.get(url, timeout=10)

    for headers in (got.headers, signed.headers):
        assert headers["Content-Type"] == "image/png"
        assert headers["Content-Disposition"] == 'attachment; filename="o.png"'
        assert headers["Cache-Control"] == "max-age=60"


def test_errors_carry_an_ec_in_header_and_body(bucket: oss2.Bucket, prefix: str) -> None:
    with pytest.raises(oss2.exceptions.NoSuchKey) as raised:
        bucket.get_object(prefix + "missing")

    assert raised.value.headers["x-oss-ec"] == raised.value.details["EC"] == "0026-00000001"


def test_missing_bucket_is_no_such_bucket_for_info_and_exists(oss_target: OssTarget) -> None:
    missing = oss_target.bucket(bucket_name=f"{oss_target.bucket_name}-no-such-bucket-15")

    with pytest.raises(oss2.exceptions.NoSuchBucket):
        missing.get_bucket_info()
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        missing.object_exists("anything")


def test_storage_class_is_stored_and_returned(bucket: oss2.Bucket, prefix: str) -> None:
    bucket.put_object(prefix + "ia", b"i", headers={"x-oss-storage-class": "IA"})

    assert bucket.head_object(prefix + "ia").headers["x-oss-storage-class"] == "IA"
    listed = [o for o in oss2.ObjectIteratorV2(bucket, prefix=prefix + "ia")]
    assert [o.storage_class for o in listed] == ["IA"]


def test_archive_object_needs_a_restore_before_get(bucket: oss2.Bucket, prefix: str) -> None:
    bucket.put_object(prefix + "cold", b"c", headers={"x-oss-storage-class": "Archive"})

    with pytest.raises(oss2.exceptions.ServerError) as raised:
        bucket.get_object(prefix + "cold")

    assert (raised.value.status, raised.value.code) == (403, "InvalidObjectState")
    assert bucket.restore_object(prefix + "cold").status == 202


def test_server_side_encryption_aes256_is_reported(bucket: oss2.Bucket, prefix: str) -> None:
    bucket.put_object(prefix + "e", b"e", headers={"x-oss-server-side-encryption": "AES256"})

    assert bucket.head_object(prefix + "e").headers["x-oss-server-side-encryption"] == "AES256"


def test_copy_of_an_ia_object_gets_the_class_asked_for(bucket: oss2.Bucket, prefix: str) -> None:
    bucket.put_object(prefix + "ia", b"i", headers={"x-oss-storage-class": "IA"})

    bucket.copy_object(
        bucket.bucket_name,
        prefix + "ia",
        prefix + "copy",
        headers={"x-oss-storage-class": "Standard"},
    )

    assert bucket.head_object(prefix + "copy").headers["x-oss-storage-class"] == "Standard"


def test_object_meta_reports_length_and_etag(bucket: oss2.Bucket, prefix: str) -> None:
    put = bucket.put_object(prefix + "m", b"12345")

    meta = bucket.get_object_meta(prefix + "m")

    assert (meta.content_length, meta.etag) == (5, put.etag)


def test_signature_mismatch_carries_its_ec(oss_target: OssTarget, prefix: str) -> None:
    wrong = oss_target.bucket(access_key_secret="not-the-secret")

    with pytest.raises(oss2.exceptions.SignatureDoesNotMatch) as raised:
        wrong.put_object(prefix + "x", b"x")

    assert raised.value.details["EC"] == "0002-00000040"
