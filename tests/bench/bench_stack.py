"""A copy of the stack in production shape for a benchmark: its own project name and loopback
port, up and answering /healthz, taken down (volumes too) afterwards."""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console

ROOT = Path(__file__).resolve().parents[2]

sys.path.insert(0, str(ROOT / "tests"))  # tests/support (a benchmark runs as a script)
from stackctl.engine import connect  # noqa: E402
from stackctl.stack.stack import Stack  # noqa: E402
from stackctl.stack.workspace import load_workspace  # noqa: E402
from stackctl.tls.prepare import prepare_https  # noqa: E402
from support.stack_copy import copy_project  # noqa: E402


def wait_until(base: str, check: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}{check}", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"bench: {base}{check} did not answer within {seconds} s")


@contextmanager
def running_copy(
    prepare: Callable[[Path], None] | None = None,
    project: str | None = None,
    port: int | None = None,
    extra: Mapping[str, str] | None = None,
    check: str = "/healthz",
) -> Iterator[tuple[Stack, str]]:
    """(the copy's Stack, its base URL through nginx); `prepare` may change the copy's files
    before it is built; `project` and `port` replace the copy's unique name and free port;
    `extra` adds settings (e.g. an HTTPS mode); `check` is the path waited for on plain HTTP
    (an HTTPS mode answers only /nginx-health there)."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        environ = {**os.environ, **copy_project(directory), **(extra or {})}
        if project is not None:
            environ["COMPOSE_PROJECT_NAME"] = project
        if port is not None:
            environ["NGINX_PORT"] = str(port)
        if prepare is not None:
            prepare(directory)
        found = load_workspace(directory, environ=environ, mode="production")
        # What `invoke up` does first: the HTTPS mode's certificate (none for plain HTTP).
        prepare_https(found.https, directory, dt.datetime.now(dt.timezone.utc))
        stack = Stack(connect(found.settings), found.project, found.settings, Console(quiet=True))
        base = f"http://127.0.0.1:{environ['NGINX_PORT']}"
        try:
            stack.up()
            wait_until(base, check, 60)
            yield stack, base
        finally:
            stack.down(volumes=True)


def remove_project_images(*projects: str) -> None:
    """Remove the images a copy built (named PROJECT/SERVICE:TAG); their layers stay cached."""
    import docker

    api = docker.from_env().api
    for image in api.images():
        for tag in image.get("RepoTags") or []:
            if any(tag.startswith(f"{project}/") for project in projects):
                api.remove_image(tag, force=True)
