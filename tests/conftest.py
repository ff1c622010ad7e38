"""Fixtures shared by every test: the app (as in Flask's tutorial), a real Redis, fake OSS."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oss2
import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from fakeoss.testing import RunningFakeOss, running_fakeoss
from gallery import create_app
from support.loopback import free_port
from support.workers import CeleryWorker

FAKEOSS_BUCKET = "gallery"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--target",
        choices=("fake", "real"),
        default="fake",
        help="OSS contract target: fake (fakeoss, default) or real (needs OSS_* variables)",
    )


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free loopback port, for the whole session.

    TEST_REDIS_URL points the tests at a running Redis instead (`invoke test` gives the stack's
    own, on a database of its own), which is emptied first.
    """
    given = os.environ.get("TEST_REDIS_URL")
    if given:
        import redis

        with redis.Redis.from_url(given) as client:
            client.flushdb()
        yield given
        return
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not installed: apt-get install -y redis-server (.ci/run does)")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        process.kill()
        pytest.fail(f"redis-server did not listen on 127.0.0.1:{port} within 10 s")
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def instance_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty instance folder per test, so a developer's instance/config.py never leaks in."""
    path = tmp_path / "instance"
    path.mkdir()
    monkeypatch.setenv("GALLERY_INSTANCE_PATH", str(path))
    return path


@pytest.fixture(scope="session")
def fakeoss() -> Iterator[RunningFakeOss]:
    """A fake OSS server on a free loopback port, for the whole session (buckets are per test)."""
    with running_fakeoss(
        access_key_id="gallery-test-id",
        access_key_secret="gallery-test-secret",
        buckets=(FAKEOSS_BUCKET,),
        create_buckets_on_demand=False,
    ) as fake:
        yield fake


@pytest.fixture
def bucket(fakeoss: RunningFakeOss) -> Iterator[oss2.Bucket]:
    """A new, empty bucket of the test's own on the fake OSS (as flaskr's fresh database).

    Nothing another test (or its worker, finishing late) writes can land in it, so the tests
    pass in any order. Emptied and removed afterwards.
    """
    found = fakeoss.bucket(f"t-{uuid.uuid4().hex[:24]}")
    found.create_bucket(oss2.BUCKET_ACL_PRIVATE)
    yield found
    keys = [info.key for info in oss2.ObjectIterator(found)]
    for start in range(0, len(keys), 1000):
        found.batch_delete_objects(keys[start : start + 1000])
    found.delete_bucket()


@pytest.fixture
def celery_queue() -> str:
    """The test's own Celery queue: only the test's own worker takes its jobs."""
    return f"gallery-test-{uuid.uuid4().hex[:12]}"


def oss_settings(fake: RunningFakeOss, bucket_name: str = FAKEOSS_BUCKET) -> dict[str, str]:
    return {
        "OSS_ENDPOINT": fake.endpoint,
        "OSS_BUCKET": bucket_name,
        "OSS_ACCESS_KEY_ID": fake.access_key_id,
        "OSS_ACCESS_KEY_SECRET": fake.access_key_secret,
    }


@pytest.fixture
def worker_settings() -> dict[str, str]:
    """Extra settings for the test's worker; a test module overrides this fixture."""
    return {}


@pytest.fixture
def celery_worker(celery_worker_process: CeleryWorker) -> Path:
    """A real worker for one test; the path of its log, which helps when a test fails."""
    return celery_worker_process.log_path


@pytest.fixture
def celery_worker_process(
    redis_url: str,
    fakeoss: RunningFakeOss,
    bucket: oss2.Bucket,
    celery_queue: str,
    worker_settings: dict[str, str],
    tmp_path: Path,
) -> Iterator[CeleryWorker]:
    """A real `celery -A gallery.worker:celery worker` process for one test.

    It reads the testing config, the test's bucket, queue and the session's Redis from its
    environment, as the stack's worker service does, and runs the periodic sweep (--beat).
    """
    workdir = tmp_path / "celery"
    (workdir / "instance").mkdir(parents=True)
    log_path = workdir / "worker.log"
    env = {
        **os.environ,
        **oss_settings(fakeoss, bucket.bucket_name),
        "FLASK_CONFIG": "testing",
        "GALLERY_INSTANCE_PATH": str(workdir / "instance"),
        "REDIS_URL": redis_url,
        "CELERY_QUEUE": celery_queue,
        "PYTHONWARNINGS": "ignore",
        **worker_settings,
    }
    command = [
        sys.executable, "-m", "celery", "-A", "gallery.worker:celery", "worker",
        "--loglevel=INFO", "--pool=solo", "--without-mingle", "--without-gossip",
        "--without-heartbeat", f"--hostname={celery_queue}@%h",
        "--beat", f"--schedule={workdir / 'beat-schedule'}",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        # A session of its own: --beat runs the scheduler in a child process, which must go
        # with the worker.
        process = subprocess.Popen(
            command,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            start_new_session=True,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if " ready." in log_path.read_text(errors="replace"):
            break
        if process.poll() is not None:
            pytest.fail(f"celery worker exited at start:\n{log_path.read_text()}")
        time.sleep(0.05)
    else:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail(f"celery worker not ready within 30 s:\n{log_path.read_text()}")
    yield CeleryWorker(process, log_path)
    # Killed, not stopped: its bucket is deleted next, so a job it was still doing can only
    # fail on a missing bucket, never write into another test's.
    with contextlib.suppress(ProcessLookupError):  # a test may have stopped it already
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@pytest.fixture
def app_overrides(
    redis_url: str, fakeoss: RunningFakeOss, bucket: oss2.Bucket, celery_queue: str
) -> dict[str, Any]:
    return {
        "CONFIG_NAME": "testing",
        "REDIS_URL": redis_url,
        "READINESS_TIMEOUT": 1.0,
        "CELERY_QUEUE": celery_queue,
        **oss_settings(fakeoss, bucket.bucket_name),
    }


@pytest.fixture
def app(instance_path: Path, app_overrides: dict[str, Any]) -> Flask:
    return create_app(app_overrides)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


# Small limits, so that the "too large" and "multipart" paths need only a few hundred KB.
GALLERY_TEST_LIMITS = {
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "OSS_MULTIPART_THRESHOLD": 300 * 1024,
    "OSS_PART_SIZE": 100 * 1024,
    "MAX_IMAGE_PIXELS": 4_000_000,
}


@pytest.fixture
def gallery_app(instance_path: Path, app_overrides: dict[str, Any], bucket: oss2.Bucket) -> Flask:
    """The app over an empty bucket, with small size limits."""
    return create_app({**app_overrides, **GALLERY_TEST_LIMITS})


@pytest.fixture
def api(gallery_app: Flask) -> FlaskClient:
    return gallery_app.test_client()
