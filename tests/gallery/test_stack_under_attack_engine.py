"""The gallery's stack (nginx, gunicorn, a Celery worker, Redis, fakeoss) under a hostile client
and a frozen Redis: /healthz keeps answering, uploads answer within the budget, and every
response through nginx carries the security headers. One stack copy for the module, with its own
project name and a free port on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from gallery.settings import DEV_API_TOKEN
from stackctl.engine import connect
from stackctl.stack.stack import Stack
from stackctl.stack.workspace import load_workspace
from support.http_upload import png, post_png
from support.stack_copy import copy_project

pytestmark = pytest.mark.engine
ROOT = Path(__file__).resolve().parents[2]


class GalleryStack:
    def __init__(self, directory: Path, environ: dict[str, str]) -> None:
        self.directory = directory
        self.environ = environ
        self.port = int(environ["NGINX_PORT"])
        self.base = f"http://127.0.0.1:{self.port}"

    def stack(self) -> Stack:
        found = load_workspace(self.directory, environ=self.environ, mode="production")
        return Stack(connect(found.settings), found.project, found.settings, Console(quiet=True))

    def container(self, service: str) -> str:
        (found,) = [c for c in self.stack().containers() if c.service == service]
        return found.id


@pytest.fixture(scope="module")
def gallery_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GalleryStack]:
    directory = tmp_path_factory.mktemp("gallery-stack")
    environ = {**os.environ, **copy_project(directory)}
    found = GalleryStack(directory, environ)
    stack = found.stack()
    stack.up()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{found.base}/healthz", timeout=2).close()
            break
        except OSError:
            time.sleep(0.5)
    yield found
    stack.down(volumes=True)


def post_upload(base: str, timeout: float = 10) -> tuple[int, dict[str, Any]]:
    return post_png(base, png(), timeout=timeout)


def probe(url: str, timeout: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0


def test_trickling_uploads_through_nginx_leave_healthz_answering(
    gallery_stack: GalleryStack,
) -> None:
    body_size = 100_000
    trickles = []
    for _ in range(12):
        sock = socket.create_connection(("127.0.0.1", gallery_stack.port), timeout=5)
        sock.sendall(
            (
                "POST /api/images HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {DEV_API_TOKEN}\r\n"
                "Content-Type: multipart/form-data; boundary=x\r\n"
                f"Content-Length: {body_size}\r\n\r\n"
            ).encode()
        )
        trickles.append(sock)
    answers = []
    try:
        for _ in range(5):  # 1 byte per 0.5 s from each client while /healthz is probed
            for sock in trickles:
                sock.sendall(b"-")
            answers.append(probe(f"{gallery_stack.base}/healthz"))
            time.sleep(0.5)
    finally:
        for sock in trickles:
            sock.close()
    assert answers == [200] * 5


def test_every_response_through_nginx_carries_the_security_headers(
    gallery_stack: GalleryStack,
) -> None:
    status, created = post_upload(gallery_stack.base)
    assert status == 201
    paths = ["/", "/api/images", f"/images/{created['id']}", "/healthz", "/nginx-health", "/nope"]
    for path in paths:
        try:
            response = urllib.request.urlopen(f"{gallery_stack.base}{path}", timeout=5)
        except urllib.error.HTTPError as error:
            response = error
        with response:
            headers = response.headers
            assert headers.get_all("X-Content-Type-Options") == ["nosniff"], path
            assert headers["Referrer-Policy"], path
            assert len(headers.get_all("Content-Security-Policy")) == 1, path
            assert "fakeoss" not in headers["Content-Security-Policy"], path
            assert headers["X-Request-ID"] or path == "/nginx-health", path
    with urllib.request.urlopen(f"{gallery_stack.base}/images/{created['id']}") as original:
        assert original.headers["Content-Type"] == "image/png"
        assert original.headers["Content-Disposition"].startswith("inline;")


def test_frozen_redis_upload_answers_delayed_and_healthz_stays_up(
    gallery_stack: GalleryStack,
) -> None:
    api = gallery_stack.stack().api
    redis_id = gallery_stack.container("redis")
    for _ in range(4):  # every gunicorn worker past its first, cold upload
        post_upload(gallery_stack.base)
    api.pause(redis_id)  # the freezer cgroup: as SIGSTOP, connections accepted, never answered
    try:
        # The 5 s client timeout only guards the test; how fast the answer comes is a speed.
        status, created = post_upload(gallery_stack.base, timeout=5)
        health = [probe(f"{gallery_stack.base}/healthz") for _ in range(3)]
    finally:
        api.unpause(redis_id)
    assert status == 201
    assert "Thumbnails are delayed" in created["notice"]
    assert health == [200, 200, 200]
