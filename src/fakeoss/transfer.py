"""How an object's bytes travel: OSS's single-connection bandwidth limit and gzip compression.

``x-oss-traffic-limit`` (a header, or a signed URL's parameter) caps one request's transfer,
in bit/s, from 819200 (100 KB/s) to 838860800 (100 MB/s): an upload is answered no sooner than
the limit allows, a download is sent at that pace. ``Accept-Encoding: gzip`` on a GET of a
text object of at least 1 KB is answered compressed, chunked and without a Content-Length.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping

from .errors import invalid_argument

TRAFFIC_LIMIT = "x-oss-traffic-limit"
MIN_TRAFFIC_LIMIT = 100 * 1024 * 8
MAX_TRAFFIC_LIMIT = 100 * 1024 * 1024 * 8
# How often a paced download sends: a tenth of a second's worth of bytes at a time.
PACE_SECONDS = 0.1
# What OSS compresses (its GetObject documentation), from this size on.
COMPRESSIBLE_TYPES = frozenset(
    {
        "text/cache-manifest",
        "text/xml",
        "text/plain",
        "text/css",
        "application/javascript",
        "application/x-javascript",
        "application/rss+xml",
        "application/json",
        "text/json",
    }
)
MIN_COMPRESSED_BYTES = 1024
CHUNK_BYTES = 64 * 1024


def traffic_limit(headers: Mapping[str, str], params: Mapping[str, str]) -> int | None:
    """The request's bandwidth cap in bit/s, or None; out of OSS's range is InvalidArgument."""
    given = headers.get(TRAFFIC_LIMIT) or params.get(TRAFFIC_LIMIT)
    if given is None:
        return None
    if not given.isdigit() or not MIN_TRAFFIC_LIMIT <= int(given) <= MAX_TRAFFIC_LIMIT:
        raise invalid_argument(
            f"x-oss-traffic-limit must be between {MIN_TRAFFIC_LIMIT} and {MAX_TRAFFIC_LIMIT}",
            TRAFFIC_LIMIT,
            given,
        )
    return int(given)


def transfer_seconds(size: int, limit: int) -> float:
    return size * 8 / limit


def wait_out_upload(
    started: float,
    size: int,
    limit: int,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Hold an upload's answer until ``size`` bytes could have come in at ``limit``."""
    remaining = started + transfer_seconds(size, limit) - clock()
    if remaining > 0:
        sleep(remaining)


def paced(
    value: bytes,
    limit: int,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[bytes]:
    """``value`` in pieces, each sent no sooner than ``limit`` allows."""
    step = max(1, int(limit / 8 * PACE_SECONDS))
    started = clock()
    for offset in range(0, len(value), step):
        due = started + transfer_seconds(offset, limit)
        ahead = due - clock()
        if ahead > 0:
            sleep(ahead)
        yield value[offset : offset + step]


def compresses(content_type: str, size: int, accept_encoding: str) -> bool:
    accepted = {part.split(";", 1)[0].strip().lower() for part in accept_encoding.split(",")}
    media_type = content_type.split(";", 1)[0].strip().lower()
    return "gzip" in accepted and media_type in COMPRESSIBLE_TYPES and size >= MIN_COMPRESSED_BYTES


def gzipped(chunks: Iterable[bytes]) -> Iterator[bytes]:
    compressor = zlib.compressobj(wbits=31)  # 31: the gzip container
    for chunk in chunks:
        out = compressor.compress(chunk)
        if out:
            yield out
    yield compressor.flush()


def pieces(value: bytes) -> Iterator[bytes]:
    for offset in range(0, len(value), CHUNK_BYTES):
        yield value[offset : offset + CHUNK_BYTES]
