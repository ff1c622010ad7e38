"""Tagging, symlinks, UploadPartCopy and image processing, as image apps use them."""

from __future__ import annotations

import io
import json

import oss2
import pytest
import requests
from PIL import Image

PART = 100 * 1024


def _jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def test_tagging_round_trips_and_deletes_without_touching_the_bytes(
    bucket: oss2.Bucket, prefix: str
) -> None:
    bucket.put_object(prefix + "t", b"bytes")
    rule = oss2.models.TaggingRule()
    rule.add("camera", "Leica M6")
    rule.add("year", "1984")

    bucket.put_object_tagging(prefix + "t", oss2.models.Tagging(rule))
    tags = bucket.get_object_tagging(prefix + "t").tag_set.tagging_rule
    bucket.delete_object_tagging(prefix + "t")

    assert tags == {"camera": "Leica M6", "year": "1984"}
    assert bucket.get_object_tagging(prefix + "t").tag_set.tagging_rule == {}
    assert bucket.get_object(prefix + "t").read() == b"bytes"


def test_x_oss_tagging_header_tags_puts_and_counts_on_head(
    bucket: oss2.Bucket, prefix: str
) -> None:
    bucket.put_object(prefix + "h", b"h", headers={"x-oss-tagging": "a=1&b=two%20words"})

    tags = bucket.get_object_tagging(prefix + "h").tag_set.tagging_rule

    assert tags == {"a": "1", "b": "two words"}
    assert bucket.head_object(prefix + "h").headers["x-oss-tagging-count"] == "2"


def test_more_than_ten_tags_are_refused(bucket: oss2.Bucket, prefix: str) -> None:
    bucket.put_object(prefix + "many", b"m")
    rule = oss2.models.TaggingRule()
    for n in range(11):
        rule.add(f"k{n}", "v")

    with pytest.raises(oss2.exceptions.ServerError) as raised:
        bucket.put_object_tagging(prefix + "many", oss2.models.Tagging(rule))

    assert raised.value.status == 400


def test_tag_key_over_128_characters_is_refused(bucket: oss2.Bucket, prefix: str) -> None:
    with pytest.raises(oss2.exceptions.ServerError) as raised:
        bucket.put_object(prefix + "long", b"l", headers={"x-oss-tagging": "k" * 129 + "=v"})

    assert raised.value.status == 400
    assert not bucket.object_exists(prefix + "long")


def test_copy_keeps_tags_and_multipart_takes_them_from_initiate(
    bucket: oss2.Bucket, prefix: str
) -> None:
    bucket.put_object(prefix + "src", b"s", headers={"x-oss-tagging": "k=v"})
    bucket.copy_object(bucket.bucket_name, prefix + "src", prefix + "dst")
    upload = bucket.init_multipart_upload(prefix + "mp", headers={"x-oss-tagging": "m=p"})
    part = bucket.upload_part(prefix + "mp", upload.upload_id, 1, b"p")
    bucket.complete_multipart_upload(
        prefix + "mp", upload.upload_id, [oss2.models.PartInfo(1, part.etag)]
    )

    assert bucket.get_object_tagging(prefix + "dst").tag_set.tagging_rule == {"k": "v"}
    assert bucket.get_object_tagging(prefix + "mp").tag_set.tagging_rule == {"m": "p"}


def test_symlink_points_at_its_target_and_get_follows_it(bucket: oss2.Bucket, prefix: str) -> None:
    bucket.put_object(prefix + "target", b"the target")

    bucket.put_symlink(prefix + "target", prefix + "link")

    assert bucket.get_symlink(prefix + "link").target_key == prefix + "target"
    assert bucket.get_object(prefix + "link").read() == b"the target"
    assert bucket.get_object(prefix + "target").read() == b"the target"


def test_upload_part_copy_copies_the_source_range(bucket: oss2.Bucket, prefix: str) -> None:
    source = bytes(range(256)) * (3 * PART // 256)
    bucket.put_object(prefix + "big", source)
    upload = bucket.init_multipart_upload(prefix + "copy")

    first = bucket.upload_part_copy(
        bucket.bucket_name, prefix + "big", (0, PART - 1), prefix + "copy", upload.upload_id, 1
    )
    second = bucket.upload_part_copy(
        bucket.bucket_name, prefix + "big", (PART, 3 * PART - 1), prefix + "copy",
        upload.upload_id, 2,
    )  # fmt: skip
    parts = [oss2.models.PartInfo(1, first.etag), oss2.models.PartInfo(2, second.etag)]
    bucket.complete_multipart_upload(prefix + "copy", upload.upload_id, parts)

    assert bucket.get_object(prefix + "copy").read() == source


def test_image_resize_on_get_and_on_a_signed_url(bucket: oss2.Bucket, prefix: str) -> None:
    bucket.put_object(prefix + "p.jpg", _jpeg(400, 200))
    process = "image/resize,w_100"

    got = bucket.get_object(prefix + "p.jpg", process=process).read()
    url = bucket.sign_url("GET", prefix + "p.jpg", 60, params={"x-oss-process": process})
    signed = requests.get(url, timeout=10)

    assert Image.open(io.BytesIO(got)).size == (100, 50)
    assert signed.status_code == 200
    assert Image.open(io.BytesIO(signed.content)).size == (100, 50)


@pytest.mark.parametrize(
    ("process", "size"),
    [
        ("image/resize,m_lfit,w_100,h_100", (100, 50)),
        ("image/resize,m_mfit,w_100,h_100", (200, 100)),
        ("image/resize,m_fill,w_100,h_100", (100, 100)),
        ("image/resize,m_pad,w_100,h_100", (100, 100)),
        ("image/resize,m_fixed,w_100,h_100", (100, 100)),
        ("image/resize,l_200", (200, 100)),
        ("image/resize,s_50", (100, 50)),
        ("image/resize,w_800", (400, 200)),
        ("image/resize,w_800,limit_0", (800, 400)),
        ("image/crop,w_100,h_80,x_10,y_10", (100, 80)),
        ("image/crop,w_100,h_100,x_100,y_100,r_1", (100, 100)),
        ("image/crop,w_100,h_100,g_se", (100, 100)),
        ("image/sharpen,100/bright,10/contrast,-10/blur,r_3,s_2/interlace,1", (400, 200)),
        ("image/rotate,90", (200, 400)),
        ("image/resize,w_200/rotate,90/crop,h_100", (100, 100)),
    ],
)
def test_image_operations_give_oss_sizes(
    bucket: oss2.Bucket, prefix: str, process: str, size: tuple[int, int]
) -> None:
    bucket.put_object(prefix + "p.jpg", _jpeg(400, 200))

    body = bucket.get_object(prefix + "p.jpg", process=process).read()

    assert Image.open(io.BytesIO(body)).size == size


def test_image_format_quality_and_info(bucket: oss2.Bucket, prefix: str) -> None:
    bucket.put_object(prefix + "p.jpg", _jpeg(40, 20))

    png = bucket.get_object(prefix + "p.jpg", process="image/format,png")
    webp = bucket.get_object(prefix + "p.jpg", process="image/quality,q_50/format,webp")
    info = json.loads(bucket.get_object(prefix + "p.jpg", process="image/info").read())

    assert png.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(png.read())).format == "PNG"
    assert Image.open(io.BytesIO(webp.read())).format == "WEBP"
    assert (info["ImageWidth"]["value"], info["ImageHeight"]["value"]) == ("40", "20")
    assert info["Format"]["value"] == "jpg"


@pytest.mark.parametrize(
    "process", ["image/resize,w_0", "image/resize,m_stretch,w_10", "image/rotate,400"]
)
def test_bad_image_parameters_are_400(bucket: oss2.Bucket, prefix: str, process: str) -> None:
    bucket.put_object(prefix + "p.jpg", _jpeg(40, 20))

    with pytest.raises(oss2.exceptions.ServerError) as raised:
        bucket.get_object(prefix + "p.jpg", process=process)

    assert raised.value.status == 400


def test_image_over_30000_pixels_a_side_is_refused(bucket: oss2.Bucket, prefix: str) -> None:
    out = io.BytesIO()
    Image.new("L", (30_001, 1)).save(out, "PNG")
    bucket.put_object(prefix + "wide.png", out.getvalue())

    with pytest.raises(oss2.exceptions.ServerError) as raised:
        bucket.get_object(prefix + "wide.png", process="image/resize,w_100")

    assert raised.value.status == 400


def test_append_takes_tags_from_its_first_append(bucket: oss2.Bucket, prefix: str) -> None:
    bucket.append_object(prefix + "log", 0, b"one ", headers={"x-oss-tagging": "kind=log"})
    bucket.append_object(prefix + "log", 4, b"two")

    assert bucket.get_object_tagging(prefix + "log").tag_set.tagging_rule == {"kind": "log"}
    assert bucket.get_object(prefix + "log").read() == b"one two"


def test_get_through_a_symlink_to_a_missing_target_is_404(bucket: oss2.Bucket, prefix: str) -> None:
    bucket.put_symlink(prefix + "nowhere", prefix + "dangling")

    with pytest.raises(oss2.exceptions.ServerError) as raised:
        bucket.get_object(prefix + "dangling")

    assert raised.value.status == 404


def test_live_channel_listing_of_a_bucket_without_channels_is_empty(bucket: oss2.Bucket) -> None:
    # oss2's own test harness lists live channels before deleting a bucket.
    assert list(oss2.LiveChannelIterator(bucket)) == []
