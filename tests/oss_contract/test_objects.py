"""Simple objects: put, get, head, delete, metadata, copy, append, limits."""

from __future__ import annotations

import oss2
import pytest


def test_put_then_get_returns_the_same_bytes(bucket: oss2.Bucket, prefix: str) -> None:
    bucket.put_object(prefix + "hello.txt", b"hello, oss")

    assert bucket.get_object(prefix + "hello.txt").read() == b"hello, oss"


def test_ranged_get_returns_the_requested_bytes(bucket: oss2.Bucket, prefix: str) -> None:
    bucket.put_object(prefix + "digits", b"0123456789")

    result = bucket.get_object(prefix + "digits", byte_range=(2, 5))

    assert (result.status, result.read()) == (206, b"2345")


def test_head_reports_length_etag_and_type(bucket: oss2.Bucket, prefix: str) -> None:
    put = bucket.put_object(prefix + "a.bin", b"x" * 1234)

    head = bucket.head_object(prefix + "a.bin")

    assert (head.content_length, head.etag, head.object_type) == (1234, put.etag, "Normal")


def test_user_metadata_round_trips_with_lower_case_names(bucket: oss2.Bucket, prefix: str) -> None:
    bucket.put_object(prefix + "m", b"m", headers={"x-oss-meta-Camera": "Leica M6"})

    headers = bucket.head_object(prefix + "m").headers

    assert headers["x-oss-meta-camera"] == "Leica M6"


def test_content_type_round_trips(bucket: oss2.Bucket, prefix: str) -> None:
    bucket.put_object(prefix + "p", b"\x89PNG", headers={"Content-Type": "image/png"})

    assert bucket.get_object(prefix + "p").content_type == "image/png"


def test_deleted_object_no_longer_exists(bucket: oss2.Bucket, prefix: str) -> None:
    bucket.put_object(prefix + "gone", b"x")

    bucket.delete_object(prefix + "gone")

    assert not bucket.object_exists(prefix + "gone")


def test_get_of_missing_key_raises_no_such_key(bucket: oss2.Bucket, prefix: str) -> None:
    with pytest.raises(oss2.exceptions.NoSuchKey) as raised:
        bucket.get_object(prefix + "missing")

    assert raised.value.status == 404


def test_head_of_missing_key_carries_its_code_in_x_oss_err(
    bucket: oss2.Bucket, prefix: str
) -> None:
    with pytest.raises(oss2.exceptions.NoSuchKey) as raised:
        bucket.head_object(prefix + "missing")

    assert raised.value.headers.get("x-oss-err")


def test_errors_carry_request_id_and_host_id(bucket: oss2.Bucket, prefix: str) -> None:
    with pytest.raises(oss2.exceptions.NoSuchKey) as raised:
        bucket.get_object(prefix + "missing")

    error = raised.value
    assert error.request_id
    assert (error.details["RequestId"], bool(error.details["HostId"])) == (error.request_id, True)


def test_missing_bucket_raises_no_such_bucket(oss_target, prefix: str) -> None:  # type: ignore[no-untyped-def]
    other = oss_target.bucket(bucket_name="no-such-bucket-" + prefix.split("/")[1][:20])

    with pytest.raises(oss2.exceptions.NoSuchBucket):
        other.get_object("anything")


def test_forbid_overwrite_refuses_an_existing_key(bucket: oss2.Bucket, prefix: str) -> None:
    bucket.put_object(prefix + "once", b"first")

    with pytest.raises(oss2.exceptions.OssError) as raised:
        bucket.put_object(prefix + "once", b"second", headers={"x-oss-forbid-overwrite": "true"})

    assert (raised.value.status, raised.value.code) == (409, "FileAlreadyExists")
    assert bucket.get_object(prefix + "once").read() == b"first"


def test_forbid_overwrite_allows_a_new_key(bucket: oss2.Bucket, prefix: str) -> None:
    result = bucket.put_object(prefix + "new", b"x", headers={"x-oss-forbid-overwrite": "true"})

    assert result.status == 200


def test_key_starting_with_a_slash_is_an_invalid_object_name(
    bucket: oss2.Bucket, prefix: str
) -> None:
    with pytest.raises(oss2.exceptions.OssError) as raised:
        bucket.put_object("/" + prefix + "slash", b"x")

    assert (raised.value.status, raised.value.code) == (400, "InvalidObjectName")


def test_key_over_1023_bytes_is_an_invalid_object_name(bucket: oss2.Bucket, prefix: str) -> None:
    key = prefix + "k" * (1024 - len(prefix))

    with pytest.raises(oss2.exceptions.OssError) as raised:
        bucket.put_object(key, b"x")

    assert (raised.value.status, raised.value.code) == (400, "InvalidObjectName")


def test_key_of_1023_utf8_bytes_is_accepted(bucket: oss2.Bucket, prefix: str) -> None:
    filler = 1023 - len(prefix.encode())
    key = prefix + "é" * (filler // 2) + "k" * (filler % 2)

    bucket.put_object(key, b"x")

    assert len(key.encode()) == 1023
    assert bucket.get_object(key).read() == b"x"


def test_user_metadata_over_8_kb_is_refused(bucket: oss2.Bucket, prefix: str) -> None:
    headers = {"x-oss-meta-big": "v" * (9 * 1024)}

    with pytest.raises(oss2.exceptions.OssError) as raised:
        bucket.put_object(prefix + "fat", b"x", headers=headers)

    assert raised.value.status == 400
    assert not bucket.object_exists(prefix + "fat")


def test_copy_object_keeps_content_and_metadata(bucket: oss2.Bucket, prefix: str) -> None:
    bucket.put_object(prefix + "src", b"payload", headers={"x-oss-meta-owner": "ann"})

    bucket.copy_object(bucket.bucket_name, prefix + "src", prefix + "dst")

    copy = bucket.get_object(prefix + "dst")
    assert (copy.read(), copy.headers["x-oss-meta-owner"]) == (b"payload", "ann")


def test_update_object_meta_keeps_content_and_replaces_metadata(
    bucket: oss2.Bucket, prefix: str
) -> None:
    bucket.put_object(prefix + "obj", b"content", headers={"x-oss-meta-old": "1"})

    bucket.update_object_meta(prefix + "obj", {"x-oss-meta-new": "2"})

    result = bucket.get_object(prefix + "obj")
    assert result.read() == b"content"
    assert (result.headers.get("x-oss-meta-new"), result.headers.get("x-oss-meta-old")) == (
        "2",
        None,
    )


def test_append_object_grows_the_object_and_reports_next_position(
    bucket: oss2.Bucket, prefix: str
) -> None:
    first = bucket.append_object(prefix + "log", 0, b"one,")
    second = bucket.append_object(prefix + "log", first.next_position, b"two", init_crc=first.crc)

    assert second.next_position == 7
    assert bucket.get_object(prefix + "log").read() == b"one,two"


def test_append_at_the_wrong_position_raises_position_not_equal_to_length(
    bucket: oss2.Bucket, prefix: str
) -> None:
    bucket.append_object(prefix + "log", 0, b"abc")

    with pytest.raises(oss2.exceptions.PositionNotEqualToLength) as raised:
        bucket.append_object(prefix + "log", 1, b"x")

    assert raised.value.headers["x-oss-next-append-position"] == "3"


def test_object_acl_round_trips(bucket: oss2.Bucket, prefix: str) -> None:
    bucket.put_object(prefix + "acl", b"x")

    bucket.put_object_acl(prefix + "acl", oss2.OBJECT_ACL_PRIVATE)

    assert bucket.get_object_acl(prefix + "acl").acl == "private"
