"""A plain install works: a venv made from the project's declared dependencies only (no test
group, no extras) runs the Celery worker, and that worker makes thumbnails."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from fakeoss.testing import RunningFakeOss
from gallery import create_app
from support import pictures
from support.gallery import upload, wait_for

ROOT = Path(__file__).resolve().parents[2]

# Building the venv downloads or copies ~30 packages: the engine session runs it (in CI too).
pytestmark = pytest.mark.engine


def make_plain_venv(target: Path) -> Path:
    uv = shutil.which("uv")
    if uv:
        subprocess.run([uv, "venv", "--python", sys.executable, str(target)], check=True)
        python = target / "bin" / "python"
        subprocess.run([uv, "pip", "install", "--python", str(python), str(ROOT)], check=True)
    else:
        subprocess.run([sys.executable, "-m", "venv", str(target)], check=True)
        python = target / "bin" / "python"
        subprocess.run([str(python), "-m", "pip", "install", "-q", str(ROOT)], check=True)
    return python


def test_worker_from_a_plain_install_makes_thumbnails(
    tmp_path: Path,
    app_overrides: dict[str, Any],
    fakeoss: RunningFakeOss,
    redis_url: str,
) -> None:
    python = make_plain_venv(tmp_path / "venv")
    log_path = tmp_path / "worker.log"
    (tmp_path / "instance").mkdir()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "FLASK_CONFIG": "testing",
        "GALLERY_INSTANCE_PATH": str(tmp_path / "instance"),
        "REDIS_URL": redis_url,
        "CELERY_QUEUE": app_overrides["CELERY_QUEUE"],
        "OSS_ENDPOINT": fakeoss.endpoint,
        "OSS_BUCKET": app_overrides["OSS_BUCKET"],
        "OSS_ACCESS_KEY_ID": fakeoss.access_key_id,
        "OSS_ACCESS_KEY_SECRET": fakeoss.access_key_secret,
    }
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [str(python), "-m", "celery", "-A", "gallery.worker:celery", "worker",
             "--pool=solo", "--loglevel=INFO", "--without-mingle", "--without-gossip"],
            env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:

        def worker_ready() -> bool:
            assert worker.poll() is None, f"worker exited at start:\n{log_path.read_text()}"
            return " ready." in log_path.read_text(errors="replace")

        wait_for(worker_ready, seconds=60, what="the plain install's worker to say it is ready")
        client: FlaskClient = create_app(app_overrides).test_client()
        image_id = upload(client, pictures.png()).json["id"]  # type: ignore[index]

        def ready() -> bool:
            document = client.get(f"/api/images/{image_id}").json
            return document is not None and document["thumbnail_status"] == "ready"

        wait_for(ready, seconds=30, what="thumbnails from the plain install's worker")
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    assert "ModuleNotFoundError" not in log_path.read_text()
