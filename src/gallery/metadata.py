"""Personal metadata out of originals, without touching a pixel.

Kept: the pixels as sent (no re-encoding), the ICC colour profile (JPEG APP2, PNG iCCP, WebP
ICCP), JFIF/Adobe colour markers, and the EXIF orientation (rewritten as the only EXIF tag, so
viewers still turn the picture upright). Dropped: every other EXIF tag (GPS position, camera
serial, dates, maker notes), XMP, IPTC/Photoshop blocks, JPEG comments, PNG text chunks and
time stamps. GIF carries no EXIF and is kept as sent.

Works chunk by chunk from one file to another, so a large upload is never held in memory.
"""

from __future__ import annotations

import struct
import zlib
from typing import IO

from PIL import Image

ORIENTATION = 0x0112
COPY_CHUNK = 64 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_DROPPED = frozenset({b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"})
WEBP_DROPPED = frozenset({b"EXIF", b"XMP "})
# JPEG markers: APP1 (EXIF, XMP), APP3..APP13 (IPTC/Photoshop and vendors), APP15, COM.
JPEG_DROPPED = frozenset({0xE1, *range(0xE3, 0xEE), 0xEF, 0xFE})
JPEG_SOS = 0xDA


class MetadataError(ValueError):
    """The file's structure is not what its format promises."""


def orientation_exif(orientation: int, *, with_header: bool) -> bytes:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    data = exif.tobytes()  # b"Exif\0\0" + TIFF
    return data if with_header else data[6:]


def scrub(source: IO[bytes], target: IO[bytes], kind: str, orientation: int = 1) -> None:
    """Copy `source` to `target` without personal metadata. `kind` is Pillow's format name;
    `orientation` the EXIF orientation read from the file (kept when it is not 1)."""
    source.seek(0)
    if kind == "JPEG":
        _scrub_jpeg(source, target, orientation)
    elif kind == "PNG":
        _scrub_png(source, target, orientation)
    elif kind == "WEBP":
        _scrub_webp(source, target, orientation)
    else:
        _copy(source, target, None)
    target.seek(0)


def _read(source: IO[bytes], size: int) -> bytes:
    data = source.read(size)
    if len(data) != size:
        raise MetadataError("the file ends inside a block")
    return data


def _copy(source: IO[bytes], target: IO[bytes], size: int | None) -> None:
    while size is None or size > 0:
        chunk = source.read(COPY_CHUNK if size is None else min(COPY_CHUNK, size))
        if not chunk:
            if size:
                raise MetadataError("the file ends inside a block")
            return
        target.write(chunk)
        if size is not None:
            size -= len(chunk)


def _skip(source: IO[bytes], size: int) -> None:
    source.seek(size, 1)


def _scrub_jpeg(source: IO[bytes], target: IO[bytes], orientation: int) -> None:
    if _read(source, 2) != b"\xff\xd8":
        raise MetadataError("not a JPEG")
    target.write(b"\xff\xd8")
    wrote_orientation = orientation == 1
    while True:
        marker = _read(source, 2)
        while marker[1] == 0xFF:  # fill bytes before a marker
            marker = marker[1:] + _read(source, 1)
        if marker[0] != 0xFF:
            raise MetadataError("a JPEG segment does not start with a marker")
        code = marker[1]
        if not wrote_orientation and code != 0xE0:
            # Right after SOI or JFIF's APP0, where EXIF sits: the orientation alone.
            _write_jpeg_exif(target, orientation)
            wrote_orientation = True
        if code == JPEG_SOS:
            target.write(marker)
            _copy(source, target, None)  # entropy-coded data and the rest: pixels only
            return
        if 0xD0 <= code <= 0xD7 or code == 0x01:
            target.write(marker)
            continue
        (length,) = struct.unpack(">H", _read(source, 2))
        if length < 2:
            raise MetadataError("a JPEG segment is too short")
        if code in JPEG_DROPPED:
            _skip(source, length - 2)
            continue
        target.write(marker + struct.pack(">H", length))
        _copy(source, target, length - 2)


def _write_jpeg_exif(target: IO[bytes], orientation: int) -> None:
    payload = orientation_exif(orientation, with_header=True)
    target.write(b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload)


def _scrub_png(source: IO[bytes], target: IO[bytes], orientation: int) -> None:
    if _read(source, 8) != PNG_SIGNATURE:
        raise MetadataError("not a PNG")
    target.write(PNG_SIGNATURE)
    while True:
        header = source.read(8)
        if not header:
            return
        if len(header) != 8:
            raise MetadataError("the file ends inside a PNG chunk")
        length, kind = struct.unpack(">I4s", header)
        if kind in PNG_DROPPED:
            _skip(source, length + 4)
            continue
        target.write(header)
        _copy(source, target, length + 4)
        if kind == b"IHDR" and orientation != 1:
            _write_png_chunk(target, b"eXIf", orientation_exif(orientation, with_header=False))
        if kind == b"IEND":
            return


def _write_png_chunk(target: IO[bytes], kind: bytes, data: bytes) -> None:
    target.write(struct.pack(">I", len(data)) + kind + data)
    target.write(struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def _scrub_webp(source: IO[bytes], target: IO[bytes], orientation: int) -> None:
    header = _read(source, 12)
    if header[:4] != b"RIFF" or header[8:12] != b"WEBP":
        raise MetadataError("not a WebP")
    (riff_size,) = struct.unpack("<I", header[4:8])
    end = 8 + riff_size
    body_start = target.tell()
    target.write(header)
    while source.tell() < end:
        chunk_header = source.read(8)
        if len(chunk_header) < 8:
            break
        kind, size = chunk_header[:4], struct.unpack("<I", chunk_header[4:])[0]
        padded = size + (size & 1)
        if kind in WEBP_DROPPED:
            _skip(source, padded)
            continue
        if kind == b"VP8X":
            flags = bytearray(_read(source, padded))
            flags[0] &= ~0x0C  # EXIF (0x08) and XMP (0x04) present
            if orientation != 1:
                flags[0] |= 0x08
            target.write(chunk_header + bytes(flags))
            continue
        target.write(chunk_header)
        _copy(source, target, padded)
    if orientation != 1 and _has_vp8x(target, body_start):
        exif = orientation_exif(orientation, with_header=False)
        target.write(b"EXIF" + struct.pack("<I", len(exif)) + exif + b"\0" * (len(exif) & 1))
    total = target.tell() - body_start
    target.seek(body_start + 4)
    target.write(struct.pack("<I", total - 8))
    target.seek(body_start + total)


def _has_vp8x(target: IO[bytes], body_start: int) -> bool:
    # A simple WebP (no VP8X chunk) cannot carry EXIF: its orientation is lost, not wrong.
    here = target.tell()
    target.seek(body_start + 12)
    kind = target.read(4)
    target.seek(here)
    return kind == b"VP8X"
