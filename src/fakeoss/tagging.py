"""Object tags: the x-oss-tagging header, the Tagging XML document and OSS's limits."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from .errors import OssError

MAX_TAGS = 10
MAX_KEY_CHARS = 128
MAX_VALUE_CHARS = 256
# Besides letters and digits (any script), OSS allows spaces and these in keys and values.
ALLOWED_PUNCTUATION = frozenset(" +-=._:/")


def _allowed(text: str) -> bool:
    return all(c.isalnum() or c in ALLOWED_PUNCTUATION for c in text)


def _invalid_tag(message: str) -> OssError:
    return OssError(400, "InvalidTag", message)


def check(tags: list[tuple[str, str]]) -> dict[str, str]:
    if len(tags) > MAX_TAGS:
        raise _invalid_tag(f"Object tags cannot be greater than {MAX_TAGS}")
    found: dict[str, str] = {}
    for key, value in tags:
        if not 1 <= len(key) <= MAX_KEY_CHARS:
            raise _invalid_tag(f"The tag key must be 1 to {MAX_KEY_CHARS} characters long.")
        if len(value) > MAX_VALUE_CHARS:
            raise _invalid_tag(f"The tag value must be at most {MAX_VALUE_CHARS} characters long.")
        if not _allowed(key) or not _allowed(value):
            raise _invalid_tag(
                "The tag key and value may hold letters, digits, spaces and + - = . _ : / only."
            )
        if key in found:
            raise _invalid_tag("Cannot provide multiple tags with the same key.")
        found[key] = value
    return found


def from_header(value: str) -> dict[str, str]:
    """``x-oss-tagging: k1=v1&k2=v2`` (URL-encoded, as oss2's Tagging.to_query_string)."""
    return check(parse_qsl(value, keep_blank_values=True))


def from_xml(body: bytes) -> dict[str, str]:
    try:
        root = ElementTree.fromstring(body)  # noqa: S314 - bodies come from local test clients
    except ElementTree.ParseError:
        root = None
    tag_set = root.find("TagSet") if root is not None and root.tag == "Tagging" else None
    if tag_set is None:
        raise OssError(400, "MalformedXML", "The XML you provided was not well-formed.")
    pairs = [
        (node.findtext("Key") or "", node.findtext("Value") or "")
        for node in tag_set.findall("Tag")
    ]
    return check(pairs)


def to_xml(tags: dict[str, str]) -> bytes:
    items = "".join(
        f"<Tag><Key>{escape(k)}</Key><Value>{escape(v)}</Value></Tag>" for k, v in tags.items()
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Tagging><TagSet>{items}</TagSet></Tagging>'
    ).encode()
