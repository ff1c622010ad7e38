"""The stack keyless: web and worker take the ECS RAM role's credentials from the local metadata
service (compose.yaml's `keyless` profile), as production does on ECS.

A stack copy of its own (project name and port), as in test_stack_engine.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.stack_copy import copy_project
from support.stacks import (
    WELCOME,
    StackUnderTest,
    get_text,
    remove_project_images,
    upload_png,
    wait_for_text,
)

pytestmark = pytest.mark.engine

# Short, so that the test sees the app fetch new credentials; the app refreshes ahead of expiry.
CREDENTIAL_SECONDS = 6
CREDENTIALS_PATH = "/latest/meta-data/ram/security-credentials/gallery-app"


@pytest.fixture(scope="module")
def keyless_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackUnderTest]:
    directory: Path = tmp_path_factory.mktemp("stack-keyless")
    environ = {
        **os.environ,
        **copy_project(directory),
        "COMPOSE_PROFILES": "keyless",
        "OSS_CREDENTIALS": "ecs-ram-role",
        "OSS_ECS_METADATA_URL": "http://metadata:8100",
        "METADATA_CREDENTIAL_SECONDS": str(CREDENTIAL_SECONDS),
    }
    found = StackUnderTest(directory, environ)
    try:
        plans = found.stack().up()
        assert "metadata" in {p.service for p in plans}
        yield found
    finally:
        stack = found.stack()
        stack.down(volumes=True)
        remove_project_images(stack)


def credential_fetches(under_test: StackUnderTest) -> int:
    stack = under_test.stack()
    text: bytes = stack.api.logs(under_test.container_ids()["metadata"])
    return text.decode(errors="replace").count(CREDENTIALS_PATH)


def image_status(port: int, image_id: object) -> int:
    """The status of the image itself (served through the app, or a redirect to OSS)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/images/{image_id}", timeout=5) as found:
        found.read()
        status: int = found.status
        return status


def thumbnail_status(port: int, image_id: object) -> str:
    status: str = json.loads(get_text(port, f"/api/images/{image_id}"))["thumbnail_status"]
    return status


def wait_for_thumbnail(port: int, image_id: object) -> str:
    # A bound, not a speed test (see test_stack_engine's thumbnail test).
    deadline = time.monotonic() + 60
    status = thumbnail_status(port, image_id)
    while status != "ready" and time.monotonic() < deadline:
        time.sleep(0.2)
        status = thumbnail_status(port, image_id)
    return status


def test_keyless_stack_serves_uploads_and_thumbnails_across_credential_refreshes(
    keyless_stack: StackUnderTest,
) -> None:
    port = keyless_stack.port
    assert wait_for_text(port, "/main/", WELCOME) == WELCOME
    first = upload_png(port)
    assert wait_for_thumbnail(port, first["id"]) == "ready"
    fetched = credential_fetches(keyless_stack)
    # Reads of the image (from OSS, signed with the role's credentials) until the app has
    # fetched new credentials twice more; bounded in count. Page reads would not do: the page
    # comes from the Redis index.
    statuses = []
    for _ in range(300):
        if credential_fetches(keyless_stack) >= fetched + 2:
            break
        statuses.append(image_status(port, first["id"]))
        time.sleep(0.2)
    assert credential_fetches(keyless_stack) >= fetched + 2
    assert set(statuses) == {200}
    second = upload_png(port)
    assert wait_for_thumbnail(port, second["id"]) == "ready"
