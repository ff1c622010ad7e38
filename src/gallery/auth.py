"""Who may do what: the API's bearer token, the web user's login, and private reads."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import abort, request, session
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.security import check_password_hash

from gallery.clients import clients

P = ParamSpec("P")
R = TypeVar("R")
SESSION_USER = "user"


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


def logged_in_user() -> str | None:
    user = session.get(SESSION_USER)
    return user if isinstance(user, str) else None


def password_is_right(username: str, password: str) -> bool:
    settings = clients().settings
    # Check the hash even for a wrong name, so the answer takes as long either way.
    good_hash = check_password_hash(
        settings.GALLERY_ADMIN_PASSWORD_HASH.get_secret_value(), password
    )
    good_name = hmac.compare_digest(username.encode(), settings.GALLERY_ADMIN_USER.encode())
    return good_hash and good_name


def reader_allowed() -> bool:
    """Reads are public unless GALLERY_PRIVATE_READS; then a session or the token is needed."""
    if not clients().settings.GALLERY_PRIVATE_READS or logged_in_user() is not None:
        return True
    token = bearer_token()
    return token is not None and token_is_valid(token)


def check_reader() -> None:
    if not reader_allowed():
        abort(401, description="This gallery is private: log in or send the API token.")
