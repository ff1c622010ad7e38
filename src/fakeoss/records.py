"""What the fake knows about an object or upload beyond the bytes moto keeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# Standard headers OSS stores with an object and returns on GET and HEAD.
STORED_HEADERS = (
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "expires",
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
    server_side_encryption: str = ""


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
