"""Thumbnails: small copies of an image, turned upright, with no EXIF (and so no GPS) left."""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps

from gallery.inspection import FORMATS

SAVE_OPTIONS: dict[str, dict[str, object]] = {
    "WEBP": {"quality": 80, "method": 4},
    "JPEG": {"quality": 82, "optimize": True, "progressive": True},
}


def make_thumbnails(data: bytes, sizes: tuple[int, ...], kind: str) -> dict[int, bytes]:
    """Encode one thumbnail per size (longest side), as `kind` (WEBP or JPEG)."""
    with warnings.catch_warnings():
        # The upload passed the app's pixel limit already; Pillow's global one is not ours.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data), formats=list(FORMATS)) as source:
            largest = max(sizes)
            if source.format == "JPEG":
                source.draft("RGB", (largest, largest))
            # Shrink first (in place: the full-size pixels are freed), then turn and flatten
            # the small copy: one full-size decode at the peak, never two or three.
            source.thumbnail((largest, largest), Image.Resampling.LANCZOS, reducing_gap=3.0)
            upright = ImageOps.exif_transpose(source)
            picture = _flatten(upright, kind)
    thumbnails = {}
    for size in sorted(sizes, reverse=True):
        picture.thumbnail((size, size), Image.Resampling.LANCZOS)
        thumbnails[size] = _encode(picture, kind)
    return thumbnails


def _flatten(image: Image.Image, kind: str) -> Image.Image:
    transparent = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    if not transparent:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    if kind == "WEBP":
        return rgba
    # JPEG has no alpha: lay the picture on white rather than let transparent pixels turn black.
    background = Image.new("RGB", image.size, "white")
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _encode(image: Image.Image, kind: str) -> bytes:
    out = io.BytesIO()
    # No exif= argument: Pillow writes no EXIF block, so the camera's GPS position is gone.
    image.save(out, kind, **SAVE_OPTIONS[kind])
    return out.getvalue()


def content_type_of(kind: str) -> tuple[str, str]:
    """(content type, extension) of a thumbnail format."""
    return FORMATS[kind]
