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


# Anything that is not a page (JSON, image bytes): nothing may load or run from it, even if a
# browser were talked into rendering it.
NOT_A_PAGE_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"


def image_sources(app: Flask) -> str:
    # With IMAGE_DELIVERY=proxy every image comes from this site: the internal OSS host, which
    # browsers never contact, is not named.
    if clients(app).settings.IMAGE_DELIVERY == "proxy":
        return "'self' data:"
    return f"'self' data: {oss_origin(app)}"


def init_app(app: Flask) -> None:
    policy = "; ".join(
        [
            "default-src 'self'",
            f"img-src {image_sources(app)}",
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
        else:
            response.headers.setdefault("Content-Security-Policy", NOT_A_PAGE_POLICY)
        return response
