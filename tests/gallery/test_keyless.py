"""The app and its worker without any AccessKey: the ECS instance's RAM role, as in production.

The instance's metadata service is fakeoss.metadata on 127.0.0.1, handing out credentials of a
few seconds, so several rotations happen within one test; fakeoss accepts them and applies the
role's RAM policy. Nothing here reaches Alibaba's metadata address.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oss2
import pytest
from flask import Flask

from fakeoss.metadata import MetadataService, RunningMetadata, running_metadata
from fakeoss.policy import Policy
from fakeoss.sts import TokenIssuer
from fakeoss.testing import RunningFakeOss
from gallery import create_app
from gallery.clients import clients
from gallery.settings import ConfigError, load_settings, oss_region
from support import pictures
from support.gallery import upload, wait_for
from support.loopback import closed_port_url

# Seconds each role credential lasts: the SDK refreshes ahead of expiry in whole seconds.
LIFETIME = 4.0
ROTATIONS = 4
# The load is bounded by count; reaching the rotations takes a few dozen rounds.
MAX_ROUNDS = 300


def role_service(fake: RunningFakeOss, bucket: oss2.Bucket, **options: Any) -> MetadataService:
    """An instance with the gallery's role attached: read and write its own bucket only."""
    return MetadataService(
        TokenIssuer(fake.access_key_secret),
        options.pop("role", "gallery-app"),
        Policy.bucket_read_write(bucket.bucket_name),
        options.pop("lifetime", LIFETIME),
        hardened_only=True,
        **options,
    )


def keyless(metadata: RunningMetadata) -> dict[str, Any]:
    """Settings of the RAM-role mode, with no AccessKey at all."""
    return {
        "OSS_CREDENTIALS": "ecs-ram-role",
        "OSS_ECS_METADATA_URL": metadata.url,
        "OSS_ACCESS_KEY_ID": "",
        "OSS_ACCESS_KEY_SECRET": "",
    }


@pytest.fixture
def app_metadata(fakeoss: RunningFakeOss, bucket: oss2.Bucket) -> Iterator[RunningMetadata]:
    with running_metadata(role_service(fakeoss, bucket)) as running:
        yield running


@pytest.fixture
def worker_metadata(fakeoss: RunningFakeOss, bucket: oss2.Bucket) -> Iterator[RunningMetadata]:
    """The worker's own metadata service, so its rotations are counted apart from the app's."""
    with running_metadata(role_service(fakeoss, bucket)) as running:
        yield running


@pytest.fixture
def worker_settings(worker_metadata: RunningMetadata) -> dict[str, str]:
    return {key: str(value) for key, value in keyless(worker_metadata).items()}


@pytest.fixture
def keyless_app(
    instance_path: Path, app_overrides: dict[str, Any], app_metadata: RunningMetadata
) -> Flask:
    return create_app({**app_overrides, **keyless(app_metadata)})


def thumbnails_ready(client: Any, image_ids: list[str]) -> bool:
    for image_id in image_ids:
        document = client.get(f"/api/images/{image_id}").json
        if document["thumbnail_status"] != "ready":
            return False
    return True


@pytest.mark.usefixtures("celery_worker")
def test_app_and_worker_run_keyless_through_credential_rotations(
    keyless_app: Flask,
    app_metadata: RunningMetadata,
    worker_metadata: RunningMetadata,
    celery_worker: Path,
) -> None:
    client = keyless_app.test_client()
    statuses: list[int] = []
    image_ids: list[str] = []
    for _ in range(MAX_ROUNDS):
        if (
            app_metadata.service.rotations >= ROTATIONS
            and worker_metadata.service.rotations >= ROTATIONS
        ):
            break
        sent = upload(client, pictures.png(200, 120))
        statuses.append(sent.status_code)
        if sent.status_code == 201:
            image_ids.append(sent.json["id"])  # type: ignore[index]
        statuses.append(client.get("/").status_code)
        statuses.append(client.get("/api/images").status_code)
        # Pace the load on the worker's progress, not on a clock: the next upload waits
        # until the previous one's thumbnails exist.
        wait_for(lambda: thumbnails_ready(client, image_ids[-1:]), what="thumbnails")
    failed = [status for status in statuses if status >= 400]
    assert failed == []
    assert app_metadata.service.rotations >= ROTATIONS
    assert worker_metadata.service.rotations >= ROTATIONS
    wait_for(lambda: thumbnails_ready(client, image_ids), what="every thumbnail job")
    assert "Retry in" not in celery_worker.read_text()


def test_the_app_holds_no_access_key_in_role_mode(keyless_app: Flask) -> None:
    settings = clients(keyless_app).settings
    assert settings.OSS_ACCESS_KEY_ID.get_secret_value() == ""
    credentials = clients(keyless_app).bucket.auth.credentials_provider.get_credentials()
    assert credentials.access_key_id.startswith("STS.")
    assert credentials.security_token


def test_signed_image_urls_carry_the_role_s_security_token(keyless_app: Flask) -> None:
    client = keyless_app.test_client()
    image_id = upload(client, pictures.png()).json["id"]  # type: ignore[index]
    location = client.get(f"/images/{image_id}").headers["Location"]
    assert "security-token=" in location
    assert "OSSAccessKeyId=STS." in location


def test_a_request_outside_the_role_s_policy_is_access_denied(
    keyless_app: Flask, fakeoss: RunningFakeOss
) -> None:
    auth = clients(keyless_app).bucket.auth
    other = oss2.Bucket(auth, fakeoss.endpoint, "gallery")  # the session's bucket, not ours
    with pytest.raises(oss2.exceptions.AccessDenied) as caught:
        other.put_object("images/intruder.png", b"x")
    assert caught.value.code == "AccessDenied"
    with pytest.raises(oss2.exceptions.AccessDenied):
        clients(keyless_app).bucket.delete_bucket()


def test_an_expired_token_is_a_503_with_oss_s_code_in_one_log_line(
    instance_path: Path,
    app_overrides: dict[str, Any],
    fakeoss: RunningFakeOss,
    bucket: oss2.Bucket,
    caplog: pytest.LogCaptureFixture,
) -> None:
    expired = TokenIssuer(fakeoss.access_key_secret).issue(
        "gallery-app", Policy.bucket_read_write(bucket.bucket_name), 60, now=time.time() - 3600
    )
    app = create_app(
        {
            **app_overrides,
            "OSS_CREDENTIALS": "sts-token",
            "OSS_ACCESS_KEY_ID": expired.access_key_id,
            "OSS_ACCESS_KEY_SECRET": expired.access_key_secret,
            "OSS_SECURITY_TOKEN": expired.security_token,
        }
    )
    with caplog.at_level(logging.WARNING):
        page = app.test_client().get("/")
        api = app.test_client().get("/api/images")
    assert page.status_code == api.status_code == 503
    assert api.json["error"]["code"] == 503  # type: ignore[index]
    records = [r for r in caplog.records if "SecurityTokenExpired" in r.getMessage()]
    assert len(records) == 2
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in records)
    assert expired.security_token not in caplog.text
    assert expired.access_key_secret not in caplog.text


def test_a_metadata_service_gone_past_the_credentials_lifetime_is_a_503_not_a_500(
    instance_path: Path,
    app_overrides: dict[str, Any],
    fakeoss: RunningFakeOss,
    bucket: oss2.Bucket,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with running_metadata(role_service(fakeoss, bucket)) as metadata:
        app = create_app({**app_overrides, **keyless(metadata)})
        held = metadata.service.served[-1]
    client = app.test_client()
    # While the credentials it holds are valid, the app keeps working without the service.
    assert client.get("/api/images").status_code == 200
    wait_for(lambda: time.time() > held.expiration + 1, what="the held credentials to expire")
    with caplog.at_level(logging.WARNING):
        answer = client.get("/api/images")
    assert answer.status_code == 503
    assert "code=SecurityTokenExpired" in caplog.text
    assert all(r.exc_info is None for r in caplog.records)


class TestStartRefusals:
    """A role mode that cannot get credentials stops the app at start with one line."""

    def start(self, app_overrides: dict[str, Any], **settings: Any) -> str:
        with pytest.raises(ConfigError) as caught:
            create_app({**app_overrides, **settings})
        message = str(caught.value)
        assert "\n" not in message
        return message

    @pytest.mark.usefixtures("instance_path")
    def test_no_metadata_service(self, app_overrides: dict[str, Any]) -> None:
        message = self.start(
            app_overrides,
            OSS_CREDENTIALS="ecs-ram-role",
            OSS_ECS_METADATA_URL=closed_port_url("http"),
            OSS_TIMEOUT=0.5,
        )
        assert message.startswith("OSS_ECS_METADATA_URL=http://127.0.0.1:")
        assert "no ECS metadata service answered within OSS_TIMEOUT=0.5 s" in message

    @pytest.mark.usefixtures("instance_path")
    def test_no_role_attached(
        self, app_overrides: dict[str, Any], fakeoss: RunningFakeOss, bucket: oss2.Bucket
    ) -> None:
        with running_metadata(role_service(fakeoss, bucket, role=None)) as metadata:
            message = self.start(app_overrides, **keyless(metadata))
        assert "the instance has no RAM role attached" in message

    @pytest.mark.usefixtures("instance_path")
    def test_a_role_with_no_credentials(
        self, app_overrides: dict[str, Any], fakeoss: RunningFakeOss, bucket: oss2.Bucket
    ) -> None:
        with running_metadata(role_service(fakeoss, bucket)) as metadata:
            message = self.start(
                app_overrides, **keyless(metadata), OSS_ECS_ROLE_NAME="not-attached"
            )
        assert message.startswith("OSS_ECS_ROLE_NAME='not-attached': ")

    @pytest.mark.usefixtures("instance_path")
    @pytest.mark.parametrize(
        ("service_clock_offset", "said"),
        [
            pytest.param(24 * 3600, "the clock is behind", id="far-behind-the-credentials"),
            pytest.param(-3600, "the clock is ahead", id="ahead-of-the-credentials"),
        ],
    )
    def test_a_clock_off_from_the_credentials(
        self,
        app_overrides: dict[str, Any],
        fakeoss: RunningFakeOss,
        bucket: oss2.Bucket,
        service_clock_offset: float,
        said: str,
    ) -> None:
        service = role_service(fakeoss, bucket, clock=lambda: time.time() + service_clock_offset)
        with running_metadata(service) as metadata:
            message = self.start(app_overrides, **keyless(metadata))
        assert said in message

    @pytest.mark.usefixtures("instance_path")
    def test_a_malformed_security_token(self, app_overrides: dict[str, Any]) -> None:
        message = self.start(
            app_overrides, OSS_CREDENTIALS="sts-token", OSS_SECURITY_TOKEN="two\nlines"
        )
        assert message.startswith("setting OSS_SECURITY_TOKEN='***' is invalid")
        assert "two" not in message

    @pytest.mark.usefixtures("instance_path")
    def test_sts_mode_without_a_token(self, app_overrides: dict[str, Any]) -> None:
        message = self.start(app_overrides, OSS_CREDENTIALS="sts-token")
        assert message.startswith("setting OSS_SECURITY_TOKEN='' is invalid: must not be empty")

    @pytest.mark.usefixtures("instance_path")
    def test_oidc_mode_without_a_role(self, app_overrides: dict[str, Any]) -> None:
        message = self.start(app_overrides, OSS_CREDENTIALS="oidc-role-arn")
        assert message.startswith("setting OSS_OIDC_ROLE_ARN='' is invalid")


def write_sts_secrets(folder: Path, credentials: Any) -> None:
    """The three files, swapped in at once as a renewing agent (or Kubernetes) writes them."""
    staging = folder.with_name(folder.name + ".new")
    staging.mkdir()
    (staging / "OSS_ACCESS_KEY_ID").write_text(credentials.access_key_id)
    (staging / "OSS_ACCESS_KEY_SECRET").write_text(credentials.access_key_secret)
    (staging / "OSS_SECURITY_TOKEN").write_text(credentials.security_token + "\n")
    if folder.exists():
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
    staging.rename(folder)


def test_an_sts_token_renewed_in_its_secret_files_is_followed_without_a_restart(
    instance_path: Path,
    app_overrides: dict[str, Any],
    fakeoss: RunningFakeOss,
    bucket: oss2.Bucket,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    issuer = TokenIssuer(fakeoss.access_key_secret)
    policy = Policy.bucket_read_write(bucket.bucket_name)
    secrets = tmp_path / "secrets"
    first = issuer.issue("gallery-app", policy, LIFETIME)
    write_sts_secrets(secrets, first)
    monkeypatch.setenv("SECRETS_DIR", str(secrets))
    keys = ("OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET")
    overrides = {k: v for k, v in app_overrides.items() if k not in keys}
    client = create_app({**overrides, "OSS_CREDENTIALS": "sts-token"}).test_client()
    assert upload(client, pictures.png()).status_code == 201

    write_sts_secrets(secrets, issuer.issue("gallery-app", policy, 3600))
    wait_for(lambda: time.time() > first.expiration + 1, what="the first token to expire")
    assert upload(client, pictures.png()).status_code == 201


def test_v4_signing_works_with_the_role_s_credentials(
    instance_path: Path, app_overrides: dict[str, Any], app_metadata: RunningMetadata
) -> None:
    app = create_app(
        {
            **app_overrides,
            **keyless(app_metadata),
            "OSS_SIGNATURE_VERSION": "v4",
            "OSS_REGION": "cn-hangzhou",
        }
    )
    client = app.test_client()
    image_id = upload(client, pictures.png()).json["id"]  # type: ignore[index]
    location = client.get(f"/images/{image_id}").headers["Location"]
    assert "x-oss-signature-version=OSS4-HMAC-SHA256" in location
    assert "x-oss-security-token=" in location


@pytest.mark.parametrize(
    ("endpoint", "region"),
    [
        ("https://oss-cn-hangzhou.aliyuncs.com", "cn-hangzhou"),
        ("https://oss-ap-southeast-1-internal.aliyuncs.com", "ap-southeast-1"),
    ],
)
def test_the_v4_region_is_read_from_an_oss_endpoint(
    tmp_path: Path, endpoint: str, region: str
) -> None:
    overrides = {"OSS_ENDPOINT": endpoint, "OSS_SIGNATURE_VERSION": "v4"}
    settings = load_settings("testing", instance_path=tmp_path, environ={}, overrides=overrides)
    assert oss_region(settings) == region


def test_v4_without_a_region_names_the_setting(tmp_path: Path) -> None:
    overrides = {"OSS_SIGNATURE_VERSION": "v4"}  # the testing endpoint is 127.0.0.1
    with pytest.raises(ConfigError, match=r"^setting OSS_REGION='' is invalid: "):
        load_settings("testing", instance_path=tmp_path, environ={}, overrides=overrides)
