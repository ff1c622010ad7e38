"""The stack's fakeoss keeps its buckets on its volume: a recreated container serves them all.

Only the fakeoss service of compose.yaml, in a project copy of its own name; nothing is
published, the client runs inside the container (oss2 is in its image).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from stackctl.engine import connect
from stackctl.plan.converge import image_name
from stackctl.stack.execute import exec_in
from stackctl.stack.stack import Stack
from stackctl.stack.workspace import load_workspace

pytestmark = pytest.mark.engine

ROOT = Path(__file__).resolve().parents[2]
COPIED = ["compose.yaml", "pyproject.toml", "README.md", ".dockerignore"]
COPIED_DIRS = ["containers", "src"]

CLIENT = """
import oss2, sys
bucket = oss2.Bucket(oss2.Auth("fakeoss-id", "fakeoss-secret"), "http://127.0.0.1:9000", "gallery")
if sys.argv[1] == "write":
    bucket.put_object("images/a.jpg", b"jpeg bytes",
                      headers={"x-oss-meta-camera": "Leica", "x-oss-tagging": "album=summer"})
    print(bucket.init_multipart_upload("images/big.jpg").upload_id)
else:
    got = bucket.get_object("images/a.jpg")
    tags = bucket.get_object_tagging("images/a.jpg").tag_set.tagging_rule
    uploads = [u.upload_id for u in bucket.list_multipart_uploads().upload_list]
    print(got.read().decode(), got.headers["x-oss-meta-camera"], dict(tags), uploads)
"""


class FakeossOnly:
    def __init__(self, directory: Path) -> None:
        for name in COPIED:
            shutil.copy2(ROOT / name, directory / name)
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
        for name in COPIED_DIRS:
            shutil.copytree(ROOT / name, directory / name, ignore=ignore)
        self.directory = directory
        self.environ = {**os.environ, "COMPOSE_PROJECT_NAME": f"fakeoss-vol-{uuid.uuid4().hex[:8]}"}
        self.environ.pop("FAKEOSS_DATA_DIR", None)

    def stack(self) -> Stack:
        found = load_workspace(self.directory, environ=self.environ, mode="production")
        return Stack(connect(found.settings), found.project, found.settings, Console(quiet=True))

    def client(self, step: str) -> str:
        out: list[bytes] = []
        code = exec_in(
            self.stack(),
            "fakeoss",
            ["python", "-c", CLIENT, step],
            interactive=False,
            write=out.append,
        )
        text = b"".join(out).decode()
        assert code == 0, text
        return text.strip()


@pytest.fixture
def fakeoss_only(tmp_path: Path) -> Iterator[FakeossOnly]:
    found = FakeossOnly(tmp_path)
    try:
        yield found
    finally:
        stack = found.stack()
        stack.down(volumes=True)
        for spec in stack.project.services.values():
            repository = image_name(stack.project, spec).rsplit(":", 1)[0]
            for image in stack.api.images(name=repository):
                for tag in image.get("RepoTags") or []:
                    stack.api.remove_image(tag, force=True, noprune=False)


def test_a_recreated_fakeoss_serves_its_objects_tags_and_uploads(
    fakeoss_only: FakeossOnly,
) -> None:
    fakeoss_only.stack().up(["fakeoss"])
    upload_id = fakeoss_only.client("write")
    first = {c.service: c.id for c in fakeoss_only.stack().containers()}

    fakeoss_only.stack().down()  # the containers go, the volume stays (as `invoke down`)
    fakeoss_only.stack().up(["fakeoss"])

    assert {c.service: c.id for c in fakeoss_only.stack().containers()} != first
    assert fakeoss_only.client("read") == f"jpeg bytes Leica {{'album': 'summer'}} ['{upload_id}']"
