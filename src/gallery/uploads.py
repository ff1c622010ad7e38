"""Taking an upload in: check it by content, store it, ask for its thumbnails. Shared by the
JSON API and the web page, so both refuse and accept exactly the same files."""

from __future__ import annotations

import contextlib
import logging
import tempfile

import oss2
from flask import Flask
from werkzeug.datastructures import FileStorage

from gallery.clients import clients
from gallery.decoding import decode_slots
from gallery.inspection import UploadRefused, clean_filename, inspect_image
from gallery.metadata import MetadataError, scrub
from gallery.metrics import metrics_of
from gallery.records import ImageRecord, new_image_id
from gallery.tasks import queue_thumbnails

log = logging.getLogger(__name__)
# The scrubbed copy stays in memory up to this size, like werkzeug's own spooled upload.
SPOOL_BYTES = 512 * 1024


def accept_upload(app: Flask, upload: FileStorage | None) -> ImageRecord:
    """`store_upload`, counted in the app's metrics (stored, refused, or failed)."""
    uploads = metrics_of(app).uploads
    try:
        record = store_upload(app, upload)
    except UploadRefused:
        uploads.labels("refused").inc()
        raise
    except Exception:
        uploads.labels("failed").inc()
        raise
    uploads.labels("stored").inc()
    metrics_of(app).upload_bytes.inc(record.size)
    return record


def store_upload(app: Flask, upload: FileStorage | None) -> ImageRecord:
    """Store a checked upload and queue its thumbnails. Raises UploadRefused before any write.

    The file arrives in werkzeug's spooled temporary file (on disk above 500 KB), is copied
    without personal metadata (GPS and the rest of EXIF: gallery.metadata) to a second one, and
    goes to OSS from there part by part, so a large upload is never held in memory whole. An upload
    that fails after its original was written removes it again (or, when OSS itself is what
    failed, leaves it to `flask gallery gc`): nothing is stored that no record names.
    """
    if upload is None or upload.stream is None:
        raise UploadRefused(400, "Send the image in the multipart form field 'file'.")
    filename = clean_filename(upload.filename)
    found = clients(app)
    stream = upload.stream
    with decode_slots(app).held():
        facts = inspect_image(stream, max_pixels=found.settings.MAX_IMAGE_PIXELS)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as clean:
        try:
            scrub(stream, clean, facts.format, facts.orientation)
        except MetadataError as exc:
            raise UploadRefused(422, f"The image is damaged or incomplete ({exc}).") from None
        clean.seek(0, 2)
        size = clean.tell()
        image_id = new_image_id()
        key = found.store.original_key(image_id, facts.extension)
        found.store.put_original(key, clean, size=size, content_type=facts.content_type)
    record = ImageRecord(
        id=image_id,
        filename=filename,
        content_type=facts.content_type,
        size=size,
        width=facts.width,
        height=facts.height,
        original_key=key,
        created_at=ImageRecord.now(),
    )
    try:
        return queue_thumbnails(record, app)
    except BaseException as exc:
        discard(app, record, exc)
        raise


def discard(app: Flask, record: ImageRecord, cause: BaseException) -> None:
    """Undo a failed upload: the client got an error, so the image must not exist."""
    found = clients(app)
    if isinstance(cause, oss2.exceptions.RequestError):
        # OSS did not answer: a delete now would make the client wait a second timeout, and
        # a write it held may still land. gc deletes the whole image later.
        log.warning("upload %s abandoned, left for gc: OSS unreachable", record.id)
        found.catalog.abandon(record.id)
        return
    with contextlib.suppress(oss2.exceptions.OssError):
        found.store.bucket.delete_object(record.original_key)
