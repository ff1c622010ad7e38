"""Image decodes are bounded per process: the memory budget for image work."""

from __future__ import annotations

import threading

import pytest
from flask import Flask

from gallery.decoding import DecodeSlots, decode_slots
from gallery.inspection import UploadRefused
from support import pictures
from support.gallery import upload


def test_a_full_process_tells_the_next_decode_to_come_back() -> None:
    slots = DecodeSlots(1)
    with slots.held(), pytest.raises(UploadRefused) as refused, slots.held(wait_seconds=0.01):
        pass
    assert refused.value.status == 503


def test_uploads_take_turns_for_the_decode_slot(gallery_app: Flask) -> None:
    slots = decode_slots(gallery_app)
    answers: list[int] = []
    with slots.held():
        worker = threading.Thread(
            target=lambda: answers.append(
                upload(gallery_app.test_client(), pictures.png()).status_code
            )
        )
        worker.start()
        worker.join(timeout=0.3)
        assert answers == []  # waiting for the slot this test holds
    worker.join(timeout=10)
    assert answers == [201]
