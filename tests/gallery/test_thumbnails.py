"""Thumbnail making, without a worker: Pillow in, bytes out."""

from __future__ import annotations

import io

from PIL import Image

from gallery.thumbnails import make_thumbnails
from support import pictures


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_one_thumbnail_per_size_within_its_box() -> None:
    made = make_thumbnails(pictures.png(1000, 500), (320, 1024), "WEBP")
    assert sorted(made) == [320, 1024]
    assert opened(made[320]).size == (320, 160)
    assert opened(made[1024]).size == (1000, 500)  # never enlarged


def test_thumbnails_are_in_the_chosen_format() -> None:
    made = make_thumbnails(pictures.png(), (32,), "JPEG")
    assert opened(made[32]).format == "JPEG"
    made = make_thumbnails(pictures.png(), (32,), "WEBP")
    assert opened(made[32]).format == "WEBP"


def test_exif_orientation_is_honoured() -> None:
    # Stored 80 wide and 40 high, with orientation 6: the camera was turned, the picture stands.
    made = make_thumbnails(pictures.jpeg(80, 40, orientation=6), (64,), "JPEG")
    thumbnail = opened(made[64])
    assert thumbnail.size == (32, 64)
    # The dark stripe on the stored picture's left edge is now at the top.
    top = thumbnail.convert("RGB").getpixel((16, 2))
    assert isinstance(top, tuple)
    assert sum(top) < 250


def test_gps_position_is_stripped() -> None:
    original = pictures.jpeg(with_gps=True)
    assert opened(original).getexif().get_ifd(pictures.GPS_IFD)
    for kind in ("JPEG", "WEBP"):
        thumbnail = opened(make_thumbnails(original, (64,), kind)[64])
        assert not thumbnail.getexif().get_ifd(pictures.GPS_IFD)
        assert "exif" not in thumbnail.info


def test_transparency_survives_in_webp_and_turns_white_in_jpeg() -> None:
    webp = opened(make_thumbnails(pictures.webp(), (32,), "WEBP")[32])
    assert webp.mode == "RGBA"
    jpeg = opened(make_thumbnails(pictures.webp(), (32,), "JPEG")[32]).convert("RGB")
    red, green, blue = jpeg.getpixel((5, 5))  # type: ignore[misc]
    # Half-transparent red on white is pink, not dark red on black.
    assert red > 240
    assert min(green, blue) > 100
