"""CSRF protection for the web forms: a random token in the session, echoed by every form.

A form POST whose `csrf_token` field does not match the session's token is refused with 400.
The JSON API is not covered: it takes a bearer token, which a foreign page cannot send.
"""

from __future__ import annotations

import hmac
import secrets

from flask import abort, request, session

SESSION_KEY = "csrf_token"
FORM_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def csrf_token() -> str:
    """The session's token, made on first use; templates put it in a hidden field."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[SESSION_KEY] = token
    return token


def protect() -> None:
    """A before_request hook: refuse an unsafe request without the session's token."""
    if request.method not in UNSAFE_METHODS:
        return
    expected = session.get(SESSION_KEY)
    sent = request.form.get(FORM_FIELD, "")
    if not isinstance(expected, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400, description="The form has expired or did not come from this site: reload it.")
