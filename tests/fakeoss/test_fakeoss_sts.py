"""fakeoss speaks STS: temporary credentials, their expiry and the RAM policy they carry."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import oss2
import pytest
import requests

from fakeoss.policy import Policy, PolicyError, requested
from fakeoss.sts import TemporaryCredentials, TokenIssuer
from fakeoss.testing import RunningFakeOss, running_fakeoss

APP_BUCKET = "gallery"


@pytest.fixture(scope="module")
def fake() -> Iterator[RunningFakeOss]:
    with running_fakeoss(buckets=(APP_BUCKET, "other")) as running:
        yield running


@pytest.fixture
def issuer(fake: RunningFakeOss) -> TokenIssuer:
    return TokenIssuer(fake.access_key_secret)


def sts_bucket(
    fake: RunningFakeOss, creds: TemporaryCredentials, name: str = APP_BUCKET, version: str = "v1"
) -> oss2.Bucket:
    auth: Any = oss2.StsAuth(
        creds.access_key_id, creds.access_key_secret, creds.security_token, auth_version=version
    )
    return oss2.Bucket(auth, fake.endpoint, name, region="cn-hangzhou")


def error_of(call: Any) -> oss2.exceptions.OssError:
    with pytest.raises(oss2.exceptions.OssError) as caught:
        call()
    return caught.value


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_temporary_credentials_read_and_write_their_bucket(
    fake: RunningFakeOss, issuer: TokenIssuer, version: str
) -> None:
    creds = issuer.issue("gallery-app", Policy.bucket_read_write(APP_BUCKET), lifetime=60)
    bucket = sts_bucket(fake, creds, version=version)
    bucket.put_object(f"sts/{version}.txt", b"hello")
    assert bucket.get_object(f"sts/{version}.txt").read() == b"hello"
    assert f"sts/{version}.txt" in [o.key for o in oss2.ObjectIterator(bucket, prefix="sts/")]


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_a_signed_url_carries_the_security_token(
    fake: RunningFakeOss, issuer: TokenIssuer, version: str
) -> None:
    creds = issuer.issue("gallery-app", Policy.bucket_read_write(APP_BUCKET), lifetime=60)
    bucket = sts_bucket(fake, creds, version=version)
    bucket.put_object("sts/url.txt", b"by url")
    url = bucket.sign_url("GET", "sts/url.txt", 60)
    assert ("security-token=" if version == "v1" else "x-oss-security-token=") in url
    answer = requests.get(url, timeout=5)
    assert (answer.status_code, answer.content) == (200, b"by url")


def test_an_expired_token_is_refused_as_oss_does(fake: RunningFakeOss, issuer: TokenIssuer) -> None:
    creds = issuer.issue("gallery-app", Policy.allow_all(), lifetime=5, now=time.time() - 60)
    error = error_of(lambda: sts_bucket(fake, creds).get_object("anything"))
    assert (error.status, error.code) == (403, "SecurityTokenExpired")
    assert error.message == "The security token you provided has expired."
    assert error.headers["x-oss-ec"] == "0002-00000007"


def test_an_expired_token_in_a_signed_url_is_refused(
    fake: RunningFakeOss, issuer: TokenIssuer
) -> None:
    creds = issuer.issue("gallery-app", Policy.allow_all(), lifetime=5, now=time.time() - 60)
    url = sts_bucket(fake, creds).sign_url("GET", "anything", 60)
    answer = requests.get(url, timeout=5)
    assert answer.status_code == 403
    assert "<Code>SecurityTokenExpired</Code>" in answer.text


def test_a_token_not_issued_by_the_account_is_invalid(fake: RunningFakeOss) -> None:
    forged = TokenIssuer("another-account-secret").issue("x", Policy.allow_all(), lifetime=60)
    error = error_of(lambda: sts_bucket(fake, forged).get_object("anything"))
    assert (error.status, error.code) == (403, "InvalidSecurityToken")
    assert error.headers["x-oss-ec"] == "0002-00000006"


def test_a_token_of_another_access_key_is_invalid(
    fake: RunningFakeOss, issuer: TokenIssuer
) -> None:
    first = issuer.issue("a", Policy.allow_all(), lifetime=60)
    second = issuer.issue("b", Policy.allow_all(), lifetime=60)
    mixed = TemporaryCredentials(
        first.access_key_id, first.access_key_secret, second.security_token, first.expiration
    )
    assert error_of(lambda: sts_bucket(fake, mixed).get_object("x")).code == "InvalidSecurityToken"


def test_a_temporary_key_without_its_token_does_not_exist(
    fake: RunningFakeOss, issuer: TokenIssuer
) -> None:
    creds = issuer.issue("gallery-app", Policy.allow_all(), lifetime=60)
    auth = oss2.Auth(creds.access_key_id, creds.access_key_secret)
    error = error_of(lambda: oss2.Bucket(auth, fake.endpoint, APP_BUCKET).get_object("x"))
    assert (error.status, error.code) == (403, "InvalidAccessKeyId")


def test_the_account_key_with_a_security_token_is_an_unknown_sts_key(fake: RunningFakeOss) -> None:
    auth = oss2.StsAuth(fake.access_key_id, fake.access_key_secret, "some-token")
    error = error_of(lambda: oss2.Bucket(auth, fake.endpoint, APP_BUCKET).get_object("x"))
    assert error.code == "InvalidAccessKeyId"


def test_the_role_may_not_touch_another_bucket(fake: RunningFakeOss, issuer: TokenIssuer) -> None:
    creds = issuer.issue("gallery-app", Policy.bucket_read_write(APP_BUCKET), lifetime=60)
    error = error_of(lambda: sts_bucket(fake, creds, "other").put_object("k", b"x"))
    assert (error.status, error.code) == (403, "AccessDenied")
    assert error.details["AuthAction"] == "oss:PutObject"


def test_the_role_may_not_manage_its_bucket(fake: RunningFakeOss, issuer: TokenIssuer) -> None:
    creds = issuer.issue("gallery-app", Policy.bucket_read_write(APP_BUCKET), lifetime=60)
    bucket = sts_bucket(fake, creds)
    assert error_of(bucket.delete_bucket).code == "AccessDenied"
    assert error_of(lambda: bucket.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ)).code == (
        "AccessDenied"
    )


def test_a_prefix_policy_denies_keys_outside_the_prefix(
    fake: RunningFakeOss, issuer: TokenIssuer
) -> None:
    creds = issuer.issue("gallery-app", Policy.bucket_read_write(APP_BUCKET, "gallery/"), 60)
    bucket = sts_bucket(fake, creds)
    bucket.put_object("gallery/inside.txt", b"ok")
    assert error_of(lambda: bucket.put_object("outside.txt", b"no")).code == "AccessDenied"
    assert error_of(
        lambda: bucket.batch_delete_objects(["gallery/inside.txt", "outside.txt"])
    ).code == ("AccessDenied")


def test_an_explicit_deny_wins_over_an_allow(fake: RunningFakeOss, issuer: TokenIssuer) -> None:
    policy = Policy.parse(
        {
            "Version": "1",
            "Statement": [
                {"Effect": "Allow", "Action": "oss:*", "Resource": "*"},
                {"Effect": "Deny", "Action": "oss:DeleteObject", "Resource": "acs:oss:*:*:*"},
            ],
        }
    )
    bucket = sts_bucket(fake, issuer.issue("r", policy, 60))
    bucket.put_object("keep.txt", b"x")
    error = error_of(lambda: bucket.delete_object("keep.txt"))
    assert (error.code, error.headers["x-oss-ec"]) == ("AccessDenied", "0003-00000201")


def test_a_copy_needs_read_on_its_source() -> None:
    pairs = requested("PUT", "gallery", "copy", {}, {"x-oss-copy-source": "/other/src"}, b"")
    assert pairs == [
        ("oss:PutObject", "acs:oss:*:*:gallery/copy"),
        ("oss:GetObject", "acs:oss:*:*:other/src"),
    ]


def test_a_policy_with_a_condition_is_refused_rather_than_half_applied() -> None:
    statement = {"Effect": "Allow", "Action": "oss:*", "Resource": "*", "Condition": {}}
    with pytest.raises(PolicyError, match="Condition"):
        Policy.parse({"Version": "1", "Statement": [statement]})
