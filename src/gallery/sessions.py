"""Logged-in sessions, checked server-side on every request.

The signed cookie names a session id; Redis holds `session:<id>` with the idle timeout as its
lifetime, refreshed by each request. Logout deletes it, so a cookie captured before logout is
worth nothing after. The cookie also carries the login time: past SESSION_LIFETIME_SECONDS the
session ends however active it is. Without Redis nobody counts as logged in (fail closed).
"""

from __future__ import annotations

import logging
import secrets
import time

import redis
from flask import Flask, g, request, session
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask.wrappers import Response
from itsdangerous import URLSafeTimedSerializer

from gallery.clients import clients

log = logging.getLogger(__name__)
SESSION_USER = "user"
SESSION_ID = "sid"
SESSION_STARTED = "login_at"


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed session cookie, its signing serializer built once per set of keys.

    Flask builds a new serializer for every request, cookie or not, and building one runs a JSON
    dump to probe it: about 10 of the ~100 us the app spends on `/main/` (measured in-process).
    The keys are the cache's key, so a changed SECRET_KEY or fallback is used at once.
    """

    def __init__(self) -> None:
        self._built: tuple[tuple[object, ...], URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        built = self._built
        if built is None or built[0] != keys:
            built = (keys, super().get_signing_serializer(app))
            self._built = built  # one assignment: threads see the old pair or the new one
        return built[1]

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """No session cookie on a plain-HTTP request when cookies are Secure (production).

        A browser drops a Secure cookie that comes over plain HTTP on any host but localhost,
        where it keeps it: a login would work there and silently fail on the real host name.
        Not sending it makes both the same. Whether the request came over HTTPS is what the
        trusted proxy said (X-Forwarded-Proto through ProxyFix, TRUSTED_PROXIES hops).
        """
        if app.config["SESSION_COOKIE_SECURE"] and not request.is_secure:
            return
        super().save_session(app, session, response)


def session_key(session_id: str) -> str:
    return f"{clients().namespace}session:{session_id}"


def start_session(username: str) -> None:
    """A fresh session (and CSRF token) on login, so a planted session id is worth nothing."""
    settings = clients().settings
    session.clear()
    session_id = secrets.token_urlsafe(24)
    clients().redis.set(session_key(session_id), username, ex=settings.SESSION_IDLE_SECONDS)
    session.permanent = True
    session[SESSION_USER] = username
    session[SESSION_ID] = session_id
    session[SESSION_STARTED] = int(time.time())


def end_session() -> None:
    session_id = session.get(SESSION_ID)
    session.clear()
    g.pop("user", None)
    if isinstance(session_id, str):
        try:
            clients().redis.delete(session_key(session_id))
        except redis.RedisError as exc:
            # The cookie is cleared; the server-side entry expires with the idle timeout.
            log.warning("logout could not revoke the session in redis: %s", type(exc).__name__)


def logged_in_user() -> str | None:
    if "user" in g:
        found: str | None = g.user
        return found
    g.user = _check_session()
    return g.user  # type: ignore[no-any-return]


def _check_session() -> str | None:
    user, session_id = session.get(SESSION_USER), session.get(SESSION_ID)
    started = session.get(SESSION_STARTED)
    if not isinstance(user, str) or not isinstance(session_id, str) or not isinstance(started, int):
        return None
    found = clients()
    if time.time() - started > found.settings.SESSION_LIFETIME_SECONDS:
        return None
    if found.redis_outage.active():
        return None
    try:
        pipe = found.redis.pipeline()
        pipe.get(session_key(session_id))
        pipe.expire(session_key(session_id), found.settings.SESSION_IDLE_SECONDS)
        stored, _ = pipe.execute()
    except redis.RedisError as exc:
        found.redis_outage.record()
        log.warning("session check failed, treating as logged out: %s", type(exc).__name__)
        return None
    if stored is None or stored.decode() != user:
        return None
    return user
