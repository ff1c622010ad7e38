"""Helpers for the gallery's tests (the fixtures are in tests/conftest.py)."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

import oss2
import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from gallery.settings import DEV_API_TOKEN

TOKEN = DEV_API_TOKEN
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def bucket_keys(bucket: oss2.Bucket) -> list[str]:
    return sorted(info.key for info in oss2.ObjectIterator(bucket))


def upload(
    client: FlaskClient,
    data: bytes,
    filename: str = "picture.png",
    content_type: str = "image/png",
    headers: dict[str, str] | None = None,
) -> TestResponse:
    return client.post(
        "/api/images",
        data={"file": (io.BytesIO(data), filename, content_type)},
        headers=AUTH if headers is None else headers,
        content_type="multipart/form-data",
    )


def wait_for(condition: Callable[[], Any], *, seconds: float = 20, what: str = "condition") -> Any:
    """Poll until `condition()` is truthy, within a bounded deadline; return its value."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"{what} did not happen within {seconds} s")
