"""x-oss-traffic-limit's pacing and gzip's choice, on a controlled clock."""

from __future__ import annotations

import gzip

import pytest

from fakeoss import transfer
from fakeoss.errors import OssError
from support.clock import Clock

LIMIT = 819200  # bit/s: 100 KB/s, OSS's lowest


def test_a_paced_download_takes_as_long_as_its_size_at_the_limit() -> None:
    clock = Clock()
    value = b"a" * 1024 * 1024

    sent = b"".join(transfer.paced(value, LIMIT, clock, clock.sleep))

    assert sent == value
    # The last piece (a tenth of a second's worth) leaves once all before it fit the limit:
    # 1 MiB at 100 KiB/s is 10.24 s, the last piece starts at 10.2 s.
    assert clock.now == pytest.approx(10.2)


def test_an_upload_is_answered_once_its_size_at_the_limit_has_passed() -> None:
    clock = Clock()
    clock.now = 2.0  # the body took 2 s to arrive

    transfer.wait_out_upload(0.0, 1024 * 1024, LIMIT, clock, clock.sleep)

    assert clock.now == pytest.approx(10.24)


def test_an_upload_slower_than_the_limit_is_not_held() -> None:
    clock = Clock()
    clock.now = 20.0

    transfer.wait_out_upload(0.0, 1024 * 1024, LIMIT, clock, clock.sleep)

    assert clock.now == 20.0


@pytest.mark.parametrize("given", ["819199", "838860801", "fast", "-1"])
def test_a_limit_outside_oss_range_is_invalid_argument(given: str) -> None:
    with pytest.raises(OssError) as raised:
        transfer.traffic_limit({"x-oss-traffic-limit": given}, {})

    assert raised.value.code == "InvalidArgument"


def test_a_signed_url_carries_its_limit_as_a_parameter() -> None:
    assert transfer.traffic_limit({}, {"x-oss-traffic-limit": str(LIMIT)}) == LIMIT


@pytest.mark.parametrize(
    ("content_type", "size", "accept", "expected"),
    [
        ("text/plain", 1024, "gzip", True),
        ("application/json; charset=utf-8", 5000, "deflate, gzip;q=0.5", True),
        ("text/plain", 1023, "gzip", False),
        ("image/jpeg", 5000, "gzip", False),
        ("text/plain", 5000, "", False),
    ],
)
def test_gzip_is_for_text_of_at_least_1_kb_when_accepted(
    content_type: str, size: int, accept: str, expected: bool
) -> None:
    assert transfer.compresses(content_type, size, accept) is expected


def test_gzipped_pieces_make_one_gzip_stream() -> None:
    value = b"text " * 50000

    assert gzip.decompress(b"".join(transfer.gzipped(transfer.pieces(value)))) == value
