"""A memory budget for image work: at most IMAGE_DECODE_CONCURRENCY decodes at once per process.

A decoded image takes about 4 bytes per pixel (RGBA), so one near the 50 Mpx limit needs about
200 MB whatever its file size. The pixel limit bounds one decode; this bounds how many a process
holds at once, so N parallel uploads wait their turn instead of multiplying the peak.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask

from gallery.inspection import UploadRefused

EXTENSION_KEY = "gallery.decode_slots"
# How long an upload waits for a decode slot before it is told to come back.
WAIT_SECONDS = 20.0


class DecodeSlots:
    def __init__(self, limit: int) -> None:
        self.slots = threading.BoundedSemaphore(limit)

    @contextmanager
    def held(self, wait_seconds: float | None = WAIT_SECONDS) -> Iterator[None]:
        if not self.slots.acquire(timeout=wait_seconds):
            raise UploadRefused(503, "The server is busy with other images: try again shortly.")
        try:
            yield
        finally:
            self.slots.release()


def init_app(app: Flask, limit: int) -> None:
    app.extensions[EXTENSION_KEY] = DecodeSlots(limit)


def decode_slots(app: Flask) -> DecodeSlots:
    found: DecodeSlots = app.extensions[EXTENSION_KEY]
    return found
