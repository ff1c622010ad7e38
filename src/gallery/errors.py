"""Error pages: JSON under /api/, a small HTML page elsewhere, never a traceback."""

from __future__ import annotations

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError


def wants_json() -> bool:
    return request.path.startswith("/api/")


def render_error(error: HTTPException) -> tuple[Response | str, int]:
    code = error.code or 500
    name = error.name
    description = error.description or ""
    if wants_json():
        return jsonify(error={"code": code, "name": name, "message": description}), code
    return render_template("error.html", code=code, name=name, description=description), code


def handle_unexpected(error: Exception) -> tuple[Response | str, int]:
    # Flask logs the traceback for the operator; the client only sees a plain 500.
    return render_error(InternalServerError())


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(Exception, handle_unexpected)
