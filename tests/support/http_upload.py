"""An upload as a client of the running stack sends it: a PNG posted to /api/images over HTTP
with the develop API token. Engine tests and benchmarks share it (`support.http_upload`)."""

from __future__ import annotations

import io
import json
import urllib.request
import uuid
from typing import Any

from PIL import Image

from gallery.settings import DEV_API_TOKEN


def png(size: tuple[int, int] = (64, 48), colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    image = io.BytesIO()
    Image.new("RGB", size, colour).save(image, "PNG")
    return image.getvalue()


def multipart_png(data: bytes, filename: str) -> tuple[bytes, str]:
    """The request body and its Content-Type for one file field named `file`."""
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: image/png\r\n\r\n".encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def post_png(
    base: str, data: bytes, filename: str = "red.png", timeout: float = 10
) -> tuple[int, dict[str, Any]]:
    """POST the PNG to `base`/api/images; (status, JSON answer). An HTTP error raises."""
    body, content_type = multipart_png(data, filename)
    request = urllib.request.Request(
        f"{base}/api/images",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {DEV_API_TOKEN}", "Content-Type": content_type},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, json.load(response)
