"""What the fake knows about an object or upload beyond the bytes moto keeps."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

# Standard headers OSS stores with an object and returns on GET and HEAD.
STORED_HEADERS = (
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "expires",
)

# What the request that makes an object sets on it: an upload keeps them from its
# InitiateMultipartUpload to the object it completes, an append from the first append on.
OBJECT_SETTINGS = (
    "content_type",
    "user_meta",
    "headers",
    "acl",
    "storage_class",
    "tags",
    "server_side_encryption",
)


@dataclass
class ObjectRecord:
    key: str
    size: int
    etag: str  # quoted upper-case hex, as OSS writes it
    last_modified: datetime
    crc64: int
    object_type: str  # Normal, Appendable or Multipart
    content_type: str
    user_meta: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    acl: str = "default"
    storage_class: str = "Standard"
    tags: dict[str, str] = field(default_factory=dict)
    symlink_target: str = ""  # for object_type "Symlink"
    # Archive objects: when a RestoreObject finishes (epoch seconds), None if never asked.
    restore_ready_at: float | None = None
    restore_days: int = 1  # how long the restored copy stays readable
    server_side_encryption: str = ""

    def restored(self) -> bool:
        return self.restore_ready_at is not None and time.time() >= self.restore_ready_at

    def restore_info(self) -> str:
        """OSS's x-oss-restore header (and a listing's RestoreInfo); '' if never restored."""
        if self.restore_ready_at is None:
            return ""
        if not self.restored():
            return 'ongoing-request="true"'
        ready = datetime.fromtimestamp(self.restore_ready_at, timezone.utc)
        expiry = format_datetime(ready + timedelta(days=self.restore_days), usegmt=True)
        return f'ongoing-request="false", expiry-date="{expiry}"'


@dataclass
class UploadRecord:
    upload_id: str
    key: str
    initiated: datetime
    content_type: str
    user_meta: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    acl: str = "default"
    storage_class: str = "Standard"
    tags: dict[str, str] = field(default_factory=dict)
    server_side_encryption: str = ""


@dataclass
class PartRecord:
    number: int
    size: int
    etag: str
    crc64: int
    md5: bytes
    last_modified: datetime


def object_settings(source: ObjectRecord | UploadRecord) -> dict[str, Any]:
    """``source``'s OBJECT_SETTINGS, as keyword arguments for the record that takes them on."""
    return {name: getattr(source, name) for name in OBJECT_SETTINGS}
