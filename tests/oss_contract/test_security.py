"""Authentication as OSS does it: V1 and V4 signatures and signed URLs."""

from __future__ import annotations

import datetime as dt
import time
import types

import oss2
import oss2.auth
import pytest
import requests

from .conftest import OssTarget


def test_v4_signed_requests_are_accepted(oss_target: OssTarget, prefix: str) -> None:
    v4 = oss_target.bucket(auth_version="v4")

    v4.put_object(prefix + "v4 ü", b"four")

    assert v4.get_object(prefix + "v4 ü").read() == b"four"


def test_wrong_secret_is_signature_does_not_match(oss_target: OssTarget, prefix: str) -> None:
    impostor = oss_target.bucket(access_key_secret="not-the-secret")

    with pytest.raises(oss2.exceptions.OssError) as raised:
        impostor.put_object(prefix + "x", b"x")

    assert (raised.value.status, raised.value.code) == (403, "SignatureDoesNotMatch")


def test_wrong_secret_with_v4_is_signature_does_not_match(
    oss_target: OssTarget, prefix: str
) -> None:
    impostor = oss_target.bucket(auth_version="v4", access_key_secret="not-the-secret")

    with pytest.raises(oss2.exceptions.OssError) as raised:
        impostor.get_object(prefix + "x")

    assert (raised.value.status, raised.value.code) == (403, "SignatureDoesNotMatch")


def test_unknown_key_id_is_invalid_access_key_id(oss_target: OssTarget, prefix: str) -> None:
    stranger = oss_target.bucket(access_key_id="LTAI-no-such-key-id")

    with pytest.raises(oss2.exceptions.OssError) as raised:
        stranger.get_object(prefix + "x")

    assert (raised.value.status, raised.value.code) == (403, "InvalidAccessKeyId")


def test_anonymous_request_to_a_private_bucket_is_access_denied(
    oss_target: OssTarget, bucket: oss2.Bucket, prefix: str
) -> None:
    bucket.put_object(prefix + "private", b"x")

    with pytest.raises(oss2.exceptions.OssError) as raised:
        oss_target.anonymous_bucket().get_object(prefix + "private")

    assert (raised.value.status, raised.value.code) == (403, "AccessDenied")


def test_v1_signed_url_downloads_the_object(bucket: oss2.Bucket, prefix: str) -> None:
    bucket.put_object(prefix + "shared ü.txt", b"shared")

    url = bucket.sign_url("GET", prefix + "shared ü.txt", 60)

    assert requests.get(url, timeout=10).content == b"shared"


def test_v4_signed_url_downloads_the_object(oss_target: OssTarget, prefix: str) -> None:
    v4 = oss_target.bucket(auth_version="v4")
    v4.put_object(prefix + "shared4", b"shared4")

    url = v4.sign_url("GET", prefix + "shared4", 60)

    assert requests.get(url, timeout=10).content == b"shared4"


def test_signed_url_uploads_an_object(bucket: oss2.Bucket, prefix: str) -> None:
    url = bucket.sign_url("PUT", prefix + "via-url", 60)

    bucket.put_object_with_url(url, b"uploaded")

    assert bucket.get_object(prefix + "via-url").read() == b"uploaded"


# A URL that expired a while ago, without waiting for it: the signer's clock is set back, so the
# URL's expiry (1 s after signing) is long past by the server's own clock, fake or real OSS (far
# beyond any clock skew between this machine and OSS).
SIGNED_AGO_SECONDS = 60


def signed_in_the_past(monkeypatch: pytest.MonkeyPatch, seconds: int) -> None:
    """oss2 stamps V1 URLs with time.time() and V4 URLs with datetime.utcnow(): both behind."""

    class PastDatetime(dt.datetime):
        @classmethod
        def utcnow(cls) -> dt.datetime:
            return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(
                seconds=seconds
            )

    clock = types.SimpleNamespace(time=lambda: time.time() - seconds)
    monkeypatch.setattr(oss2.auth, "time", clock)
    monkeypatch.setattr(oss2.auth, "datetime", PastDatetime)


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_expired_signed_url_is_access_denied(
    oss_target: OssTarget, prefix: str, monkeypatch: pytest.MonkeyPatch, version: str
) -> None:
    signer = oss_target.bucket(auth_version=version)
    signer.put_object(prefix + "old", b"x")
    signed_in_the_past(monkeypatch, SIGNED_AGO_SECONDS)
    url = signer.sign_url("GET", prefix + "old", 1)
    monkeypatch.undo()

    with pytest.raises(oss2.exceptions.OssError) as raised:
        signer.get_object_with_url(url)

    assert (raised.value.status, raised.value.code) == (403, "AccessDenied")


def test_signed_url_for_another_key_is_signature_does_not_match(
    bucket: oss2.Bucket, prefix: str
) -> None:
    bucket.put_object(prefix + "secret", b"x")
    url = bucket.sign_url("GET", prefix + "public", 60)
    tampered = url.replace("public", "secret", 1)

    with pytest.raises(oss2.exceptions.OssError) as raised:
        bucket.get_object_with_url(tampered)

    assert (raised.value.status, raised.value.code) == (403, "SignatureDoesNotMatch")


def test_signed_url_with_extended_expiry_is_signature_does_not_match(
    bucket: oss2.Bucket, prefix: str
) -> None:
    bucket.put_object(prefix + "k", b"x")
    url = bucket.sign_url("GET", prefix + "k", 60)
    expires = url.split("Expires=", 1)[1].split("&", 1)[0]
    tampered = url.replace(f"Expires={expires}", f"Expires={int(expires) + 3600}")

    with pytest.raises(oss2.exceptions.OssError) as raised:
        bucket.get_object_with_url(tampered)

    assert (raised.value.status, raised.value.code) == (403, "SignatureDoesNotMatch")
