"""The stack's metrics on the real engine: web, worker and nginx serve them inside the stack's
network, the public proxy does not, and web's request counter agrees with a load sent through
nginx. One stack copy (production shape) for the module, its own project name and port."""

from __future__ import annotations

import http.client
import os
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from stackctl.engine import connect
from stackctl.stack.metricsscrape import SCRAPES, Target, scrape, scrape_all
from stackctl.stack.metricsview import Unreachable, render, summarize
from stackctl.stack.stack import Stack
from stackctl.stack.workspace import load_workspace
from support.http_upload import png, post_png
from support.stack_copy import copy_project

pytestmark = pytest.mark.engine
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stack_and_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, int]]:
    directory = tmp_path_factory.mktemp("metrics-stack")
    environ = {
        **os.environ,
        **copy_project(directory),
        "COMPOSE_PROJECT_NAME": f"metrics-test-{uuid.uuid4().hex[:8]}",
    }
    found = load_workspace(directory, environ=environ, mode="production")
    stack = Stack(connect(found.settings), found.project, found.settings, Console(quiet=True))
    port = int(environ["NGINX_PORT"])
    stack.up()
    try:
        yield stack, port
    finally:
        stack.down(volumes=True)


def sources(stack: Stack) -> dict[str, Target]:
    return {
        c.service: Target(stack.api, c.id, c.service)
        for c in stack.containers()
        if c.service in SCRAPES
    }


def scrape_until_every_source_answers(
    targets: dict[str, Target], within: float = 60.0
) -> dict[str, str | Unreachable]:
    """The worker has no health check, so `up` returns once it runs; it serves its metrics at
    Celery's worker_ready, a moment later. Scrape until all answer (or `within` runs out)."""
    deadline = time.monotonic() + within
    while True:
        found = scrape_all(targets)
        unreachable = [name for name, text in found.items() if isinstance(text, Unreachable)]
        if not unreachable or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def status_of(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read()


def test_the_public_proxy_answers_no_metrics_path(stack_and_port: tuple[Stack, int]) -> None:
    _, port = stack_and_port
    for path in ("/metrics", "/stub_status", "/nginx_status"):
        status, body = status_of(f"http://127.0.0.1:{port}{path}")
        assert status == 404, path
        assert b"gallery_http_requests" not in body, path
        assert b"Active connections" not in body, path


def test_nginx_publishes_only_its_public_port(stack_and_port: tuple[Stack, int]) -> None:
    stack, port = stack_and_port
    published = {
        (host_port, container_port)
        for container in stack.containers()
        for _, host_port, container_port, _ in container.published_ports
    }
    assert published == {(port, 80)}


def test_web_worker_and_nginx_serve_metrics_inside_the_network(
    stack_and_port: tuple[Stack, int],
) -> None:
    stack, _ = stack_and_port
    found = scrape_until_every_source_answers(sources(stack))
    assert not [name for name, text in found.items() if isinstance(text, Unreachable)], found
    assert "gallery_http_requests_total" in str(found["web"])
    assert "gallery_thumbnail_queue_depth" in str(found["web"])
    assert "gallery_thumbnail_jobs_total" in str(found["worker"])
    assert str(found["nginx"]).startswith("Active connections:")


def worker_done(stack: Stack) -> str | None:
    text = scrape(stack.api, sources(stack)["worker"].container, SCRAPES["worker"])
    if isinstance(text, str) and 'gallery_thumbnail_jobs_total{state="done"} 1.0' in text:
        return text
    return None


def test_an_upload_is_counted_queued_by_web_and_done_by_the_worker_with_no_failed_call(
    stack_and_port: tuple[Stack, int],
) -> None:
    stack, port = stack_and_port
    status, _ = post_png(f"http://127.0.0.1:{port}", png(), timeout=10)
    deadline = time.monotonic() + 60
    worker = worker_done(stack)
    while worker is None and time.monotonic() < deadline:
        time.sleep(0.5)
        worker = worker_done(stack)
    web = scrape(stack.api, sources(stack)["web"].container, SCRAPES["web"])
    assert status == 201
    assert worker is not None, "the worker never counted the job done"
    assert isinstance(web, str), web
    assert 'gallery_thumbnail_jobs_total{state="queued"} 1.0' in web
    assert 'gallery_uploads_total{result="stored"} 1.0' in web
    assert "gallery_thumbnail_job_duration_seconds_count 1.0" in worker
    for text in (web, worker):
        for kind in ("timeout", "error"):
            for dependency in ("redis", "oss"):
                line = f'gallery_dependency_errors_total{{dependency="{dependency}",kind="{kind}"}}'
                assert f"{line} 0.0" in text, (line, text)


def web_requests(stack: Stack, route: str) -> tuple[float, float]:
    """web's counter and histogram count for `route`, added over statuses and methods."""
    from prometheus_client.parser import text_string_to_metric_families

    container, command = sources(stack)["web"].container, SCRAPES["web"]
    text = scrape(stack.api, container, command)
    assert isinstance(text, str), text
    counted = timed = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("route") != route:
                continue
            if sample.name == "gallery_http_requests_total":
                counted += sample.value
            elif sample.name == "gallery_http_request_duration_seconds_count":
                timed += sample.value
    return counted, timed


def test_a_bounded_load_through_nginx_agrees_with_webs_counter_and_histogram(
    stack_and_port: tuple[Stack, int],
) -> None:
    stack, port = stack_and_port
    counted_before, timed_before = web_requests(stack, "/main/")
    sent = answered = 0
    deadline = time.monotonic() + 60
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        while sent < 500 and time.monotonic() < deadline:
            connection.request("GET", "/main/")
            response = connection.getresponse()
            response.read()
            sent += 1
            answered += response.status == 200
    finally:
        connection.close()
    counted, timed = web_requests(stack, "/main/")
    assert answered == sent == 500
    assert abs((counted - counted_before) - answered) <= 0.01 * answered
    assert abs((timed - timed_before) - answered) <= 0.01 * answered


def test_the_summary_screen_has_a_row_for_each_service(stack_and_port: tuple[Stack, int]) -> None:
    stack, port = stack_and_port
    found = sources(stack)
    before = scrape_all(found)
    for _ in range(20):
        status_of(f"http://127.0.0.1:{port}/main/")
    after = scrape_all(found)
    rows = {row.source: row for row in summarize(after, before, seconds=1.0)}
    screen = render(rows.values(), seconds=1.0)
    assert set(rows) == {"web", "worker", "nginx"}, screen
    assert all(row.unreachable is None for row in rows.values()), screen
    assert (rows["web"].requests or 0) >= 20, screen
    assert (rows["nginx"].requests or 0) >= 20, screen
    assert rows["web"].queue_depth == 0, screen
