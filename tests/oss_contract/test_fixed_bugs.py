"""Bugs fakeoss had, each checked against the real service's behaviour."""

from __future__ import annotations

import oss2
import pytest

from .conftest import OssTarget


@pytest.mark.parametrize("auth_version", ["v1", "v4"])
@pytest.mark.parametrize("value", ["café", "测试".encode()])
def test_non_ascii_user_metadata_is_signed_and_stored(
    oss_target: OssTarget, prefix: str, auth_version: str, value: str | bytes
) -> None:
    bucket = oss_target.bucket(auth_version=auth_version)

    bucket.put_object(prefix + "meta", b"m", headers={"x-oss-meta-place": value})

    raw = bucket.head_object(prefix + "meta").headers["x-oss-meta-place"]
    wire = value if isinstance(value, bytes) else value.encode("latin-1")
    assert raw.encode("latin-1") == wire


def test_list_multipart_uploads_pages_with_key_and_upload_id_markers(
    bucket: oss2.Bucket, prefix: str
) -> None:
    started = {
        (key, bucket.init_multipart_upload(key).upload_id)
        for key in [prefix + "a", prefix + "a", prefix + "b", prefix + "c/1", prefix + "c/2"]
    }
    seen: list[tuple[str, str]] = []
    key_marker = upload_id_marker = ""
    pages = 0
    while True:
        result = bucket.list_multipart_uploads(
            prefix=prefix, key_marker=key_marker, upload_id_marker=upload_id_marker, max_uploads=2
        )
        seen += [(u.key, u.upload_id) for u in result.upload_list]
        pages += 1
        if not result.is_truncated:
            break
        key_marker, upload_id_marker = result.next_key_marker, result.next_upload_id_marker

    assert sorted(seen) == sorted(started)
    assert len(seen) == len(set(seen))
    assert pages == 3


def test_list_multipart_uploads_folds_keys_into_common_prefixes(
    bucket: oss2.Bucket, prefix: str
) -> None:
    for key in [prefix + "top", prefix + "dir/1", prefix + "dir/2"]:
        bucket.init_multipart_upload(key)

    result = bucket.list_multipart_uploads(prefix=prefix, delimiter="/")

    assert [u.key for u in result.upload_list] == [prefix + "top"]
    assert result.prefix_list == [prefix + "dir/"]


def test_batch_delete_accepts_a_key_with_a_control_character(
    bucket: oss2.Bucket, prefix: str
) -> None:
    keys = [prefix + "form\x0cfeed", prefix + "plain"]
    for key in keys:
        bucket.put_object(key, b"x")

    result = bucket.batch_delete_objects(keys)

    assert sorted(result.deleted_keys) == sorted(keys)
    assert not any(bucket.object_exists(k) for k in keys)


@pytest.mark.parametrize("region", ["", "xx-nowhere-1"])
def test_v4_signature_with_a_wrong_region_is_refused(
    oss_target: OssTarget, prefix: str, region: str
) -> None:
    bucket = oss2.Bucket(
        oss_target.auth("v4"), oss_target.endpoint, oss_target.bucket_name, region=region
    )

    with pytest.raises(oss2.exceptions.ServerError) as raised:
        bucket.put_object(prefix + "r", b"r")

    assert raised.value.status == 403
    assert raised.value.message == "The signing region in credential is invalid."
