"""Pictures made on the spot for the gallery's tests: real images, damaged ones, and bombs."""

from __future__ import annotations

import io
import os
import struct
import zlib

from PIL import Image

ORIENTATION = 0x0112
GPS_IFD = 0x8825


def png(width: int = 64, height: int = 48, color: str = "teal") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def noisy_png(width: int, height: int) -> bytes:
    """A PNG that does not compress: its size on disk is about width * height * 3 bytes."""
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(
        out, "PNG", compress_level=0
    )
    return out.getvalue()


def jpeg(
    width: int = 80,
    height: int = 40,
    *,
    orientation: int | None = None,
    with_gps: bool = False,
) -> bytes:
    """A JPEG, optionally with an EXIF orientation and a GPS position (as phones write)."""
    image = Image.new("RGB", (width, height), "orange")
    image.paste(Image.new("RGB", (width // 4, height), "navy"), (0, 0))  # a dark left edge
    exif = Image.Exif()
    if orientation is not None:
        exif[ORIENTATION] = orientation
    if with_gps:
        exif.get_ifd(GPS_IFD).update({1: "N", 2: (48.0, 51.0, 30.0), 3: "E", 4: (2.0, 17.0, 40.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (30, 20), 3).save(out, "GIF")
    return out.getvalue()


def webp() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (30, 20), (255, 0, 0, 128)).save(out, "WEBP")
    return out.getvalue()


def bmp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (10, 10), "red").save(out, "BMP")
    return out.getvalue()


def truncated_jpeg() -> bytes:
    whole = jpeg(400, 300)
    return whole[: len(whole) // 2]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A PNG whose header declares width x height pixels (900 million by default) with a
    tiny body: decoding it would need gigabytes, reading it costs nothing."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    body = zlib.compress(b"\0" * (width + 1) * 8)  # a few rows of zeros, then it just ends
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", body)
        + _chunk(b"IEND", b"")
    )
