"""Taking an upload in: check it by content, store it, ask for its thumbnails. Shared by the
JSON API and the web page, so both refuse and accept exactly the same files."""

from __future__ import annotations

from flask import Flask
from werkzeug.datastructures import FileStorage

from gallery.clients import clients
from gallery.inspection import UploadRefused, clean_filename, inspect_image
from gallery.records import ImageRecord, new_image_id
from gallery.tasks import queue_thumbnails


def accept_upload(app: Flask, upload: FileStorage | None) -> ImageRecord:
    """Store a checked upload and queue its thumbnails. Raises UploadRefused before any write.

    The file arrives in werkzeug's spooled temporary file (on disk above 500 KB), and goes to
    OSS from there part by part, so a large upload is never held in memory whole.
    """
    if upload is None or upload.stream is None:
        raise UploadRefused(400, "Send the image in the multipart form field 'file'.")
    filename = clean_filename(upload.filename)
    found = clients(app)
    stream = upload.stream
    facts = inspect_image(stream, max_pixels=found.settings.MAX_IMAGE_PIXELS)
    stream.seek(0, 2)
    size = stream.tell()
    image_id = new_image_id()
    key = found.store.original_key(image_id, facts.extension)
    found.store.put_original(key, stream, size=size, content_type=facts.content_type)
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
    return queue_thumbnails(record, app)
