"""Bucket-level calls: info, ACL, batch delete."""

from __future__ import annotations

import oss2


def test_bucket_info_names_the_bucket(bucket: oss2.Bucket) -> None:
    info = bucket.get_bucket_info()

    assert (info.name, info.storage_class) == (bucket.bucket_name, "Standard")


def test_bucket_acl_is_one_of_oss_canned_acls(bucket: oss2.Bucket) -> None:
    acl = bucket.get_bucket_acl().acl

    assert acl in {"private", "public-read", "public-read-write"}


def test_batch_delete_reports_the_deleted_keys(bucket: oss2.Bucket, prefix: str) -> None:
    keys = [prefix + "a", prefix + "b/ü"]
    for key in keys:
        bucket.put_object(key, b"x")

    result = bucket.batch_delete_objects(keys)

    assert sorted(result.deleted_keys) == sorted(keys)
    assert not any(bucket.object_exists(k) for k in keys)
