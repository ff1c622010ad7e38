"""Helpers for the gallery's tests (the fixtures are in tests/conftest.py)."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable
from typing import Any

import oss2
import pytest
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage
from werkzeug.security import generate_password_hash
from werkzeug.test import TestResponse, encode_multipart

from gallery.settings import DEV_API_TOKEN

TOKEN = DEV_API_TOKEN
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# The production config with secrets of its own (not the development defaults it refuses).
PRODUCTION_OVERRIDES = {
    "CONFIG_NAME": "production",
    "SECRET_KEY": "s" * 40,
    "GALLERY_API_TOKEN": "t" * 40,
    "GALLERY_ADMIN_PASSWORD_HASH": "scrypt:32768:8:1$salt$" + "0" * 128,
}


def bucket_keys(bucket: oss2.Bucket) -> list[str]:
    return sorted(info.key for info in oss2.ObjectIterator(bucket))


def upload(
    client: FlaskClient,
    data: bytes,
    filename: str = "picture.png",
    content_type: str = "image/png",
    headers: dict[str, str] | None = None,
) -> TestResponse:
    body, form_type = multipart({"file": (data, filename, content_type)})
    return client.post(
        "/api/images",
        data=body,
        headers=AUTH if headers is None else headers,
        content_type=form_type,
    )


def multipart(fields: dict[str, str | tuple[bytes, str, str]]) -> tuple[bytes, str]:
    """A multipart/form-data body, encoded in memory.

    werkzeug's test client spools bodies over 500 KB to a temporary file that it never closes
    when the app answers without reading it (a 413), which pytest reports as a ResourceWarning.
    """
    values: dict[str, str | FileStorage] = {}
    for name, value in fields.items():
        if isinstance(value, str):
            values[name] = value
        else:
            data, filename, content_type = value
            values[name] = FileStorage(io.BytesIO(data), filename, content_type=content_type)
    boundary, body = encode_multipart(values)
    return body, f"multipart/form-data; boundary={boundary}"


def wait_for(condition: Callable[[], Any], *, seconds: float = 20, what: str = "condition") -> Any:
    """Poll until `condition()` is truthy, within a bounded deadline; return its value."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"{what} did not happen within {seconds} s")


# The develop hash of "admin" is scrypt, 80 ms of CPU a check by design. These tests check
# passwords about forty times for what happens around the check (sessions, CSRF, redirects,
# throttling), so their app holds a cheap hash of the same password; the first test below logs in
# through the shipped one.
CHEAP_ADMIN_HASH = generate_password_hash("admin", method="pbkdf2:sha256:1")


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no CSRF field"
    return found.group(1)
