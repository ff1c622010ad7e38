"""The gallery page: login, CSRF on every form, upload and delete, friendly failures."""

from __future__ import annotations

import re
from typing import Any

import oss2
import pictures
import pytest
from flask.testing import FlaskClient
from support import bucket_keys, multipart, upload

from gallery import create_app
from loopback import closed_port_url


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no CSRF field"
    return found.group(1)


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


def test_login_with_the_right_password_shows_the_upload_form(api: FlaskClient) -> None:
    response = log_in(api)
    assert response.status_code == 303
    assert 'id="upload-form"' in api.get("/").get_data(as_text=True)


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
            "CONFIG_NAME": "production",
            "SECRET_KEY": "s" * 40,
            "GALLERY_API_TOKEN": "t" * 40,
            "GALLERY_ADMIN_PASSWORD_HASH": "scrypt:32768:8:1$salt$" + "0" * 128,
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
