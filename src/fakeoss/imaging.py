"""OSS image processing (``x-oss-process=image/...``) with Pillow.

Served: resize, crop, rotate, auto-orient, format, quality, info, and bright, contrast,
sharpen, blur and interlace, chained with ``/``. Other operations (watermark, circle...)
are refused with 501 NotImplemented rather than skipped, so an app never gets the
unprocessed image as if it had been processed.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

from PIL import Image, ImageEnhance, ImageFilter, ImageOps, UnidentifiedImageError

from .errors import invalid_argument
from .subresources import not_implemented

# OSS's limits: a source of at most 20 MB, 30,000 px a side and 250 million pixels;
# a resize target of at most 16,384 px a side.
MAX_SOURCE_BYTES = 20 * 1024 * 1024
MAX_SOURCE_SIDE = 30_000
MAX_SOURCE_PIXELS = 250_000_000
MAX_TARGET_SIDE = 16_384

_FORMATS = {  # OSS name -> (Pillow format, content type, OSS name reported by info)
    "jpg": ("JPEG", "image/jpeg", "jpg"),
    "jpeg": ("JPEG", "image/jpeg", "jpg"),
    "png": ("PNG", "image/png", "png"),
    "webp": ("WEBP", "image/webp", "webp"),
    "gif": ("GIF", "image/gif", "gif"),
    "bmp": ("BMP", "image/bmp", "bmp"),
}
_BY_PILLOW = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp"}
_GRAVITIES = frozenset({"nw", "north", "ne", "west", "center", "east", "sw", "south", "se"})
_NOT_SERVED = frozenset(
    {
        "watermark", "circle", "rounded-corners", "indexcrop", "average-hue", "resize-ext",
    }
)  # fmt: skip


@dataclass
class Processed:
    body: bytes
    content_type: str


@dataclass
class _State:
    image: Image.Image
    format: str  # an OSS format name
    quality: int | None = None
    progressive: bool = False


def process(spec: str, source: bytes) -> Processed:
    """Apply an ``image/...`` process spec to the source image's bytes."""
    steps = [step for step in spec.removeprefix("image/").split("/") if step]
    if not steps:
        raise invalid_argument("The image process is empty.", "x-oss-process", spec)
    for step in steps:
        name = step.split(",", 1)[0]
        if name in _NOT_SERVED:
            raise not_implemented(f"image/{name}", "x-oss-process")
        if name not in _OPERATIONS and name != "info":
            raise invalid_argument(
                f"The image operation {name} is not supported.", "x-oss-process", spec
            )
    state = _open(source)
    for step in steps:
        name, _, args = step.partition(",")
        if name == "info":
            return _info(state, len(source))
        _OPERATIONS[name](state, args)
    return _encode(state)


def _open(source: bytes) -> _State:
    if len(source) > MAX_SOURCE_BYTES:
        raise invalid_argument("The image file is larger than 20 MB.")
    try:
        image = Image.open(io.BytesIO(source))
    except (UnidentifiedImageError, OSError):
        raise invalid_argument("The object is not an image format OSS can process.") from None
    width, height = image.size
    if max(width, height) > MAX_SOURCE_SIDE or width * height > MAX_SOURCE_PIXELS:
        raise invalid_argument(
            f"The image is {width}x{height}: over OSS's limit of {MAX_SOURCE_SIDE} px a side "
            f"and {MAX_SOURCE_PIXELS} pixels."
        )
    found = _BY_PILLOW.get(image.format or "")
    if found is None:
        raise invalid_argument(f"The image format {image.format} is not supported.")
    try:
        image.load()
    except OSError:
        raise invalid_argument("The image is damaged and cannot be processed.") from None
    return _State(image=image, format=found)


def _params(args: str, op: str, allowed: frozenset[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in filter(None, args.split(",")):
        name, sep, value = item.partition("_")
        if not sep or name not in allowed:
            raise invalid_argument(f"The {op} parameter {item} is invalid.", "x-oss-process", item)
        params[name] = value
    return params


def _int(params: dict[str, str], name: str, op: str, low: int, high: int) -> int | None:
    if name not in params:
        return None
    value = params[name]
    if not value.lstrip("-").isdigit() or not low <= int(value) <= high:
        raise invalid_argument(
            f"The {op} parameter {name} must be an integer from {low} to {high}.",
            "x-oss-process",
            f"{name}_{value}",
        )
    return int(value)


def _resize(state: _State, args: str) -> None:
    op = "resize"
    params = _params(args, op, frozenset({"w", "h", "l", "s", "m", "limit", "color", "p"}))
    mode = params.get("m", "lfit")
    if mode not in ("lfit", "mfit", "fill", "pad", "fixed"):
        raise invalid_argument(f"The resize mode {mode} is invalid.", "x-oss-process", f"m_{mode}")
    limit = params.get("limit", "1")
    if limit not in ("0", "1"):
        raise invalid_argument("The resize parameter limit must be 0 or 1.", "x-oss-process")
    width, height = state.image.size
    percent = _int(params, "p", op, 1, 1000)
    box_w = _int(params, "w", op, 1, MAX_TARGET_SIDE)
    box_h = _int(params, "h", op, 1, MAX_TARGET_SIDE)
    long_side = _int(params, "l", op, 1, MAX_TARGET_SIDE)
    short_side = _int(params, "s", op, 1, MAX_TARGET_SIDE)
    if long_side or short_side:  # l and s name the sides by length, not by direction
        wide = width >= height
        box_w = box_w or (long_side if wide else short_side)
        box_h = box_h or (short_side if wide else long_side)
    if percent is not None:
        box_w, box_h = round(width * percent / 100) or 1, round(height * percent / 100) or 1
        mode = "fixed"
    if box_w is None and box_h is None:
        raise invalid_argument("The resize needs w, h, l, s or p.", "x-oss-process", args)
    if mode == "fixed":
        target = (box_w or width, box_h or height)
        scale = max(target[0] / width, target[1] / height)
    else:
        scales = [s for s in (box_w and box_w / width, box_h and box_h / height) if s]
        scale = min(scales) if mode in ("lfit", "pad") or len(scales) == 1 else max(scales)
        target = (max(1, round(width * scale)), max(1, round(height * scale)))
    if limit == "1" and scale > 1:
        return  # OSS does not enlarge unless limit_0
    if max(target) > MAX_TARGET_SIDE:
        raise invalid_argument("The resized image would be over 16384 px a side.", "x-oss-process")
    image = state.image.resize(target, Image.Resampling.LANCZOS)
    if mode == "fill" and box_w and box_h:
        left, top = (target[0] - box_w) // 2, (target[1] - box_h) // 2
        image = image.crop((left, top, left + box_w, top + box_h))
    elif mode == "pad" and box_w and box_h:
        color = "#" + params.get("color", "FFFFFF")
        canvas = Image.new(
            image.mode if image.mode in ("RGB", "RGBA") else "RGB", (box_w, box_h), color
        )
        canvas.paste(image, ((box_w - target[0]) // 2, (box_h - target[1]) // 2))
        image = canvas
    state.image = image


def _crop(state: _State, args: str) -> None:
    op = "crop"
    # r_ is accepted as OSS accepts it (its SDK's own crop test sends r_1).
    params = _params(args, op, frozenset({"w", "h", "x", "y", "g", "r"}))
    width, height = state.image.size
    gravity = params.get("g", "nw")
    if gravity not in _GRAVITIES:
        raise invalid_argument(f"The crop gravity {gravity} is invalid.", "x-oss-process")
    crop_w = _int(params, "w", op, 0, MAX_SOURCE_SIDE) or width
    crop_h = _int(params, "h", op, 0, MAX_SOURCE_SIDE) or height
    x = _int(params, "x", op, 0, MAX_SOURCE_SIDE) or 0
    y = _int(params, "y", op, 0, MAX_SOURCE_SIDE) or 0
    crop_w, crop_h = min(crop_w, width), min(crop_h, height)
    column = {"w": 0, "c": (width - crop_w) // 2, "e": width - crop_w}
    row = {"n": 0, "c": (height - crop_h) // 2, "s": height - crop_h}
    horizontal = {"nw": "w", "west": "w", "sw": "w", "ne": "e", "east": "e", "se": "e"}
    vertical = {"nw": "n", "north": "n", "ne": "n", "sw": "s", "south": "s", "se": "s"}
    left = column[horizontal.get(gravity, "c")] + x
    top = row[vertical.get(gravity, "c")] + y
    if left >= width or top >= height:
        raise invalid_argument("The crop origin is outside the image.", "x-oss-process", args)
    state.image = state.image.crop(
        (left, top, min(left + crop_w, width), min(top + crop_h, height))
    )


def _rotate(state: _State, args: str) -> None:
    if not args.isdigit() or not 0 <= int(args) <= 360:
        raise invalid_argument(
            "The rotate angle must be an integer from 0 to 360.", "x-oss-process"
        )
    if int(args) % 360:
        state.image = state.image.rotate(-int(args), expand=True)  # OSS turns clockwise


def _auto_orient(state: _State, args: str) -> None:
    if args not in ("0", "1"):
        raise invalid_argument("auto-orient must be 0 or 1.", "x-oss-process", args)
    if args == "1":
        state.image = ImageOps.exif_transpose(state.image)


def _format(state: _State, args: str) -> None:
    if args not in _FORMATS:
        raise invalid_argument(f"The format {args} is not supported.", "x-oss-process", args)
    state.format = _FORMATS[args][2]


def _quality(state: _State, args: str) -> None:
    params = _params(args, "quality", frozenset({"q", "Q"}))
    quality = _int(params, "q", "quality", 1, 100) or _int(params, "Q", "quality", 1, 100)
    if quality is None:
        raise invalid_argument("The quality needs q or Q.", "x-oss-process", args)
    state.quality = quality


def _bounded(args: str, op: str, low: int, high: int) -> int:
    if not args.lstrip("-").isdigit() or not low <= int(args) <= high:
        raise invalid_argument(
            f"The {op} value must be an integer from {low} to {high}.", "x-oss-process", args
        )
    return int(args)


def _bright(state: _State, args: str) -> None:
    value = _bounded(args, "bright", -100, 100)
    state.image = ImageEnhance.Brightness(_rgb(state.image)).enhance(1 + value / 100)


def _contrast(state: _State, args: str) -> None:
    value = _bounded(args, "contrast", -100, 100)
    state.image = ImageEnhance.Contrast(_rgb(state.image)).enhance(1 + value / 100)


def _sharpen(state: _State, args: str) -> None:
    value = _bounded(args, "sharpen", 50, 399)
    state.image = _rgb(state.image).filter(ImageFilter.UnsharpMask(percent=value))


def _blur(state: _State, args: str) -> None:
    params = _params(args, "blur", frozenset({"r", "s"}))
    radius = _int(params, "r", "blur", 1, 50)
    sigma = _int(params, "s", "blur", 1, 50)
    if radius is None or sigma is None:
        raise invalid_argument("The blur needs r and s.", "x-oss-process", args)
    state.image = state.image.filter(ImageFilter.GaussianBlur(sigma))


def _interlace(state: _State, args: str) -> None:
    state.progressive = _bounded(args, "interlace", 0, 1) == 1


def _rgb(image: Image.Image) -> Image.Image:
    return image if image.mode in ("RGB", "RGBA", "L") else image.convert("RGBA")


_OPERATIONS = {
    "bright": _bright,
    "contrast": _contrast,
    "sharpen": _sharpen,
    "blur": _blur,
    "interlace": _interlace,
    "resize": _resize,
    "crop": _crop,
    "rotate": _rotate,
    "auto-orient": _auto_orient,
    "format": _format,
    "quality": _quality,
}


def _encode(state: _State) -> Processed:
    pillow_format, content_type, _ = _FORMATS[state.format]
    image = state.image
    if pillow_format == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    options: dict[str, int | bool] = {}
    if state.quality is not None and pillow_format in ("JPEG", "WEBP"):
        options["quality"] = state.quality
    if state.progressive and pillow_format == "JPEG":
        options["progressive"] = True
    out = io.BytesIO()
    image.save(out, pillow_format, **options)
    return Processed(out.getvalue(), content_type)


def _info(state: _State, file_size: int) -> Processed:
    width, height = state.image.size
    info = {
        "FileSize": {"value": str(file_size)},
        "Format": {"value": state.format},
        "ImageHeight": {"value": str(height)},
        "ImageWidth": {"value": str(width)},
    }
    return Processed(json.dumps(info).encode(), "application/json")
