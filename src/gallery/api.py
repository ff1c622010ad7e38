"""The JSON API under /api/images. Writes need the bearer token; reads are public unless
GALLERY_PRIVATE_READS."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, jsonify, request, url_for

from gallery.auth import check_reader, token_required
from gallery.clients import clients
from gallery.delivery import find_record, image_document
from gallery.records import ImageRecord, is_image_id
from gallery.tasks import requeue
from gallery.uploads import accept_upload

bp = Blueprint("api", __name__, url_prefix="/api")

DEFAULT_LIMIT = 24
MAX_LIMIT = 100


def requeue_stalled(records: list[ImageRecord]) -> list[ImageRecord]:
    """Queue thumbnails that Redis could not take at upload time; stop at the first refusal.

    Only publishes a job: the records are never written here, so a delete racing a listing
    cannot write a deleted image back.
    """
    for record in records:
        stalled = record.thumbnail_status == "pending" and record.queued_at is None
        if stalled and not requeue(record):
            break
    return records


def page_arguments() -> tuple[int, str | None]:
    text = request.args.get("limit", str(DEFAULT_LIMIT))
    limit = int(text) if text.isdigit() else 0
    if not 1 <= limit <= MAX_LIMIT:
        abort(400, description=f"limit must be a whole number from 1 to {MAX_LIMIT}.")
    cursor = request.args.get("cursor") or None
    if cursor is not None and not is_image_id(cursor):
        abort(400, description="cursor must be the next_cursor of the previous page.")
    return limit, cursor


@bp.post("/images")
@token_required
def upload() -> tuple[Response, int, dict[str, str]]:
    record = accept_upload(current_app, request.files.get("file"))
    location = url_for("api.show", image_id=record.id)
    return jsonify(image_document(record)), 201, {"Location": location}


@bp.get("/images")
def index() -> Response:
    check_reader()
    limit, cursor = page_arguments()
    page = clients().catalog.page(limit=limit, cursor=cursor)
    records = requeue_stalled(page.records)
    return jsonify(
        images=[image_document(record) for record in records], next_cursor=page.next_cursor
    )


@bp.get("/images/<image_id>")
def show(image_id: str) -> Response:
    check_reader()
    (record,) = requeue_stalled([find_record(image_id)])
    return jsonify(image_document(record))


@bp.delete("/images/<image_id>")
@token_required
def delete(image_id: str) -> Response:
    if not clients().catalog.delete(image_id):
        abort(404, description="There is no image with this id.")
    return Response(status=204)
