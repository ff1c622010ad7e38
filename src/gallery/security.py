"""Response headers that keep the browser strict: no sniffing, no framing, own scripts only."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response

from gallery.clients import clients


def oss_origin(app: Flask) -> str:
    """Where signed image URLs point (path or virtual-host style): img-src must allow it."""
    # Signing is a local computation: no request leaves the process.
    parts = urlsplit(clients(app).store.signed_url("probe", 60))
    return f"{parts.scheme}://{parts.netloc}"


def init_app(app: Flask) -> None:
    policy = "; ".join(
        [
            "default-src 'self'",
            f"img-src 'self' data: {oss_origin(app)}",
            "script-src 'self'",
            "style-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
        ]
    )

    @app.after_request
    def add_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", policy)
            response.headers.setdefault("X-Frame-Options", "DENY")
        return response
