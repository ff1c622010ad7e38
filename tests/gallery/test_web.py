"""The gallery page: login, CSRF on every form, upload and delete, friendly failures."""

from __future__ import annotations

from typing import Any

import oss2
import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import BadSignature

from gallery import create_app
from gallery.sessions import CookieSessions
from support import pictures
from support.gallery import (
    CHEAP_ADMIN_HASH,
    PRODUCTION_OVERRIDES,
    bucket_keys,
    csrf_of,
    multipart,
    upload,
)
from support.loopback import closed_port_url


@pytest.fixture
def app_overrides(app_overrides: dict[str, Any]) -> dict[str, Any]:
    return {**app_overrides, "GALLERY_ADMIN_PASSWORD_HASH": CHEAP_ADMIN_HASH}


def log_in(client: FlaskClient, password: str = "admin") -> Any:  # noqa: S107 (the dev password)
    token = csrf_of(client.get("/login").get_data(as_text=True))
    return client.post(
        "/login", data={"username": "admin", "password": password, "csrf_token": token}
    )


def form_upload(client: FlaskClient, data: bytes, filename: str = "pic.png") -> Any:
    token = csrf_of(client.get("/login").get_data(as_text=True))
    body, form_type = multipart({"csrf_token": token, "file": (data, filename, "image/png")})
    return client.post("/upload", data=body, content_type=form_type)


def test_gallery_page_shows_uploaded_images(api: FlaskClient) -> None:
    image_id = upload(api, pictures.png(), "sunset.png").json["id"]  # type: ignore[index]
    page = api.get("/")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "sunset.png" in body
    assert f'href="/images/{image_id}"' in body


def test_pending_thumbnail_shows_a_placeholder(api: FlaskClient) -> None:
    upload(api, pictures.png())
    assert "Making thumbnail…" in api.get("/").get_data(as_text=True)


def test_page_has_a_phone_viewport_and_a_strict_content_policy(api: FlaskClient) -> None:
    page = api.get("/")
    assert 'name="viewport" content="width=device-width' in page.get_data(as_text=True)
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy


def test_anonymous_visitor_sees_no_upload_form(api: FlaskClient) -> None:
    body = api.get("/").get_data(as_text=True)
    assert 'id="upload-form"' not in body
    assert "Log in" in body


@pytest.mark.usefixtures("instance_path")
def test_login_with_the_develop_password_shows_the_upload_form(
    app_overrides: dict[str, Any],
) -> None:
    # The testing config's own hash (the develop one), not the cheap one of this module.
    shipped = {k: v for k, v in app_overrides.items() if k != "GALLERY_ADMIN_PASSWORD_HASH"}
    client = create_app(shipped).test_client()
    response = log_in(client)
    assert response.status_code == 303
    assert 'id="upload-form"' in client.get("/").get_data(as_text=True)


def test_login_with_a_wrong_password_is_refused(api: FlaskClient) -> None:
    response = log_in(api, password="guess")
    assert response.status_code == 401
    assert "Wrong user name or password." in response.get_data(as_text=True)
    assert 'id="upload-form"' not in api.get("/").get_data(as_text=True)


def test_session_cookie_is_http_only_and_same_site(api: FlaskClient) -> None:
    log_in(api)
    cookie = api.get_cookie("session")
    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Lax"


def test_production_session_cookie_is_secure(app_overrides: dict[str, Any]) -> None:
    app = create_app(
        {
            **app_overrides,
            **PRODUCTION_OVERRIDES,
        }
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/login", {"username": "admin", "password": "admin"}),
        ("/logout", {}),
        ("/upload", {}),
        ("/images/00000000-0000-8000-8000-000000000000/delete", {}),
    ],
)
def test_every_form_needs_the_csrf_token(
    api: FlaskClient, path: str, fields: dict[str, str]
) -> None:
    log_in(api)
    for token in (None, "forged"):
        data = fields if token is None else {**fields, "csrf_token": token}
        response = api.post(path, data=data)
        assert response.status_code == 400
        assert "did not come from this site" in response.get_data(as_text=True)


def test_form_upload_needs_a_login(api: FlaskClient, bucket: oss2.Bucket) -> None:
    response = form_upload(api, pictures.png())
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login")
    assert bucket_keys(bucket) == []


def test_logged_in_user_uploads_through_the_form(api: FlaskClient) -> None:
    log_in(api)
    response = form_upload(api, pictures.png(), "from-the-form.png")
    assert response.status_code == 303
    page = api.get("/").get_data(as_text=True)
    assert "Uploaded from-the-form.png." in page
    assert "from-the-form.png" in page


def test_form_upload_of_a_non_image_shows_the_reason(api: FlaskClient, bucket: oss2.Bucket) -> None:
    log_in(api)
    response = form_upload(api, b"not an image at all")
    assert response.status_code == 415
    assert "not a JPEG, PNG, GIF or WebP image" in response.get_data(as_text=True)
    assert bucket_keys(bucket) == []


def test_logged_in_user_deletes_through_the_form(api: FlaskClient, bucket: oss2.Bucket) -> None:
    image_id = upload(api, pictures.png()).json["id"]  # type: ignore[index]
    log_in(api)
    token = csrf_of(api.get("/").get_data(as_text=True))
    response = api.post(f"/images/{image_id}/delete", data={"csrf_token": token})
    assert response.status_code == 303
    assert bucket_keys(bucket) == []


def test_logout_ends_the_session(api: FlaskClient) -> None:
    log_in(api)
    token = csrf_of(api.get("/").get_data(as_text=True))
    api.post("/logout", data={"csrf_token": token})
    assert 'id="upload-form"' not in api.get("/").get_data(as_text=True)


def test_the_session_signer_is_built_once_and_follows_a_key_change(app: Flask) -> None:
    sessions = app.session_interface
    assert isinstance(sessions, CookieSessions)
    signer = sessions.get_signing_serializer(app)
    assert signer is not None
    assert sessions.get_signing_serializer(app) is signer
    cookie = signer.dumps({"user": "admin"})
    old_key, app.secret_key = app.secret_key, "a-rotated-key-" + "x" * 40
    rotated = sessions.get_signing_serializer(app)
    assert rotated is not None
    with pytest.raises(BadSignature):
        rotated.loads(cookie)
    app.config["SECRET_KEY_FALLBACKS"] = [old_key]
    with_fallback = sessions.get_signing_serializer(app)
    assert with_fallback is not None
    assert with_fallback.loads(cookie) == {"user": "admin"}


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_login_never_redirects_off_the_site(api: FlaskClient, target: str) -> None:
    token = csrf_of(api.get("/login").get_data(as_text=True))
    response = api.post(
        "/login",
        query_string={"next": target},
        data={"username": "admin", "password": "admin", "csrf_token": token},
    )
    assert response.headers["Location"] == "/"


def test_private_gallery_sends_visitors_to_the_login(
    app_overrides: dict[str, Any], bucket: oss2.Bucket
) -> None:
    client = create_app({**app_overrides, "GALLERY_PRIVATE_READS": True}).test_client()
    response = client.get("/")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login")
    log_in(client)
    assert client.get("/").status_code == 200


@pytest.fixture
def no_oss(app_overrides: dict[str, Any]) -> FlaskClient:
    return create_app({**app_overrides, "OSS_ENDPOINT": closed_port_url("http")}).test_client()


def test_oss_unreachable_gives_the_api_a_503_json(no_oss: FlaskClient) -> None:
    for response in (no_oss.get("/api/images"), upload(no_oss, pictures.png())):
        assert response.status_code == 503
        assert response.json is not None
        assert "image store cannot be reached" in response.json["error"]["message"]


def test_oss_unreachable_gives_the_page_a_friendly_503(no_oss: FlaskClient) -> None:
    response = no_oss.get("/")
    body = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "The image store cannot be reached right now" in body
    assert "Traceback" not in body
    assert "oss2" not in body


def test_oss_unreachable_turns_readyz_red(no_oss: FlaskClient) -> None:
    assert no_oss.get("/readyz").status_code == 503


def test_a_cookie_captured_before_logout_is_worthless_after_it(
    api: FlaskClient, gallery_app: Any
) -> None:
    log_in(api)
    captured = api.get_cookie("session")
    assert captured is not None
    token = csrf_of(api.get("/").get_data(as_text=True))
    api.post("/logout", data={"csrf_token": token})
    replay = gallery_app.test_client()
    replay.set_cookie("session", captured.value)
    assert 'id="upload-form"' not in replay.get("/").get_data(as_text=True)


def test_a_session_ends_when_its_server_side_entry_expires(
    api: FlaskClient, gallery_app: Any
) -> None:
    from gallery.clients import clients

    log_in(api)
    found = clients(gallery_app)
    for key in found.redis.scan_iter(f"{found.namespace}session:*"):
        found.redis.delete(key)  # what the idle timeout does
    assert 'id="upload-form"' not in api.get("/").get_data(as_text=True)


def test_session_past_its_lifetime_is_over(app_overrides: dict[str, Any], bucket: Any) -> None:
    from unittest import mock

    app = create_app({**app_overrides, "SESSION_LIFETIME_SECONDS": 60})
    client = app.test_client()
    log_in(client)
    assert 'id="upload-form"' in client.get("/").get_data(as_text=True)
    import time as real_time

    later = real_time.time() + 61
    with mock.patch("gallery.sessions.time.time", return_value=later):
        assert 'id="upload-form"' not in client.get("/").get_data(as_text=True)


def test_repeated_wrong_passwords_back_off_with_429_and_retry_after(api: FlaskClient) -> None:
    answers = [log_in(api, password=f"guess{n}").status_code for n in range(6)]
    assert answers == [401] * 5 + [401]
    throttled = log_in(api)  # even the right password waits out the back-off
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) >= 1
    assert "Too many login attempts" in throttled.get_data(as_text=True)


def test_throttling_counts_per_account_across_addresses(api: FlaskClient) -> None:
    for n in range(6):
        address = f"10.0.0.{n}"
        token = csrf_of(api.get("/login").get_data(as_text=True))
        api.post(
            "/login",
            data={"username": "admin", "password": "x", "csrf_token": token},
            environ_base={"REMOTE_ADDR": address},
        )
    token = csrf_of(api.get("/login").get_data(as_text=True))
    response = api.post(
        "/login",
        data={"username": "admin", "password": "x", "csrf_token": token},
        environ_base={"REMOTE_ADDR": "10.0.0.99"},
    )
    assert response.status_code == 429


def test_login_throttling_fails_open_with_a_log_line_when_redis_is_down(
    app_overrides: dict[str, Any], bucket: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app({**app_overrides, "REDIS_URL": closed_port_url("redis")})
    client = app.test_client()
    statuses = [log_in(client, password="x").status_code for _ in range(7)]
    assert statuses == [401] * 7
    assert "login throttling off" in caplog.text
