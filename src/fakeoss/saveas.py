"""``POST ?x-oss-process`` with ``sys/saveas``: process an image and store the result.

The body is ``x-oss-process=image/...|sys/saveas,o_<object>,b_<bucket>``, object and bucket
names in URL-safe base64 (padding optional); without ``b_`` the result goes to the source's
bucket. OSS answers JSON naming what it wrote (``bucket`` only when one was given).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from urllib.parse import unquote_plus

from .errors import invalid_argument
from .subresources import not_implemented

FIELD = "x-oss-process"


@dataclass(frozen=True)
class SaveAs:
    process: str  # the image/... part
    key: str
    bucket: str  # '' when not given: the source's bucket


def _name(encoded: str, what: str, spec: str) -> str:
    try:
        padded = encoded + "=" * (-len(encoded) % 4)
        return base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise invalid_argument(
            f"The {what} in sys/saveas is not URL-safe base64.", FIELD, spec
        ) from None


def parse(body: bytes) -> SaveAs:
    text = body.decode("utf-8", "replace").strip()
    name, sep, spec = text.partition("=")
    if name != FIELD or not sep:
        raise invalid_argument("The body must be x-oss-process=...", FIELD, text[:100])
    spec = unquote_plus(spec)
    process, _, save = spec.rpartition("|")
    if not save.startswith("sys/saveas,") or not process:
        raise invalid_argument("A processing POST needs a process and sys/saveas.", FIELD, spec)
    if not process.startswith("image/"):
        # Video snapshots, document conversion...: other OSS services.
        raise not_implemented(f"x-oss-process={process.split('/', 1)[0]}", FIELD)
    fields = dict(arg.partition("_")[::2] for arg in save.removeprefix("sys/saveas,").split(","))
    if not fields.get("o"):
        raise invalid_argument("sys/saveas needs the target object (o_).", FIELD, spec)
    key = _name(fields["o"], "object", spec)
    bucket = _name(fields["b"], "bucket", spec) if fields.get("b") else ""
    return SaveAs(process=process, key=key, bucket=bucket)


def answer(saved: SaveAs, size: int) -> bytes:
    result: dict[str, str | int] = {"fileSize": size, "object": saved.key, "status": "OK"}
    if saved.bucket:
        result["bucket"] = saved.bucket
    return json.dumps(result).encode()
