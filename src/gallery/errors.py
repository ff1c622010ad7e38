"""Error pages: JSON under /api/, a small HTML page elsewhere, never a traceback."""

from __future__ import annotations

import oss2
from flask import Flask, Response, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.http import HTTP_STATUS_CODES

from gallery.credentials import CredentialsUnavailable
from gallery.inspection import UploadRefused
from gallery.requestid import current_request_id
from gallery.throttle import LoginThrottled

STORAGE_DOWN = "The image store cannot be reached right now. Please try again in a minute."


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(code: int, name: str, description: str) -> tuple[Response | str, int]:
    request_id = current_request_id()
    if wants_json():
        error = {"code": code, "name": name, "message": description, "request_id": request_id}
        return jsonify(error=error), code
    page = render_template(
        "error.html", code=code, name=name, description=description, request_id=request_id
    )
    return page, code


def render_error(error: HTTPException) -> tuple[Response | str, int, list[tuple[str, str]]]:
    body, code = error_response(error.code or 500, error.name, error.description or "")
    # A 401 carries its challenge (WWW-Authenticate: Bearer) in either shape.
    challenge = [(name, value) for name, value in error.get_headers() if name == "WWW-Authenticate"]
    return body, code, challenge


def render_refusal(error: UploadRefused) -> tuple[Response | str, int]:
    return error_response(error.status, HTTP_STATUS_CODES[error.status], error.message)


def render_storage_down(error: oss2.exceptions.OssError) -> tuple[Response | str, int]:
    # The operator gets what OSS said; the client a plain 503 without internals.
    current_app.logger.warning(
        "OSS failed on %s %s: status=%s code=%s request_id=%s",
        request.method,
        request.path,
        getattr(error, "status", "?"),
        getattr(error, "code", "?"),
        current_request_id(),
    )
    return error_response(503, HTTP_STATUS_CODES[503], STORAGE_DOWN)


def render_no_credentials(error: CredentialsUnavailable) -> tuple[Response | str, int]:
    # The provider could not refresh (metadata service or STS down): like OSS down, one line.
    current_app.logger.warning(
        "OSS credentials unavailable (OSS_CREDENTIALS=%s) on %s %s: %s request_id=%s",
        error.source,
        request.method,
        request.path,
        error.reason,
        current_request_id(),
    )
    return error_response(503, HTTP_STATUS_CODES[503], STORAGE_DOWN)


def render_throttled(error: LoginThrottled) -> tuple[Response | str, int, dict[str, str]]:
    message = f"Too many login attempts. Try again in {error.retry_after} s."
    body, code = error_response(429, HTTP_STATUS_CODES[429], message)
    return body, code, {"Retry-After": str(error.retry_after)}


def handle_unexpected(error: Exception) -> tuple[Response | str, int, list[tuple[str, str]]]:
    # Flask does not log an exception a handler took, so this does: the traceback and the
    # request id the client got. A traceback shows code and messages, never local variables,
    # and settings are SecretStr, so secret values do not reach the log.
    current_app.logger.error(
        "unhandled %s on %s %s request_id=%s",
        type(error).__name__,
        request.method,
        request.path,
        current_request_id(),
        exc_info=error,
    )
    return render_error(InternalServerError())


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(UploadRefused, render_refusal)
    app.register_error_handler(oss2.exceptions.OssError, render_storage_down)
    app.register_error_handler(CredentialsUnavailable, render_no_credentials)
    app.register_error_handler(LoginThrottled, render_throttled)
    app.register_error_handler(Exception, handle_unexpected)
