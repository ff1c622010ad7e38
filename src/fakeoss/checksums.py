"""OSS's checksums: CRC64-ECMA (through oss2's own implementation) and MD5 ETags."""

from __future__ import annotations

import base64
import hashlib

from oss2.utils import Crc64


def crc64(data: bytes) -> int:
    crc = Crc64()
    crc.update(data)
    return int(crc.crc)


def crc64_combine(first: int, second: int, second_length: int) -> int:
    """The CRC64 of two byte strings joined, from the CRC64 of each."""
    return int(Crc64().combine(first, second, second_length))


def md5_etag(digest: bytes) -> str:
    return '"' + digest.hex().upper() + '"'


def multipart_etag(part_digests: list[bytes]) -> str:
    combined = hashlib.md5(b"".join(part_digests)).hexdigest().upper()  # noqa: S324 - an ETag, not security
    return f'"{combined}-{len(part_digests)}"'


def content_md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode("ascii")  # noqa: S324 - HTTP's Content-MD5
