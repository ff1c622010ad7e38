"""Originals are stored and served without GPS and other personal metadata; orientation and
the colour profile stay."""

from __future__ import annotations

import io

import oss2
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from gallery.metadata import scrub
from support import pictures
from support.gallery import upload

GPS_IFD = 0x8825
ORIENTATION = 0x0112
ICC = b"fake-icc-profile-bytes" * 10


def stored_original(bucket: oss2.Bucket, image_id: str, extension: str) -> Image.Image:
    data = bucket.get_object(f"images/{image_id}/original.{extension}").read()
    return Image.open(io.BytesIO(data))


def jpeg_with_everything(orientation: int = 6) -> bytes:
    image = Image.new("RGB", (64, 32), "orange")
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "PhoneMaker"  # camera make
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (52.0, 31.0, 12.5), 3: "E", 4: (13.0, 24.0, 7.25)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), icc_profile=ICC, comment=b"home sweet home")
    return out.getvalue()


def test_uploaded_jpeg_is_stored_without_gps_but_with_orientation_and_icc(
    api: FlaskClient, bucket: oss2.Bucket
) -> None:
    image_id = upload(api, jpeg_with_everything(), "phone.jpg").json["id"]  # type: ignore[index]
    with stored_original(bucket, image_id, "jpg") as stored:
        exif = stored.getexif()
        assert dict(exif) == {ORIENTATION: 6}
        assert exif.get_ifd(GPS_IFD) == {}
        assert stored.info.get("icc_profile") == ICC
        assert "comment" not in stored.info
        stored.load()


def test_pixels_are_not_re_encoded(api: FlaskClient, bucket: oss2.Bucket) -> None:
    sent = jpeg_with_everything()
    image_id = upload(api, sent, "phone.jpg").json["id"]  # type: ignore[index]
    with Image.open(io.BytesIO(sent)) as original, stored_original(bucket, image_id, "jpg") as kept:
        assert original.tobytes() == kept.tobytes()


def test_png_text_and_exif_chunks_are_dropped(api: FlaskClient, bucket: oss2.Bucket) -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Location", "52.52N 13.40E")
    exif = Image.Exif()
    exif.get_ifd(GPS_IFD).update({2: (52.0, 31.0, 12.5)})
    out = io.BytesIO()
    Image.new("RGB", (20, 10), "teal").save(out, "PNG", pnginfo=info, exif=exif.tobytes())
    image_id = upload(api, out.getvalue()).json["id"]  # type: ignore[index]
    with stored_original(bucket, image_id, "png") as stored:
        assert "Location" not in stored.info
        assert stored.getexif().get_ifd(GPS_IFD) == {}
        stored.load()


def test_webp_exif_is_dropped_and_the_file_stays_valid() -> None:
    exif = Image.Exif()
    exif.get_ifd(GPS_IFD).update({2: (52.0, 31.0, 12.5)})
    out = io.BytesIO()
    Image.new("RGB", (20, 10), "teal").save(out, "WEBP", exif=exif.tobytes(), icc_profile=ICC)
    clean = io.BytesIO()
    scrub(io.BytesIO(out.getvalue()), clean, "WEBP")
    with Image.open(clean) as stored:
        assert stored.getexif().get_ifd(GPS_IFD) == {}
        assert stored.info.get("icc_profile") == ICC
        stored.load()


def test_scrub_metadata_command_rewrites_existing_originals(
    gallery_app: Flask, api: FlaskClient, bucket: oss2.Bucket
) -> None:
    image_id = upload(api, pictures.png()).json["id"]  # type: ignore[index]
    key = f"images/{image_id}/original.png"
    bucket.put_object(key, jpeg_with_everything())  # as an older version stored it
    result = gallery_app.test_cli_runner().invoke(args=["gallery", "scrub-metadata"])
    assert "rewrote 1 originals" in result.output
    with stored_original(bucket, image_id, "png") as stored:
        assert dict(stored.getexif()) == {ORIENTATION: 6}
