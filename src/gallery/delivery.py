"""Serving image bytes: `/images/<id>` and `/images/<id>/thumbnail`.

IMAGE_DELIVERY=redirect answers with a short-lived signed OSS URL (OSS carries the bytes);
IMAGE_DELIVERY=proxy streams the object through the app (when browsers cannot reach OSS).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, g, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from gallery.auth import check_reader
from gallery.clients import clients
from gallery.inspection import FORMATS
from gallery.records import ImageRecord

bp = Blueprint("delivery", __name__)

# An image id names bytes that never change, so the bytes may be cached for good.
IMMUTABLE = "max-age=31536000, immutable"
IMAGE_TYPES = frozenset(content_type for content_type, _ in FORMATS.values())


def content_disposition(key: str, content_type: str) -> str:
    """inline for our image types, attachment for anything else; the name is made from the key
    (an id and a fixed name), never from what the user called the file."""
    name = key.replace("/", "-")
    kind = "inline" if content_type in IMAGE_TYPES else "attachment"
    return f'{kind}; filename="{name}"'


# A stand-in id: each link is built once per request with url_for, then filled in per image
# (url_for per link made a page of 100 images spend most of its time building URLs).
ID_SLOT = "00000000-0000-8000-8000-00000000fill"


def link_templates() -> dict[str, str]:
    found: dict[str, str] | None = g.get("link_templates")
    if found is None:
        sizes = clients().settings.THUMBNAIL_SIZES
        found = {
            "url": url_for("delivery.original", image_id=ID_SLOT),
            "thumbnail_url": url_for("delivery.thumbnail", image_id=ID_SLOT),
            "api": url_for("api.show", image_id=ID_SLOT),
            "delete": url_for("web.delete", image_id=ID_SLOT),
            **{
                f"size-{size}": url_for("delivery.thumbnail", image_id=ID_SLOT, size=size)
                for size in sizes
            },
        }
        g.link_templates = found
    return found


def image_link(kind: str, image_id: str) -> str:
    return link_templates()[kind].replace(ID_SLOT, image_id)


def image_document(record: ImageRecord) -> dict[str, Any]:
    """The JSON shape of an image, as the API answers it."""
    links = link_templates()
    image_id = record.id
    document: dict[str, Any] = {
        "id": image_id,
        "filename": record.filename,
        "content_type": record.content_type,
        "size": record.size,
        "width": record.width,
        "height": record.height,
        "url": links["url"].replace(ID_SLOT, image_id),
        "thumbnail_url": links["thumbnail_url"].replace(ID_SLOT, image_id),
        "thumbnails": {
            key.removeprefix("size-"): template.replace(ID_SLOT, image_id)
            for key, template in links.items()
            if key.startswith("size-")
        },
        "thumbnail_status": record.thumbnail_status,
        "created_at": record.created_at.isoformat().replace("+00:00", "Z"),
    }
    if record.thumbnail_status == "pending" and record.queued_at is None:
        document["notice"] = (
            "Thumbnails are delayed: the job queue is unreachable. "
            "They will be made once it is back."
        )
    return document


def find_record(image_id: str) -> ImageRecord:
    record = clients().catalog.get(image_id)
    if record is None:
        abort(404, description="There is no image with this id.")
    return record


def visibility() -> str:
    return "private" if clients().settings.GALLERY_PRIVATE_READS else "public"


def deliver(key: str, process: str | None = None) -> BaseResponse:
    """The object at `key`, or, with `process`, what OSS's image service makes of it."""
    settings = clients().settings
    store = clients().store
    if settings.IMAGE_DELIVERY == "redirect":
        seconds = settings.SIGNED_URL_SECONDS
        response = redirect(store.signed_url(key, seconds, process), 302)
        # Cache the redirect for half the URL's life, so a cached one never points at a dead URL.
        response.headers["Cache-Control"] = f"{visibility()}, max-age={seconds // 2}"
        return response
    stored = store.open(key, process)
    if stored is None:
        abort(404, description="The image's file is missing.")
    content_type = stored.content_type
    if content_type not in IMAGE_TYPES:
        # Never serve stored bytes as anything a browser would render as a page.
        content_type = "application/octet-stream"
    # Processed images (x-oss-process) come without an ETag.
    if stored.etag and request.if_none_match.contains(stored.etag):
        stored.chunks.close()  # type: ignore[attr-defined]  # a generator: close it early
        response = Response(status=304)
    else:
        response = Response(stored.chunks, content_type=content_type)
        response.content_length = stored.content_length
    response.headers["Content-Disposition"] = content_disposition(key, content_type)
    if stored.etag:
        response.set_etag(stored.etag)
    response.headers["Cache-Control"] = f"{visibility()}, {IMMUTABLE}"
    return response


def oss_thumbnail_process(wanted: int) -> str:
    """The x-oss-process for the smallest configured thumbnail at least `wanted` wide: the
    longest side fitted to the size, never enlarged, in the configured format."""
    settings = clients().settings
    sizes = sorted(settings.THUMBNAIL_SIZES)
    size = next((s for s in sizes if s >= wanted), sizes[-1])
    image_format = "webp" if settings.THUMBNAIL_FORMAT == "WEBP" else "jpg"
    return f"image/resize,l_{size},m_lfit/format,{image_format}"


@bp.get("/images/<image_id>")
def original(image_id: str) -> BaseResponse:
    check_reader()
    return deliver(find_record(image_id).original_key)


@bp.get("/images/<image_id>/thumbnail")
def thumbnail(image_id: str) -> BaseResponse:
    """The smallest thumbnail at least `size` wide (default: the smallest one).

    Pending: a placeholder, not cached. Failed: the original, which is still an image.
    """
    check_reader()
    record = find_record(image_id)
    wanted = request.args.get("size", type=int) or 0
    if clients().settings.THUMBNAILS == "oss-process":
        return deliver(record.original_key, oss_thumbnail_process(wanted))
    if record.thumbnail_status == "failed":
        return deliver(record.original_key)
    if record.thumbnail_status != "ready":
        response = redirect(url_for("static", filename="pending.svg"), 307)
        response.headers["Cache-Control"] = "no-store"
        response.headers["Retry-After"] = "2"
        return response
    sizes = sorted(int(size) for size in record.thumbnail_keys)
    chosen = next((size for size in sizes if size >= wanted), sizes[-1])
    return deliver(record.thumbnail_keys[str(chosen)])
