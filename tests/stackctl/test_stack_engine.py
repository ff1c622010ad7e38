"""The stack against the real Docker engine: up, no-op up, a source change, down.

The tests run in order on one stack (bringing a stack up costs tens of seconds).
"""

from __future__ import annotations

import io
import json
import os
import time
import urllib.request
from collections.abc import Iterator

import docker
import pytest
from PIL import Image

from stackctl import labels
from stackctl.stack.oneoff import run_tests
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


@pytest.fixture(scope="module")
def under_test(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackUnderTest]:
    directory = tmp_path_factory.mktemp("stack")
    environ = {**os.environ, **copy_project(directory)}
    found = StackUnderTest(directory, environ)
    yield found
    stack = found.stack()
    stack.down(volumes=True)
    remove_project_images(stack)


def test_up_serves_the_welcome_text_through_nginx(under_test: StackUnderTest) -> None:
    plans = under_test.stack().up()
    assert {p.service for p in plans} == {"redis", "fakeoss", "web", "worker", "nginx"}
    assert wait_for_text(under_test.port, "/main/", WELCOME) == WELCOME


def test_second_up_recreates_nothing(under_test: StackUnderTest) -> None:
    before = under_test.container_ids()
    plans = under_test.stack().up()
    assert [p.action for p in plans] == ["keep"] * len(plans)
    assert under_test.container_ids() == before


def test_upload_through_nginx_gets_its_thumbnail(under_test: StackUnderTest) -> None:
    created = upload_png(under_test.port)
    # A bound, not a speed test (that is `nox -s bench`): on a loaded 2-core machine the worker,
    # which has no healthcheck for `up` to wait on, took 8 s to be ready and 2.4 s per task.
    deadline = time.monotonic() + 60
    status = created["thumbnail_status"]
    while status != "ready" and time.monotonic() < deadline:
        time.sleep(0.2)
        status = json.loads(get_text(under_test.port, f"/api/images/{created['id']}"))[
            "thumbnail_status"
        ]
    assert status == "ready"
    thumbnail = f"http://127.0.0.1:{under_test.port}{created['thumbnail_url']}"
    with urllib.request.urlopen(thumbnail, timeout=5) as response:
        assert response.status == 200
        assert Image.open(io.BytesIO(response.read())).width <= 320


def test_invoke_test_passes_inside_the_image(under_test: StackUnderTest) -> None:
    output: list[str] = []
    code = run_tests(
        under_test.stack(), ["tests/gallery/test_pages.py", "-k", "main"], write=output.append
    )
    assert code == 0, "".join(output)[-2000:]
    assert " passed" in "".join(output)


def test_invoke_test_fails_when_a_test_fails(under_test: StackUnderTest) -> None:
    failing = under_test.directory / "tests" / "gallery" / "test_made_to_fail.py"
    failing.write_text("def test_made_to_fail() -> None:\n    assert 1 == 2\n")
    output: list[str] = []
    try:
        code = run_tests(
            under_test.stack(), ["tests/gallery/test_made_to_fail.py"], write=output.append
        )
    finally:
        failing.unlink()
    assert code == 1
    assert "1 failed" in "".join(output)


def test_source_change_recreates_web_and_its_worker_alone(under_test: StackUnderTest) -> None:
    before = under_test.container_ids()
    stack = under_test.stack()
    under_test.web_layers_before_change = {
        layer["Id"] for layer in stack.client.api.history(f"{stack.project.name}/web:latest")
    }
    main_py = under_test.directory / "src" / "gallery" / "main.py"
    main_py.write_text(main_py.read_text().replace(WELCOME, "changed by a test"))
    plans = under_test.stack().up()
    actions = {p.service: p.action for p in plans}
    after = under_test.container_ids()
    # The worker runs the web image: it follows web, and nothing else moves.
    assert actions == {
        "redis": "keep",
        "fakeoss": "keep",
        "web": "recreate",
        "worker": "recreate",
        "nginx": "keep",
    }
    assert after["web"] != before["web"]
    assert {s: after[s] for s in ("redis", "fakeoss", "nginx")} == {
        s: before[s] for s in ("redis", "fakeoss", "nginx")
    }
    assert wait_for_text(under_test.port, "/main/", "changed by a test") == "changed by a test"


def test_source_change_leaves_no_dangling_image_behind(under_test: StackUnderTest) -> None:
    stack = under_test.stack()
    web = stack.client.api.inspect_image(f"{stack.project.name}/web:latest")
    dangling = stack.client.api.images(
        filters={"dangling": True, "label": f"com.docker.compose.project={stack.project.name}"}
    )

    assert dangling == []
    # The app's code is the image's top layer: a source change ships kilobytes, not a venv.
    before = under_test.web_layers_before_change
    history = stack.client.api.history(web["Id"])
    new_layers = [layer for layer in history if layer["Id"] not in before]
    assert new_layers
    assert sum(layer["Size"] for layer in new_layers) <= 1_000_000


def test_develop_mode_serves_an_edit_without_a_build(under_test: StackUnderTest) -> None:
    plans = under_test.stack(mode="develop").up()
    assert {p.service for p in plans if p.action == "recreate"} == {"web", "worker"}
    main_py = under_test.directory / "src" / "gallery" / "main.py"
    main_py.write_text(main_py.read_text().replace("changed by a test", "edited in develop"))
    assert wait_for_text(under_test.port, "/main/", "edited in develop") == "edited in develop"


def test_down_leaves_nothing_with_the_project_label(under_test: StackUnderTest) -> None:
    stack = under_test.stack()
    stack.down()
    client = docker.from_env()
    project = f"{labels.PROJECT}={stack.project.name}"
    assert client.api.containers(all=True, filters={"label": project}) == []
    assert client.api.networks(filters={"label": project}) == []
