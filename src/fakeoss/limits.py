"""OSS's limits on names, sizes and metadata (from OSS's documentation)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from .errors import OssError, invalid_argument

MAX_KEY_BYTES = 1023
MAX_USER_METADATA_BYTES = 8 * 1024
MAX_OBJECT_BYTES = 5 * 1024**3
MIN_PART_BYTES = 100 * 1024
MAX_PART_NUMBER = 10_000
MAX_LIST_KEYS = 1000
USER_META_PREFIX = "x-oss-meta-"

_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


def check_bucket_name(name: str) -> None:
    if not _BUCKET_NAME.match(name):
        raise OssError(
            400, "InvalidBucketName", "The specified bucket is not valid.", BucketName=name
        )


def check_key(key: str) -> None:
    encoded = key.encode("utf-8", errors="surrogatepass")
    if not 1 <= len(encoded) <= MAX_KEY_BYTES or key[0] in "/\\":
        raise OssError(
            400,
            "InvalidObjectName",
            "The specified object is not valid: 1 to 1023 bytes of UTF-8, "
            "not starting with / or \\.",
        )


def user_metadata(headers: Mapping[str, str]) -> dict[str, str]:
    """The ``x-oss-meta-*`` headers, names lower-cased without the prefix."""
    meta = {
        name[len(USER_META_PREFIX) :]: value
        for name, value in headers.items()
        if name.startswith(USER_META_PREFIX)
    }
    size = sum(len(USER_META_PREFIX) + len(k) + len(v.encode()) for k, v in meta.items())
    if size > MAX_USER_METADATA_BYTES:
        raise invalid_argument("Your metadata headers exceed the maximum allowed metadata size.")
    return meta


def check_object_size(size: int) -> None:
    if size > MAX_OBJECT_BYTES:
        raise OssError(
            400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size."
        )


def parse_max(value: str | None, default: int, name: str, maximum: int = MAX_LIST_KEYS) -> int:
    if value is None or value == "":
        return default
    if not value.isdigit() or not 1 <= int(value) <= maximum:
        raise invalid_argument(f"{name} must be an integer from 1 to {maximum}.", name, value)
    return int(value)


def parse_part_number(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_PART_NUMBER:
        raise invalid_argument(
            "Part number must be an integer between 1 and 10000, inclusive.", "partNumber", value
        )
    return int(value)
