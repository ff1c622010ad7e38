"""OSS_CREDENTIALS=oidc-role-arn: the app exchanges a forge's OIDC token for a role's STS
credentials (AssumeRoleWithOIDC) at a local fake STS, as CI and ACK's RRSA do."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oss2
import pytest

from fakeoss.stsapi import FakeIdentityProvider
from fakeoss.testing import RunningFakeOss
from gallery import create_app
from gallery.settings import ConfigError, load_settings
from support import pictures
from support.gallery import upload
from support.oidc import AUDIENCE, PROVIDER_ARN, ROLE_ARN, serving_sts


@pytest.fixture(scope="module")
def forge() -> FakeIdentityProvider:
    return FakeIdentityProvider()


@pytest.fixture
def sts_endpoint(
    fakeoss: RunningFakeOss, bucket: oss2.Bucket, forge: FakeIdentityProvider
) -> Iterator[str]:
    with serving_sts(fakeoss.access_key_secret, forge, bucket.bucket_name) as url:
        yield url


def oidc_settings(sts_endpoint: str, token_file: Path) -> dict[str, Any]:
    return {
        "OSS_CREDENTIALS": "oidc-role-arn",
        "OSS_OIDC_ROLE_ARN": ROLE_ARN,
        "OSS_OIDC_PROVIDER_ARN": PROVIDER_ARN,
        "OSS_OIDC_TOKEN_FILE": str(token_file),
        "OSS_STS_ENDPOINT": sts_endpoint,
        "OSS_ACCESS_KEY_ID": "",
        "OSS_ACCESS_KEY_SECRET": "",
    }


@pytest.mark.usefixtures("instance_path")
def test_the_app_works_on_a_role_assumed_with_an_oidc_token(
    app_overrides: dict[str, Any], sts_endpoint: str, forge: FakeIdentityProvider, tmp_path: Path
) -> None:
    token_file = tmp_path / "oidc-token"
    token_file.write_text(forge.token(AUDIENCE))
    app = create_app({**app_overrides, **oidc_settings(sts_endpoint, token_file)})
    sent = upload(app.test_client(), pictures.png())
    assert sent.status_code == 201


@pytest.mark.usefixtures("instance_path")
def test_a_token_for_another_audience_stops_the_start_with_sts_s_code(
    app_overrides: dict[str, Any], sts_endpoint: str, forge: FakeIdentityProvider, tmp_path: Path
) -> None:
    token_file = tmp_path / "oidc-token"
    token_file.write_text(forge.token("not-alibaba"))
    with pytest.raises(ConfigError) as caught:
        create_app({**app_overrides, **oidc_settings(sts_endpoint, token_file)})
    assert str(caught.value) == (
        f"OSS_OIDC_ROLE_ARN={ROLE_ARN!r}: STS refused the OIDC token exchange: "
        "AuthenticationFail.OIDCToken.AudienceNotMatch: Invalid audience."
    )


@pytest.mark.usefixtures("instance_path")
def test_an_expired_token_stops_the_start_with_sts_s_code(
    app_overrides: dict[str, Any], sts_endpoint: str, forge: FakeIdentityProvider, tmp_path: Path
) -> None:
    token_file = tmp_path / "oidc-token"
    token_file.write_text(forge.token(AUDIENCE, now=time.time() - 3600))
    with pytest.raises(ConfigError, match=r"AuthenticationFail\.OIDCToken\.Expired"):
        create_app({**app_overrides, **oidc_settings(sts_endpoint, token_file)})


@pytest.mark.usefixtures("instance_path")
def test_a_missing_token_file_names_the_setting(
    app_overrides: dict[str, Any], sts_endpoint: str, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(ConfigError) as caught:
        create_app({**app_overrides, **oidc_settings(sts_endpoint, missing)})
    assert str(caught.value).startswith(f"OSS_OIDC_TOKEN_FILE={str(missing)!r}: cannot be read")


def test_a_role_arn_that_is_not_one_is_refused(tmp_path: Path) -> None:
    overrides = {**oidc_settings("sts.aliyuncs.com", tmp_path), "OSS_OIDC_ROLE_ARN": "gallery-ci"}
    with pytest.raises(ConfigError, match=r"expected acs:ram::ACCOUNT_ID:role/NAME"):
        load_settings("testing", instance_path=tmp_path, environ={}, overrides=overrides)


def test_alibaba_s_standard_variables_configure_the_oidc_mode(tmp_path: Path) -> None:
    environ = {
        "OSS_CREDENTIALS": "oidc-role-arn",
        "ALIBABA_CLOUD_ROLE_ARN": ROLE_ARN,
        "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": PROVIDER_ARN,
        "ALIBABA_CLOUD_OIDC_TOKEN_FILE": "/var/run/oidc/token",
    }
    settings = load_settings("testing", instance_path=tmp_path, environ=environ)
    assert settings.OSS_OIDC_ROLE_ARN == ROLE_ARN
    assert settings.OSS_OIDC_PROVIDER_ARN == PROVIDER_ARN
    assert settings.OSS_OIDC_TOKEN_FILE == "/var/run/oidc/token"
