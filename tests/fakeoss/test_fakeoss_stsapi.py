"""The fake STS endpoint: AssumeRoleWithOIDC as STS answers it, refusals included."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import oss2
import pytest
import requests

from fakeoss.stsapi import FakeIdentityProvider
from fakeoss.testing import RunningFakeOss, running_fakeoss
from support.oidc import AUDIENCE, PROVIDER_ARN, ROLE_ARN, serving_sts


@pytest.fixture(scope="module")
def forge() -> FakeIdentityProvider:
    return FakeIdentityProvider()


@pytest.fixture(scope="module")
def fake() -> Iterator[RunningFakeOss]:
    with running_fakeoss(buckets=("gallery",)) as running:
        yield running


@pytest.fixture(scope="module")
def sts_url(fake: RunningFakeOss, forge: FakeIdentityProvider) -> Iterator[str]:
    with serving_sts(fake.access_key_secret, forge, "gallery") as url:
        yield f"{url}/"


def assume(sts_url: str, token: str, **extra: str) -> requests.Response:
    params = {
        "Action": "AssumeRoleWithOIDC",
        "Format": "JSON",
        "Version": "2015-04-01",
        "RoleArn": ROLE_ARN,
        "OIDCProviderArn": PROVIDER_ARN,
        "OIDCToken": token,
        "RoleSessionName": "ci",
        **extra,
    }
    return requests.post(sts_url, params=params, timeout=5)


def refusal(answer: requests.Response) -> tuple[int, str]:
    body: dict[str, Any] = answer.json()
    assert body["RequestId"]
    return answer.status_code, body["Code"]


def test_a_forge_token_becomes_credentials_that_reach_oss(
    sts_url: str, forge: FakeIdentityProvider, fake: RunningFakeOss
) -> None:
    answer = assume(sts_url, forge.token(AUDIENCE))
    assert answer.status_code == 200
    found = answer.json()["Credentials"]
    auth = oss2.StsAuth(found["AccessKeyId"], found["AccessKeySecret"], found["SecurityToken"])
    bucket = oss2.Bucket(auth, fake.endpoint, "gallery")
    bucket.put_object("ci.txt", b"from CI")
    assert bucket.get_object("ci.txt").read() == b"from CI"


def test_a_wrong_audience_is_refused(sts_url: str, forge: FakeIdentityProvider) -> None:
    answer = assume(sts_url, forge.token("someone-else"))
    assert refusal(answer) == (401, "AuthenticationFail.OIDCToken.AudienceNotMatch")
    assert answer.json()["Message"] == "Invalid audience."


def test_an_expired_token_is_refused(sts_url: str, forge: FakeIdentityProvider) -> None:
    token = forge.token(AUDIENCE, lifetime=60, now=time.time() - 3600)
    assert refusal(assume(sts_url, token)) == (401, "AuthenticationFail.OIDCToken.Expired")


def test_a_token_signed_by_another_key_is_refused(sts_url: str) -> None:
    token = FakeIdentityProvider().token(AUDIENCE)
    assert refusal(assume(sts_url, token)) == (
        401,
        "AuthenticationFail.OIDCToken.InvalidSignature",
    )


def test_a_token_from_another_issuer_is_refused(sts_url: str, forge: FakeIdentityProvider) -> None:
    token = forge.token(AUDIENCE, issuer="https://gitlab.example.com")
    assert refusal(assume(sts_url, token)) == (401, "AuthenticationFail.OIDCToken.Invalid")


def test_a_malformed_token_is_refused(sts_url: str) -> None:
    assert refusal(assume(sts_url, "not-a-jwt")) == (401, "AuthenticationFail.OIDCToken.Invalid")


def test_an_unregistered_provider_is_refused(sts_url: str, forge: FakeIdentityProvider) -> None:
    answer = assume(
        sts_url,
        forge.token(AUDIENCE),
        OIDCProviderArn="acs:ram::1234567890:oidc-provider/other",
    )
    assert refusal(answer) == (401, "AuthenticationFail.NoPermission")


def test_a_duration_under_fifteen_minutes_is_refused(
    sts_url: str, forge: FakeIdentityProvider
) -> None:
    answer = assume(sts_url, forge.token(AUDIENCE), DurationSeconds="60")
    assert refusal(answer) == (400, "InvalidParameter.DurationSeconds")


def test_other_sts_actions_are_refused_not_imitated(sts_url: str) -> None:
    answer = requests.post(sts_url, params={"Action": "AssumeRole"}, timeout=5)
    assert refusal(answer) == (404, "InvalidAction.NotFound")
