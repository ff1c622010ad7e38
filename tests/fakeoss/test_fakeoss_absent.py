"""Configurations fakeoss cannot hold (setting one is refused) read as OSS reads them absent."""

from __future__ import annotations

from collections.abc import Iterator

import oss2
import pytest

from fakeoss.testing import running_fakeoss


@pytest.fixture
def bucket() -> Iterator[oss2.Bucket]:
    with running_fakeoss(buckets=("bkt",)) as fake:
        yield fake.bucket("bkt")


@pytest.mark.parametrize(
    ("read", "error"),
    [
        ("get_bucket_cors", oss2.exceptions.NoSuchCors),
        ("get_bucket_lifecycle", oss2.exceptions.NoSuchLifecycle),
        ("get_bucket_website", oss2.exceptions.NoSuchWebsite),
        ("get_bucket_policy", oss2.exceptions.NoSuchBucketPolicy),
        ("get_bucket_encryption", oss2.exceptions.NoSuchServerSideEncryptionRule),
        ("get_bucket_worm", oss2.exceptions.NoSuchWORMConfiguration),
    ],
)
def test_a_configuration_that_cannot_be_set_is_missing(
    bucket: oss2.Bucket, read: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        getattr(bucket, read)()


def test_a_new_bucket_s_documents_are_its_defaults(bucket: oss2.Bucket) -> None:
    assert bucket.get_bucket_referer().allow_empty_referer is True
    assert bucket.get_bucket_referer().referers == []
    assert bucket.get_bucket_logging().target_bucket == ""
    assert bucket.get_bucket_tagging().tag_set.tagging_rule == {}
    assert bucket.get_bucket_versioning().status is None
    assert bucket.get_bucket_request_payment().payer == "BucketOwner"


def test_deleting_a_configuration_that_does_not_exist_succeeds(bucket: oss2.Bucket) -> None:
    assert bucket.delete_bucket_cors().status == 204
    assert bucket.delete_bucket_lifecycle().status == 204


def test_setting_a_configuration_is_still_refused(bucket: oss2.Bucket) -> None:
    rule = oss2.models.CorsRule(allowed_origins=["*"], allowed_methods=["GET"])

    with pytest.raises(oss2.exceptions.ServerError) as raised:
        bucket.put_bucket_cors(oss2.models.BucketCors([rule]))

    assert (raised.value.status, raised.value.code) == (501, "NotImplemented")


def test_no_live_channel_exists(bucket: oss2.Bucket) -> None:
    with pytest.raises(oss2.exceptions.NoSuchLiveChannel):
        bucket.get_live_channel("camera")
    with pytest.raises(oss2.exceptions.NoSuchLiveChannel):
        bucket.delete_live_channel("camera")


def test_a_missing_bucket_is_named_before_its_configuration(bucket: oss2.Bucket) -> None:
    other = oss2.Bucket(bucket.auth, bucket.endpoint, "nobucket")

    with pytest.raises(oss2.exceptions.NoSuchBucket):
        other.get_bucket_cors()
