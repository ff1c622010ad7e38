"""Who may do what: the API's bearer token, the web user's login, and private reads."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import Flask, abort, current_app, request
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.security import check_password_hash

from gallery.clients import clients
from gallery.sessions import logged_in_user
from gallery.settings import Settings
from gallery.throttle import LoginThrottle, PasswordChecks

__all__ = ["check_reader", "logged_in_user", "password_is_right", "token_required"]
P = ParamSpec("P")
R = TypeVar("R")
PASSWORD_CHECKS = "gallery.password_checks"  # noqa: S105 (an extension key)


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def token_is_valid(token: str) -> bool:
    expected = clients().settings.GALLERY_API_TOKEN.get_secret_value()
    return hmac.compare_digest(token.encode(), expected.encode())


def check_token() -> None:
    """401 without a token, 403 with a wrong one."""
    token = bearer_token()
    if token is None:
        abort(
            401,
            description="Send 'Authorization: Bearer <token>' to change the gallery.",
            www_authenticate=WWWAuthenticate("bearer"),
        )
    if not token_is_valid(token):
        abort(403, description="The API token is not valid.")


def token_required(view: Callable[P, R]) -> Callable[P, R]:
    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        check_token()
        return view(*args, **kwargs)

    return wrapped


def init_app(app: Flask, settings: Settings) -> None:
    app.extensions[PASSWORD_CHECKS] = PasswordChecks(settings.PASSWORD_CHECK_CONCURRENCY)


def password_is_right(username: str, password: str) -> bool:
    """Check a login, throttled: raises LoginThrottled (429) while backing off."""
    found = clients()
    settings = found.settings
    throttle = LoginThrottle(found, request.remote_addr or "unknown", username)
    throttle.check()
    with current_app.extensions[PASSWORD_CHECKS]:
        # Check the hash even for a wrong name, so the answer takes as long either way.
        good_hash = check_password_hash(
            settings.GALLERY_ADMIN_PASSWORD_HASH.get_secret_value(), password
        )
    good_name = hmac.compare_digest(username.encode(), settings.GALLERY_ADMIN_USER.encode())
    if good_hash and good_name:
        throttle.succeeded()
        return True
    throttle.failed()
    return False


def reader_allowed() -> bool:
    """Reads are public unless GALLERY_PRIVATE_READS; then a session or the token is needed."""
    if not clients().settings.GALLERY_PRIVATE_READS or logged_in_user() is not None:
        return True
    token = bearer_token()
    return token is not None and token_is_valid(token)


def check_reader() -> None:
    if not reader_allowed():
        abort(401, description="This gallery is private: log in or send the API token.")
