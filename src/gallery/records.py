"""An image's record: what the gallery knows about one upload, kept as JSON next to it in OSS."""

from __future__ import annotations

import re
import secrets
import time
import uuid
from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict

ThumbnailStatus = Literal["pending", "ready", "failed"]
IMAGE_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
_MAX_MS = (1 << 48) - 1


def new_image_id(now: float | None = None) -> str:
    """A random UUID (version 8, RFC 9562's custom layout) whose first 48 bits count *down*.

    OSS lists keys in ascending byte order, so records named by these ids list newest first,
    which is the order the gallery shows them in, with no index to keep.
    """
    millis = int((time.time() if now is None else now) * 1000)
    value = (_MAX_MS - millis) << 80 | secrets.randbits(80)
    value &= ~(0xF << 76)
    value |= 0x8 << 76  # version 8
    value &= ~(0x3 << 62)
    value |= 0x2 << 62  # RFC 4122 variant
    return str(uuid.UUID(int=value))


def uploaded_at(image_id: str) -> float:
    """When an id was made (Unix time, to the millisecond): its first 48 bits, counted down."""
    return (_MAX_MS - (uuid.UUID(image_id).int >> 80)) / 1000


def is_image_id(text: str) -> bool:
    return IMAGE_ID.fullmatch(text) is not None


class ImageRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    filename: str
    content_type: str
    size: int
    width: int
    height: int
    original_key: str
    created_at: datetime
    thumbnail_status: ThumbnailStatus = "pending"
    # size (longest side, as text: JSON keys) -> object key
    thumbnail_keys: dict[str, str] = {}
    thumbnail_content_type: str | None = None
    # When the thumbnail job was handed to the queue; None while Redis could not take it.
    queued_at: datetime | None = None

    @staticmethod
    def now() -> datetime:
        return datetime.now(timezone.utc).replace(microsecond=0)
