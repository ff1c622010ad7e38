"""A copy of the project's stack under test on the real engine, and what its tests share."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

from rich.console import Console

from stackctl.engine import connect
from stackctl.plan.converge import image_name
from stackctl.stack.stack import Stack
from stackctl.stack.workspace import load_workspace
from support.http_upload import png, post_png

WELCOME = "welcome to CI/CD world 🌏"


def get_text(port: int, path: str, timeout: float = 5) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
        text: str = response.read().decode()
        return text


def wait_for_text(port: int, path: str, expected: str, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    last = ""
    while time.monotonic() < deadline:
        try:
            last = get_text(port, path)
            if last == expected:
                return last
        except OSError as exc:
            last = repr(exc)
        time.sleep(0.2)
    return last


class StackUnderTest:
    def __init__(self, directory: Path, environ: dict[str, str]) -> None:
        self.directory = directory
        self.environ = environ
        self.port = int(environ["NGINX_PORT"])
        self.web_layers_before_change: set[str] = set()

    def stack(self, mode: str = "production") -> Stack:
        found = load_workspace(self.directory, environ=self.environ, mode=mode)
        return Stack(connect(found.settings), found.project, found.settings, Console(quiet=True))

    def container_ids(self) -> dict[str, str]:
        return {c.service: c.id for c in self.stack().containers()}


def remove_project_images(stack: Stack) -> None:
    """The copy's images are named after its project: drop them (their layers stay cached)."""
    for spec in stack.project.services.values():
        repository = image_name(stack.project, spec).rsplit(":", 1)[0]
        for image in stack.api.images(name=repository):
            for tag in image.get("RepoTags") or []:
                stack.api.remove_image(tag, force=True, noprune=False)


def upload_png(port: int) -> dict[str, object]:
    status, created = post_png(f"http://127.0.0.1:{port}", png((640, 480)))
    assert status == 201
    return created
