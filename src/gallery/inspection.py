"""What an upload really is, decided by its bytes: never by its name or declared type."""

from __future__ import annotations

import unicodedata
import warnings
from dataclasses import dataclass
from typing import IO

from PIL import Image, UnidentifiedImageError

# Pillow's format name -> (content type, extension). Nothing else is accepted.
FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "GIF": ("image/gif", "gif"),
    "WEBP": ("image/webp", "webp"),
}
MAX_FILENAME_CHARS = 255
# EXIF orientations 5 to 8 turn the picture a quarter: its shown width is its stored height.
QUARTER_TURNS = frozenset({5, 6, 7, 8})


class UploadRefused(Exception):
    """An upload the gallery does not take. `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ImageFacts:
    format: str
    content_type: str
    extension: str
    width: int
    height: int
    # EXIF orientation (1: upright as stored); kept when the rest of EXIF is dropped.
    orientation: int = 1


def clean_filename(name: str | None) -> str:
    """The user's file name as kept in the record: NFC, no control characters, not too long.

    A name with a path in it is refused: browsers send a bare name, so a path is a probe.
    The result is only ever shown (escaped), never used in a key or a path.
    """
    if not name or not name.strip():
        raise UploadRefused(400, "The file has no name.")
    name = unicodedata.normalize("NFC", name.strip())
    if "/" in name or "\\" in name or name in (".", ".."):
        raise UploadRefused(400, "The file name must be a plain name, not a path.")
    if any(unicodedata.category(char).startswith("C") for char in name):
        raise UploadRefused(400, "The file name contains control characters.")
    return name[:MAX_FILENAME_CHARS]


def inspect_image(stream: IO[bytes], *, max_pixels: int) -> ImageFacts:
    """Open, verify and decode the upload with Pillow; raise UploadRefused if it is not fit.

    Leaves the stream at position 0. Decoding is needed because `verify()` checks little for
    JPEG, GIF and WebP: a truncated JPEG only shows itself when its pixels are read. JPEGs are
    decoded at 1/8 scale (DCT scaling), which reads every byte for a fraction of the memory.
    """
    stream.seek(0, 2)
    if stream.tell() == 0:
        raise UploadRefused(400, "The file is empty.")
    try:
        facts = _read_header(stream, max_pixels)
        stream.seek(0)
        with _open(stream) as image:
            image.verify()
        stream.seek(0)
        with _open(stream) as image:
            if image.format == "JPEG":
                image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
            image.load()
    except UploadRefused:
        raise
    except Image.DecompressionBombError:
        raise _too_many_pixels(max_pixels) from None
    except UnidentifiedImageError:
        raise _unsupported() from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        # Pillow reports damaged data as any of these (SyntaxError for broken PNG chunks).
        raise UploadRefused(422, f"The image is damaged or incomplete ({exc}).") from None
    finally:
        stream.seek(0)
    return facts


def _open(stream: IO[bytes]) -> Image.Image:
    # Pillow warns (and over twice its own limit raises) at MAX_IMAGE_PIXELS, a process-wide
    # global; our own, per-app limit is checked in _read_header before any decoding.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(stream, formats=list(FORMATS))


def _read_header(stream: IO[bytes], max_pixels: int) -> ImageFacts:
    stream.seek(0)
    with _open(stream) as image:
        kind = image.format or ""
        if kind not in FORMATS:
            raise _unsupported()
        width, height = image.size
        if width * height > max_pixels:
            raise _too_many_pixels(max_pixels)
        orientation = image.getexif().get(0x0112, 1)
    if orientation in QUARTER_TURNS:
        width, height = height, width
    content_type, extension = FORMATS[kind]
    if not isinstance(orientation, int) or not 1 <= orientation <= 8:
        orientation = 1
    return ImageFacts(kind, content_type, extension, width, height, orientation)


def _unsupported() -> UploadRefused:
    return UploadRefused(415, "The file is not a JPEG, PNG, GIF or WebP image.")


def _too_many_pixels(max_pixels: int) -> UploadRefused:
    return UploadRefused(422, f"The image has more than {max_pixels:,} pixels.")
