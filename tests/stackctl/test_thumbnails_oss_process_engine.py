"""THUMBNAILS=oss-process on the real stack: nginx -> gunicorn -> fakeoss's image service.

A stack copy of its own (project name and port), as in test_stack_engine.
"""

from __future__ import annotations

import io
import os
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from support.stack_copy import copy_project
from support.stacks import (
    WELCOME,
    StackUnderTest,
    remove_project_images,
    upload_png,
    wait_for_text,
)

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def oss_process_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackUnderTest]:
    directory: Path = tmp_path_factory.mktemp("stack-oss-process")
    environ = {**os.environ, **copy_project(directory), "THUMBNAILS": "oss-process"}
    found = StackUnderTest(directory, environ)
    try:
        found.stack().up()
        yield found
    finally:
        stack = found.stack()
        stack.down(volumes=True)
        remove_project_images(stack)


def test_thumbnail_through_nginx_is_made_by_x_oss_process(
    oss_process_stack: StackUnderTest,
) -> None:
    port = oss_process_stack.port
    assert wait_for_text(port, "/main/", WELCOME) == WELCOME
    created = upload_png(port)  # 640 x 480

    # No waiting for the worker: OSS resizes the original on request. The app's OSS timeout
    # is short (READINESS_TIMEOUT): on a loaded machine a first try may time out (503).
    url = f"http://127.0.0.1:{port}{created['thumbnail_url']}"
    body, answers = fetch_until_ok(url, seconds=30)

    assert body is not None, f"{answers}; web log:\n{web_log(oss_process_stack)}"
    thumbnail = Image.open(io.BytesIO(body))
    assert (thumbnail.format, thumbnail.size) == ("WEBP", (320, 240))


def fetch_until_ok(url: str, seconds: float) -> tuple[bytes | None, list[str]]:
    answers: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.read(), answers
        except OSError as exc:  # HTTPError and URLError are OSErrors
            answers.append(repr(exc))
            time.sleep(1)
    return None, answers


def web_log(under_test: StackUnderTest) -> str:
    stack = under_test.stack()
    web = under_test.container_ids()["web"]
    text: bytes = stack.api.logs(web, tail=40)
    return text.decode(errors="replace")
