"""Conditional requests: If-Match and friends on GET/HEAD, x-oss-copy-source-if-* on copies.

OSS answers a failed If-Match / If-Unmodified-Since with 412 PreconditionFailed and a failed
If-None-Match / If-Modified-Since with 304 Not Modified, for reads and for copy sources alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from email.utils import parsedate_to_datetime

from .errors import OssError
from .records import ObjectRecord


class NotModified(Exception):
    """The object has not changed: answer 304 with no body."""


def _etag_matches(header: str, etag: str) -> bool:
    wanted = {tag.strip().strip('"').upper() for tag in header.split(",")}
    return "*" in wanted or etag.strip('"').upper() in wanted


def _parse_date(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None  # OSS, like HTTP, ignores a date it cannot read


def _precondition_failed(condition: str) -> OssError:
    return OssError(
        412,
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold.",
        Condition=condition,
    )


def check(headers: Mapping[str, str], record: ObjectRecord, prefix: str = "") -> None:
    """Raise PreconditionFailed or NotModified when the request's conditions fail.

    ``prefix`` is "" for GET/HEAD and "x-oss-copy-source-" for a copy's source.
    """
    names = {
        "match": prefix + "if-match",
        "none": prefix + "if-none-match",
        "modified": prefix + "if-modified-since",
        "unmodified": prefix + "if-unmodified-since",
    }
    modified_at = int(record.last_modified.timestamp())
    if names["match"] in headers:
        if not _etag_matches(headers[names["match"]], record.etag):
            raise _precondition_failed(_title(names["match"]))
    elif names["unmodified"] in headers:
        since = _parse_date(headers[names["unmodified"]])
        if since is not None and modified_at > since:
            raise _precondition_failed(_title(names["unmodified"]))
    if names["none"] in headers:
        if _etag_matches(headers[names["none"]], record.etag):
            raise NotModified
    elif names["modified"] in headers:
        since = _parse_date(headers[names["modified"]])
        if since is not None and modified_at <= since:
            raise NotModified


def _title(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))
