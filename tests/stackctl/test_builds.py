"""`up`'s build step: which images need a build (per target), which build side by side, and how a
failure ends it. The engine is replaced by a recorder here (its build stream is what the
classic builder sends); tests/stackctl/test_builds_engine.py builds for real."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docker.errors import ImageNotFound
from rich.console import Console

from stackctl.errors import BuildError
from stackctl.images.builds import build_services
from stackctl.images.dockerfile import copied_sources
from stackctl.stack.workspace import load_workspace

MULTI_STAGE = (
    "FROM base AS deps\n"
    "COPY pyproject.toml ./\n"
    "FROM deps AS one-venv\n"
    "COPY src/one/requirements.txt ./\n"
    "FROM scratch AS app-base\n"
    "COPY --from=0 /etc /etc\n"
    "FROM app-base AS one\n"
    "COPY --from=one-venv /opt /opt\n"
    "COPY src/one /app/one\n"
    "FROM app-base AS two\n"
    "COPY src/two /app/two\n"
    "COPY --from=deps /opt /opt\n"
)


def test_a_target_counts_the_sources_of_the_stages_it_reads_only() -> None:
    assert copied_sources(MULTI_STAGE, "one") == [
        "pyproject.toml",
        "src/one/requirements.txt",
        "src/one",
    ]
    # `two` is the last stage: the default target. It reads deps through `--from`, and stage 0
    # (deps again, by index) through app-base.
    assert copied_sources(MULTI_STAGE) == ["pyproject.toml", "src/two"]
    assert copied_sources(MULTI_STAGE, "TWO") == copied_sources(MULTI_STAGE)


def test_an_unknown_target_counts_every_stage() -> None:
    assert copied_sources(MULTI_STAGE, "three") == [
        "pyproject.toml",
        "src/one/requirements.txt",
        "src/one",
        "src/two",
    ]


def test_an_unreadable_copy_in_a_stage_the_target_does_not_read_does_not_matter() -> None:
    text = "FROM base AS odd\nCOPY $WHAT /x\nFROM base AS app\nCOPY src /src\n"
    assert copied_sources(text, "app") == ["src"]
    assert copied_sources(text, "odd") is None


COMPOSE = """
services:
  one:
    build: {context: ., dockerfile: images/Dockerfile, target: one}
  one-again:
    image: t/one
    build: {context: ., dockerfile: images/Dockerfile, target: one}
  two:
    build: {context: ., dockerfile: images/Dockerfile, target: two}
  solo:
    build: {context: ., dockerfile: images/Solo.Dockerfile}
  broken:
    build: {context: ., dockerfile: images/Broken.Dockerfile}
    profiles: [broken]
"""


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    (tmp_path / "compose.yaml").write_text(COMPOSE.replace("image: t/one", "image: t-one"))
    images = tmp_path / "images"
    images.mkdir()
    (images / "Dockerfile").write_text(
        "FROM scratch AS one\nCOPY src/one /one\nFROM scratch AS two\nCOPY src/two /two\n"
    )
    (images / "Solo.Dockerfile").write_text("FROM scratch\nCOPY src/solo /solo\n")
    (images / "Broken.Dockerfile").write_text("FROM scratch\nCOPY src/missing /m\n")
    for name in ("one", "two", "solo"):
        (tmp_path / "src" / name).mkdir(parents=True)
        (tmp_path / "src" / name / "file.txt").write_text(f"{name}\n")
    return tmp_path


class RecordingApi:
    """What build_services asks of the engine: builds (recorded; with `meet`, the first two
    builds wait for each other at a barrier, so they must run at once), inspect and tag."""

    def __init__(self, meet: threading.Barrier | None = None) -> None:
        self.meet = meet
        self.to_meet = 2 if meet is not None else 0
        self.lock = threading.Lock()
        self.order: list[tuple[str, str]] = []  # (event, tag)
        self.tags: dict[str, str] = {}

    def build(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        tag = str(kwargs["tag"])
        with self.lock:
            self.order.append(("start", tag))
            meets = self.to_meet > 0
            self.to_meet -= 1
        if meets and self.meet is not None:
            self.meet.wait()
        yield {"stream": "Step 1/1 : COPY x /x\n"}
        if "broken" in tag:
            yield {"error": "COPY failed: file not found in build context: src/missing"}
            return
        image_id = f"sha256:{abs(hash((tag, kwargs.get('target')))):064x}"[:71]
        with self.lock:
            self.tags[tag] = image_id
            self.order.append(("end", tag))
        yield {"aux": {"ID": image_id}}

    def inspect_image(self, name: str) -> dict[str, Any]:
        if name not in self.tags:
            raise ImageNotFound(name)
        return {"Id": self.tags[name]}

    def images(self, name: str) -> list[dict[str, Any]]:
        return []

    def tag(self, image: str, repository: str, tag: str) -> None:
        self.tags[f"{repository}:{tag}"] = self.tags[image]


class RecordingClient:
    def __init__(self, api: RecordingApi) -> None:
        self.api = api


def build(project_dir: Path, api: RecordingApi, *, profiles: tuple[str, ...] = ()) -> Any:
    found = load_workspace(
        project_dir,
        environ={"COMPOSE_PROJECT_NAME": "t", "STACK_BUILD_PARALLEL": "2"},
        profiles=profiles,
        mode="production",
    )
    console = Console(file=io.StringIO(), record=True, width=120)
    images = build_services(
        RecordingClient(api),
        found.project,
        found.settings,
        console,
        list(found.project.services),
    )
    return images, console.export_text()


def test_images_of_different_dockerfiles_build_at_once_and_one_dockerfile_in_turn(
    project_dir: Path,
) -> None:
    # The first two builds must both be running to pass the barrier: one after the other, the
    # first would wait for the second and time out (BrokenBarrierError).
    api = RecordingApi(meet=threading.Barrier(2, timeout=10))
    images, output = build(project_dir, api)

    lane = [tag for event, tag in api.order if event == "start" and tag != "t-solo"]
    assert sorted(lane) == ["t-one", "t-two"]
    # one Dockerfile: the second build starts after the first ended
    first, second = lane
    assert api.order.index(("end", first)) < api.order.index(("start", second))
    # `one` and `one-again` are one image, built once
    assert images["one"] == images["one-again"]
    assert [tag for event, tag in api.order if event == "start"].count("t-one") == 1
    assert set(images) == {"one", "one-again", "two", "solo"}
    for service in ("one", "two", "solo"):
        assert f"{service}: built t-{service}" in output


def test_unchanged_inputs_build_nothing_and_a_change_rebuilds_only_its_target(
    project_dir: Path,
) -> None:
    api = RecordingApi()
    first, _ = build(project_dir, api)
    api.order.clear()

    again, output = build(project_dir, api)
    assert api.order == []
    assert again == first
    assert "built" not in output

    (project_dir / "src" / "two" / "file.txt").write_text("changed\n")
    build(project_dir, api)
    assert [tag for event, tag in api.order if event == "start"] == ["t-two"]


def test_a_failed_build_is_raised_and_nothing_queued_behind_it_starts(project_dir: Path) -> None:
    (project_dir / "images" / "Broken.Dockerfile").write_text(
        "FROM scratch AS broken\nCOPY src/missing /m\nFROM scratch AS after\nCOPY src/one /o\n"
    )
    compose = project_dir / "compose.yaml"
    compose.write_text(
        compose.read_text()
        + "  after-broken:\n"
        + "    build: {context: ., dockerfile: images/Broken.Dockerfile, target: after}\n"
        + "    profiles: [broken]\n"
    )
    # STACK_BUILD_PARALLEL=2 with four Dockerfile lanes; whatever ran beside the broken build
    # finishes, but the build queued behind it in its own lane never starts.
    api = RecordingApi()
    with pytest.raises(BuildError) as failed:
        build(project_dir, api, profiles=("broken",))
    assert str(failed.value).startswith("build of broken failed at step 1/1")
    started = [tag for event, tag in api.order if event == "start"]
    assert "t-after-broken" not in started
    for tag in started:
        if tag != "t-broken":
            assert ("end", tag) in api.order
