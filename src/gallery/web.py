"""The gallery page: a grid of thumbnails; upload and delete for the logged-in user."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response as BaseResponse

from gallery import csrf
from gallery.api import requeue_stalled
from gallery.auth import logged_in_user, password_is_right, reader_allowed
from gallery.clients import clients
from gallery.delivery import image_document, image_link
from gallery.inspection import UploadRefused
from gallery.records import is_image_id
from gallery.sessions import end_session, start_session
from gallery.uploads import accept_upload

bp = Blueprint("web", __name__)


def login_over_https() -> BaseResponse | None:
    """With Secure session cookies (production), the login page and form only over HTTPS.

    The session cookie is never sent over plain HTTP (sessions.CookieSessions), so a login there
    would check the password and leave nobody logged in: send it to HTTPS first (308 keeps a
    POST a POST), before CSRF, which could only fail without the cookie.
    """
    if (
        request.endpoint == "web.login"
        and current_app.config["SESSION_COOKIE_SECURE"]
        and not request.is_secure
    ):
        return redirect(request.url.replace("http://", "https://", 1), 308)
    return None


bp.before_request(login_over_https)
bp.before_request(csrf.protect)

PAGE_SIZE = 24
P = ParamSpec("P")
R = TypeVar("R")


@bp.app_context_processor
def template_helpers() -> dict[str, object]:
    return {"csrf_token": csrf.csrf_token, "user": logged_in_user(), "image_link": image_link}


def login_required(view: Callable[P, R]) -> Callable[P, R | BaseResponse]:
    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R | BaseResponse:
        if logged_in_user() is None:
            flash("Log in first.", "error")
            return redirect(url_for("web.login", next=request.path), 303)
        return view(*args, **kwargs)

    return wrapped


def safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to somewhere else."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return url_for("web.gallery")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return url_for("web.gallery")
    return target


def render_gallery(status: int = 200) -> tuple[str, int]:
    cursor = request.args.get("cursor") or None
    if cursor is not None and not is_image_id(cursor):
        raise BadRequest("That page link is not valid.")
    page = clients().catalog.page(limit=PAGE_SIZE, cursor=cursor)
    images = [image_document(record) for record in requeue_stalled(page.records)]
    return render_template(
        "gallery.html", images=images, next_cursor=page.next_cursor, first_page=cursor is None
    ), status


@bp.get("/")
def gallery() -> tuple[str, int] | BaseResponse:
    if not reader_allowed():
        return redirect(url_for("web.login", next=request.full_path.rstrip("?")), 303)
    return render_gallery()


@bp.route("/login", methods=["GET", "POST"])
def login() -> tuple[str, int] | BaseResponse:
    if request.method == "GET":
        return render_template("login.html"), 200
    username = request.form.get("username", "")
    password = request.form.get("password", "")
    if not password_is_right(username, password):
        flash("Wrong user name or password.", "error")
        return render_template("login.html", username=username), 401
    start_session(username)
    return redirect(safe_next(request.args.get("next")), 303)


@bp.post("/logout")
def logout() -> BaseResponse:
    end_session()
    return redirect(url_for("web.gallery"), 303)


@bp.post("/upload")
@login_required
def upload() -> tuple[str, int] | BaseResponse:
    try:
        record = accept_upload(current_app, request.files.get("file"))
    except UploadRefused as refused:
        flash(refused.message, "error")
        return render_gallery(refused.status)
    if record.queued_at is None:
        flash(f"Uploaded {record.filename}. Thumbnails are delayed and will follow.", "warning")
    else:
        flash(f"Uploaded {record.filename}.", "success")
    return redirect(url_for("web.gallery"), 303)


@bp.post("/images/<image_id>/delete")
@login_required
def delete(image_id: str) -> BaseResponse:
    if clients().catalog.delete(image_id):
        flash("Deleted.", "success")
    else:
        flash("That image was already gone.", "warning")
    return redirect(safe_next(request.form.get("next")), 303)
