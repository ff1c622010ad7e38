"""The gallery's Prometheus metrics: what a load, an upload, a thumbnail job and a broken
dependency leave in them, read the way Prometheus reads them (the text a scrape returns)."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import oss2
import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from gallery import create_app
from gallery.metrics import CHILD_NAME, UNMATCHED_ROUTE, metrics_of
from gallery.records import new_image_id
from support import pictures
from support.faults import HangingProxy, RedisProcess
from support.gallery import AUTH, upload, wait_for
from support.loopback import free_port

CONF = Path(__file__).resolve().parents[2] / "containers" / "web" / "gunicorn.conf.py"


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def total(text: str, name: str, **labels: str) -> float:
    """The sum of every sample named `name` whose labels include `labels` (as PromQL's sum)."""
    return sum(
        value
        for found, found_labels, value in samples(text)
        if found == name and labels.items() <= found_labels.items()
    )


def app_text(app: Flask) -> str:
    return generate_latest(metrics_of(app).registry).decode()


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


def scrape_or_none(port: int) -> str | None:
    try:
        return scrape(port)
    except OSError:
        return None


# --- requests ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gunicorn:
    process: subprocess.Popen[bytes]
    port: int
    metrics_port: int

    def children(self) -> dict[int, str]:
        """The master's child processes, each with its name (/proc's comm)."""
        listed = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        found = {}
        for pid in (int(word) for word in listed.read_text().split()):
            try:
                found[pid] = Path(f"/proc/{pid}/comm").read_text().strip()
            except OSError:
                continue  # gone meanwhile
        return found

    def workers(self) -> set[int]:
        return {pid for pid, name in self.children().items() if name != CHILD_NAME.decode()}


@pytest.fixture
def gunicorn_process(
    tmp_path: Path, app_overrides: dict[str, Any], instance_path: Path
) -> Iterator[Gunicorn]:
    """The gallery under the web container's gunicorn settings (two workers, so multiprocess
    mode adds up two processes' values); its app port and its metrics port."""
    # gunicorn gets its listening socket already bound (fd://): a port picked free and bound
    # later could be taken meanwhile by another test's server, and gunicorn's SO_REUSEPORT would
    # then share it silently with that server (requests answered elsewhere, or refused).
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = int(listener.getsockname()[1])
    metrics_port = free_port()
    settings = {k: str(v) for k, v in app_overrides.items() if k != "CONFIG_NAME"}
    env = {
        **os.environ,
        **settings,
        "FLASK_CONFIG": "testing",
        "GALLERY_INSTANCE_PATH": str(instance_path),
        "METRICS_PORT": str(metrics_port),
        "GUNICORN_BIND": f"fd://{listener.fileno()}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "2",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(CONF), "gallery.wsgi:app"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        pass_fds=(listener.fileno(),),
    )
    listener.close()

    def answering() -> str | None:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with status {process.returncode} before it served")
        return scrape_or_none(metrics_port)

    try:
        # A generous bound: gunicorn imports the app in its master, then forks, which takes
        # seconds on a loaded 2-core machine.
        wait_for(answering, seconds=60, what="the metrics port answering")
        yield Gunicorn(process, port, metrics_port)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def gunicorn_gallery(gunicorn_process: Gunicorn) -> tuple[int, int]:
    return gunicorn_process.port, gunicorn_process.metrics_port


def bounded_load(port: int, path: str, requests: int, connections: int) -> int:
    """Send `requests` GETs over `connections` kept-alive connections, within 60 s at most;
    return how many were answered 200."""
    deadline = time.monotonic() + 60
    answered = [0] * connections

    def one_connection(slot: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            for _ in range(requests // connections):
                if time.monotonic() > deadline:
                    return
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                if response.status == 200:
                    answered[slot] += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=one_connection, args=(n,)) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=70)
    return sum(answered)


def test_under_a_bounded_load_the_counter_and_histogram_agree_with_the_load(
    gunicorn_gallery: tuple[int, int],
) -> None:
    port, metrics_port = gunicorn_gallery
    answered = bounded_load(port, "/main/", requests=600, connections=6)
    text = scrape(metrics_port)
    counted = total(text, "gallery_http_requests_total", route="/main/", status="200")
    timed = total(text, "gallery_http_request_duration_seconds_count", route="/main/")
    assert answered == 600
    assert abs(counted - answered) <= 0.01 * answered
    assert abs(timed - answered) <= 0.01 * answered
    assert total(text, "gallery_http_request_duration_seconds_bucket", le="+Inf") == timed


def test_a_worker_that_died_keeps_its_counts(gunicorn_process: Gunicorn) -> None:
    answered = bounded_load(gunicorn_process.port, "/main/", requests=200, connections=4)
    workers = wait_for(lambda: len(gunicorn_process.workers()) == 2 and gunicorn_process.workers())
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: len(gunicorn_process.workers() - workers) == 2, what="two new workers booted")
    text = scrape(gunicorn_process.metrics_port)
    assert answered == 200
    assert total(text, "gallery_http_requests_total", route="/main/") == answered


def test_the_master_runs_no_thread_its_metrics_come_from_a_child_that_leaves_with_it(
    gunicorn_process: Gunicorn,
) -> None:
    # A thread in the master at a fork can leave a lock held for ever in the worker forked.
    master = gunicorn_process.process.pid
    children = wait_for(
        lambda: len(gunicorn_process.children()) == 3 and gunicorn_process.children(),
        what="two workers and the metrics process",
    )
    assert sorted(children.values()).count(CHILD_NAME.decode()) == 1, children
    assert [p.name for p in Path(f"/proc/{master}/task").iterdir()] == [str(master)]
    assert "gallery_thumbnail_queue_depth{" in scrape(gunicorn_process.metrics_port)
    gunicorn_process.process.send_signal(signal.SIGTERM)
    assert gunicorn_process.process.wait(timeout=20) == 0
    metrics_pid = next(pid for pid, name in children.items() if name == CHILD_NAME.decode())
    wait_for(
        lambda: not Path(f"/proc/{metrics_pid}").exists() or zombie(metrics_pid),
        what="the metrics process gone with its master",
    )


def zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_the_app_port_does_not_serve_metrics(gunicorn_gallery: tuple[int, int]) -> None:
    port, _ = gunicorn_gallery
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status == 404
    assert b"gallery_http_requests_total" not in body


def test_requests_are_counted_by_url_rule_not_by_path(client: FlaskClient) -> None:
    for _ in range(3):
        client.get(f"/api/images/{new_image_id()}")
    client.get("/no/such/page/1")
    client.get("/no/such/page/2")
    text = app_text(client.application)
    routes = {
        labels["route"]
        for name, labels, _ in samples(text)
        if name == "gallery_http_requests_total"
    }
    assert routes == {"/api/images/<image_id>", UNMATCHED_ROUTE}
    assert total(text, "gallery_http_requests_total", route=UNMATCHED_ROUTE, status="404") == 2


def test_a_method_no_route_knows_is_counted_as_other(client: FlaskClient) -> None:
    client.open("/main/", method="BREW")
    text = app_text(client.application)
    assert total(text, "gallery_http_requests_total", method="other") == 1


# --- uploads and thumbnails -------------------------------------------------------------------


def test_uploads_are_counted_stored_or_refused_with_their_bytes(api: FlaskClient) -> None:
    stored = upload(api, pictures.png())
    refused = upload(api, b"not an image", "notes.png")
    text = app_text(api.application)
    assert stored.status_code == 201
    assert refused.status_code in (400, 415, 422)
    assert total(text, "gallery_uploads_total", result="stored") == 1
    assert total(text, "gallery_uploads_total", result="refused") == 1
    assert total(text, "gallery_upload_bytes_total") == stored.json["size"]  # type: ignore[index]
    assert total(text, "gallery_thumbnail_jobs_total", state="queued") == 1


@pytest.fixture
def worker_metrics_port() -> int:
    return free_port()


@pytest.fixture
def worker_settings(worker_metrics_port: int) -> dict[str, str]:
    return {"METRICS_PORT": str(worker_metrics_port)}


def thumbnails_done(port: int) -> str | None:
    text = scrape_or_none(port)
    if text is None or total(text, "gallery_thumbnail_jobs_total", state="done") < 1:
        return None
    return text


@pytest.mark.usefixtures("celery_worker")
def test_a_thumbnail_jobs_duration_and_its_time_from_upload_are_recorded(
    api: FlaskClient, worker_metrics_port: int
) -> None:
    image_id = upload(api, pictures.png(800, 600)).json["id"]  # type: ignore[index]
    text = wait_for(lambda: thumbnails_done(worker_metrics_port), what="the job counted done")
    assert api.get(f"/api/images/{image_id}").json["thumbnail_status"] == "ready"  # type: ignore[index]
    assert total(text, "gallery_thumbnail_jobs_total", state="done") == 1
    assert total(text, "gallery_thumbnail_job_duration_seconds_count") == 1
    assert total(text, "gallery_thumbnail_job_duration_seconds_sum") > 0
    assert total(text, "gallery_thumbnail_ready_seconds_count") == 1


def test_a_job_run_in_process_records_its_time_from_upload(
    app_overrides: dict[str, Any], bucket: oss2.Bucket
) -> None:
    app = create_app({**app_overrides, "CELERY_TASK_ALWAYS_EAGER": True})
    started = time.time()
    response = upload(app.test_client(), pictures.png())
    finished = time.time()
    text = app_text(app)
    assert response.status_code == 201
    assert total(text, "gallery_thumbnail_jobs_total", state="done") == 1
    assert total(text, "gallery_thumbnail_ready_seconds_count") == 1
    # The id's time is to the millisecond, rounded down.
    assert 0 < total(text, "gallery_thumbnail_ready_seconds_sum") <= finished - started + 0.001


# --- broken dependencies ----------------------------------------------------------------------


def test_a_hung_redis_shows_as_a_timeout_in_the_error_counter(
    app_overrides: dict[str, Any], own_redis: RedisProcess, bucket: oss2.Bucket
) -> None:
    app = create_app({**app_overrides, "REDIS_URL": own_redis.url})
    client = app.test_client()
    own_redis.freeze()
    response = upload(client, pictures.png())
    text = app_text(app)
    assert response.status_code == 201
    assert total(text, "gallery_dependency_errors_total", dependency="redis", kind="timeout") >= 1
    assert total(text, "gallery_thumbnail_jobs_total", state="delayed") == 1
    assert total(text, "gallery_dependency_errors_total", dependency="oss") == 0


def test_a_scripts_first_call_on_a_fresh_redis_is_no_failure(
    app_overrides: dict[str, Any], own_redis: RedisProcess
) -> None:
    app = create_app({**app_overrides, "REDIS_URL": own_redis.url})
    upload(app.test_client(), pictures.png())  # indexes the record with a Lua script
    assert total(app_text(app), "gallery_dependency_errors_total", dependency="redis") == 0


def test_a_redis_that_refuses_connections_counts_as_an_error_not_a_timeout(
    app_overrides: dict[str, Any], own_redis: RedisProcess
) -> None:
    app = create_app({**app_overrides, "REDIS_URL": own_redis.url})
    own_redis.stop()
    app.test_client().get("/", headers=AUTH)
    text = app_text(app)
    assert total(text, "gallery_dependency_errors_total", dependency="redis", kind="error") >= 1
    assert total(text, "gallery_dependency_errors_total", dependency="redis", kind="timeout") == 0


def test_a_hung_oss_shows_as_a_timeout_and_a_failed_upload(
    app_overrides: dict[str, Any], oss_proxy: HangingProxy
) -> None:
    app = create_app({**app_overrides, "OSS_ENDPOINT": oss_proxy.endpoint})
    oss_proxy.hang()
    response = upload(app.test_client(), pictures.png())
    text = app_text(app)
    assert response.status_code == 503
    assert total(text, "gallery_dependency_errors_total", dependency="oss", kind="timeout") >= 1
    assert total(text, "gallery_uploads_total", result="failed") == 1
    assert total(text, "gallery_http_requests_total", route="/api/images", status="503") == 1


def test_queue_depth_is_read_from_redis_when_scraped(app: Flask) -> None:
    from gallery.metrics import exposition_registry

    celery_queue = app.config["SETTINGS"].CELERY_QUEUE
    redis_client = app.extensions["gallery.clients"].redis
    redis_client.rpush(celery_queue, "job-1", "job-2")
    try:
        text = generate_latest(exposition_registry(app, queue_depth=True)).decode()
    finally:
        redis_client.delete(celery_queue)
    assert total(text, "gallery_thumbnail_queue_depth", queue=celery_queue) == 2


def test_with_metrics_disabled_no_request_is_counted(app_overrides: dict[str, Any]) -> None:
    app = create_app({**app_overrides, "METRICS_ENABLED": False})
    app.test_client().get("/main/")
    assert total(app_text(app), "gallery_http_requests_total") == 0
