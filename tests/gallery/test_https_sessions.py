"""Session cookies under HTTPS: Secure, HttpOnly, SameSite=Lax, and never sent over plain HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gallery import create_app
from support.gallery import CHEAP_ADMIN_HASH, PRODUCTION_OVERRIDES, csrf_of

HTTPS = "https://gallery.example"
HTTP = "http://gallery.example"


def secure_app(overrides: dict[str, Any], trusted_proxies: int = 1) -> Flask:
    """The develop app with production's cookie rules, behind `trusted_proxies` proxies."""
    return create_app(
        {
            **overrides,
            "GALLERY_ADMIN_PASSWORD_HASH": CHEAP_ADMIN_HASH,
            "SESSION_COOKIE_SECURE": True,
            "TRUSTED_PROXIES": trusted_proxies,
        }
    )


@pytest.fixture
def secure_client(app_overrides: dict[str, Any]) -> FlaskClient:
    return secure_app(app_overrides).test_client()


def log_in(client: FlaskClient, base_url: str, **headers: str) -> Any:
    page = client.get("/login", base_url=base_url, headers=headers)
    return client.post(
        "/login",
        base_url=base_url,
        headers=headers,
        data={"username": "admin", "password": "admin", "csrf_token": csrf_of(page.text)},
    )


def test_production_cookie_rules_are_secure_http_only_and_lax(
    app_overrides: dict[str, Any],
) -> None:
    app = create_app(
        {
            **app_overrides,
            **PRODUCTION_OVERRIDES,
        }
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


@pytest.mark.usefixtures("bucket")
def test_a_login_over_https_sets_a_secure_http_only_lax_cookie(secure_client: FlaskClient) -> None:
    response = log_in(secure_client, HTTPS)
    assert response.status_code == 303
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


@pytest.mark.usefixtures("bucket")
def test_the_proxys_forwarded_https_counts_as_https(secure_client: FlaskClient) -> None:
    response = log_in(secure_client, HTTP, **{"X-Forwarded-Proto": "https"})
    assert response.status_code == 303
    assert "Secure" in response.headers["Set-Cookie"]


def test_a_plain_http_page_gets_no_session_cookie(secure_client: FlaskClient) -> None:
    response = secure_client.get("/", base_url=HTTP)
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_a_login_over_plain_http_is_sent_to_https_before_the_password_is_checked(
    secure_client: FlaskClient,
) -> None:
    response = secure_client.post(
        "/login?next=/upload",
        base_url=HTTP,
        data={"username": "admin", "password": "admin"},
    )
    assert response.status_code == 308
    assert response.headers["Location"] == "https://gallery.example/login?next=/upload"
    assert "Set-Cookie" not in response.headers


def test_the_login_form_over_plain_http_redirects_to_https(secure_client: FlaskClient) -> None:
    response = secure_client.get("/login", base_url=HTTP)
    assert response.status_code == 308
    assert response.headers["Location"] == "https://gallery.example/login"


def test_forwarded_https_is_not_believed_without_a_trusted_proxy(
    app_overrides: dict[str, Any],
) -> None:
    client = secure_app(app_overrides, trusted_proxies=0).test_client()
    response = client.get("/login", base_url=HTTP, headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 308
    assert "Set-Cookie" not in response.headers


@pytest.mark.usefixtures("bucket")
def test_develop_over_plain_http_still_logs_in(app_overrides: dict[str, Any]) -> None:
    client = create_app({**app_overrides, "GALLERY_ADMIN_PASSWORD_HASH": CHEAP_ADMIN_HASH})
    response = log_in(client.test_client(), HTTP)
    assert response.status_code == 303
    assert "Secure" not in response.headers["Set-Cookie"]
