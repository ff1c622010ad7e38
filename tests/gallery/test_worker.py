"""Thumbnails through Redis and a real `celery worker` process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import oss2
import pytest
from flask import Flask
from flask.testing import FlaskClient

from gallery import create_app
from gallery.tasks import THUMBNAIL_TASK, celery_of
from support import pictures
from support.gallery import AUTH, bucket_keys, upload, wait_for
from support.loopback import closed_port_url


def thumbnail_ready(client: FlaskClient, image_id: str) -> dict[str, Any] | None:
    document = client.get(f"/api/images/{image_id}").json
    assert document is not None
    return document if document["thumbnail_status"] == "ready" else None


@pytest.mark.usefixtures("celery_worker")
def test_worker_makes_both_thumbnails(api: FlaskClient, bucket: oss2.Bucket) -> None:
    image_id = upload(api, pictures.jpeg(2000, 1000, with_gps=True), "wide.jpg").json["id"]  # type: ignore[index]
    wait_for(lambda: thumbnail_ready(api, image_id), what="thumbnails")
    assert bucket_keys(bucket) == [
        f"images/{image_id}/original.jpg",
        f"images/{image_id}/thumb-1024.webp",
        f"images/{image_id}/thumb-320.webp",
        f"records/{image_id}.json",
    ]


@pytest.mark.usefixtures("celery_worker")
def test_ready_thumbnail_redirects_to_the_fitting_size(api: FlaskClient) -> None:
    image_id = upload(api, pictures.png(2000, 1000)).json["id"]  # type: ignore[index]
    wait_for(lambda: thumbnail_ready(api, image_id), what="thumbnails")
    small = api.get(f"/images/{image_id}/thumbnail")
    large = api.get(f"/images/{image_id}/thumbnail?size=500")
    assert small.status_code == large.status_code == 302
    assert f"/images/{image_id}/thumb-320.webp?" in small.headers["Location"]
    assert f"/images/{image_id}/thumb-1024.webp?" in large.headers["Location"]
    assert small.headers["Cache-Control"] == "public, max-age=150"


@pytest.mark.usefixtures("celery_worker")
def test_delete_after_thumbnails_removes_them_too(api: FlaskClient, bucket: oss2.Bucket) -> None:
    image_id = upload(api, pictures.png()).json["id"]  # type: ignore[index]
    wait_for(lambda: thumbnail_ready(api, image_id), what="thumbnails")
    assert api.delete(f"/api/images/{image_id}", headers=AUTH).status_code == 204
    assert bucket_keys(bucket) == []


def test_upload_with_redis_down_succeeds_and_says_thumbnails_are_delayed(
    app_overrides: dict[str, Any], bucket: oss2.Bucket
) -> None:
    no_redis = create_app({**app_overrides, "REDIS_URL": closed_port_url("redis")})
    response = upload(no_redis.test_client(), pictures.png())
    assert response.status_code == 201
    assert response.json is not None
    assert response.json["thumbnail_status"] == "pending"
    assert "Thumbnails are delayed" in response.json["notice"]


@pytest.mark.usefixtures("celery_worker")
def test_delayed_thumbnails_are_made_once_redis_is_back(
    app_overrides: dict[str, Any], api: FlaskClient
) -> None:
    no_redis = create_app({**app_overrides, "REDIS_URL": closed_port_url("redis")})
    image_id = upload(no_redis.test_client(), pictures.png()).json["id"]  # type: ignore[index]
    # The next read through an app that reaches Redis queues the job again.
    document = wait_for(lambda: thumbnail_ready(api, image_id), what="delayed thumbnails")
    assert "notice" not in document


def test_thumbnail_jobs_are_acknowledged_late_and_survive_a_lost_worker(gallery_app: Flask) -> None:
    celery = celery_of(gallery_app)
    task = celery.tasks[THUMBNAIL_TASK]
    assert task.acks_late is True
    assert task.reject_on_worker_lost is True
    assert celery.conf.worker_prefetch_multiplier == 1
    assert celery.conf.broker_transport_options["visibility_timeout"] == 600


def test_worker_entry_exits_with_one_line_on_a_config_error(instance_path: Path) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import gallery.worker"],
        env={
            "FLASK_CONFIG": "production",
            "GALLERY_INSTANCE_PATH": str(instance_path),
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip().startswith("gallery: SECRET_KEY is not set")


@pytest.mark.usefixtures("celery_worker")
def test_queue_thumbnails_command_queues_what_redis_missed(
    app_overrides: dict[str, Any], gallery_app: Flask, api: FlaskClient
) -> None:
    no_redis = create_app({**app_overrides, "REDIS_URL": closed_port_url("redis")})
    image_id = upload(no_redis.test_client(), pictures.png()).json["id"]  # type: ignore[index]
    result = gallery_app.test_cli_runner().invoke(args=["gallery", "queue-thumbnails"])
    assert result.exit_code == 0, result.output
    assert "queued 1, still delayed 0" in result.output
    wait_for(lambda: thumbnail_ready(api, image_id), what="thumbnails queued by the command")
