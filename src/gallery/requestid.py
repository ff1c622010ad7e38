"""A request id on every request: taken from nginx's X-Request-ID when it looks like one, made
here otherwise, sent back in the X-Request-ID header and logged with every unexpected error, so
an operator finds the traceback of the 500 a user reports."""

from __future__ import annotations

import re
import uuid

from flask import Flask, Response, g, has_request_context, request

HEADER = "X-Request-ID"
# nginx's $request_id is 32 hex digits; anything else a client sends is not trusted into logs.
ACCEPTED = re.compile(r"^[0-9A-Za-z-]{16,64}$")


def current_request_id() -> str:
    if not has_request_context():
        return "-"
    found = g.get("request_id")
    if isinstance(found, str):
        return found
    given = request.headers.get(HEADER, "")
    found = given if ACCEPTED.fullmatch(given) else uuid.uuid4().hex
    g.request_id = found
    return found


def init_app(app: Flask) -> None:
    @app.after_request
    def send_request_id(response: Response) -> Response:
        response.headers[HEADER] = current_request_id()
        return response
