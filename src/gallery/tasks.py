"""Background work through Celery and Redis: making thumbnails.

Each Flask app gets its own Celery app (made here, kept in app.extensions), configured from the
same Settings; the worker process uses the one `gallery.worker` makes. Tasks run inside the Flask
app's context, so they reach OSS through the same clients as a request does.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

import kombu.exceptions
import oss2
import redis
from celery import Celery, Task
from flask import Flask, current_app
from PIL import UnidentifiedImageError

from gallery.clients import clients
from gallery.records import ImageRecord
from gallery.settings import Settings
from gallery.thumbnails import content_type_of, make_thumbnails

EXTENSION_KEY = "gallery.celery"
THUMBNAIL_TASK = "gallery.make_thumbnails"
log = logging.getLogger(__name__)


def celery_config(settings: Settings) -> dict[str, Any]:
    return {
        "broker_url": settings.REDIS_URL,
        "broker_connection_retry_on_startup": True,
        # A hung Redis (accepting connections, never answering) must cost a publish from a
        # request REDIS_TIMEOUT, not the 4 s default and a socket that waits forever.
        "broker_connection_timeout": settings.REDIS_TIMEOUT,
        "broker_transport_options": {
            # Redis gives a task that was taken but never acknowledged to another worker after
            # this long: with acks_late, that is how a job a killed worker held comes back.
            "visibility_timeout": settings.CELERY_VISIBILITY_TIMEOUT,
            "socket_connect_timeout": settings.REDIS_TIMEOUT,
            "socket_timeout": settings.REDIS_TIMEOUT,
            "max_retries": 0,
        },
        "task_default_queue": settings.CELERY_QUEUE,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_ignore_result": True,
        "task_always_eager": settings.CELERY_TASK_ALWAYS_EAGER,
        "worker_hijack_root_logger": False,
    }


def init_app(app: Flask, settings: Settings) -> Celery:
    class FlaskTask(Task):  # type: ignore[misc]  # celery ships no type hints
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.import_name, task_cls=FlaskTask, set_as_current=False)
    celery.conf.update(celery_config(settings))
    celery.task(
        name=THUMBNAIL_TASK,
        bind=True,
        autoretry_for=(oss2.exceptions.OssError,),
        retry_backoff=2,
        retry_backoff_max=120,
        retry_jitter=True,
        max_retries=10,
    )(thumbnail_task)
    app.extensions[EXTENSION_KEY] = celery
    return celery


def celery_of(app: Flask) -> Celery:
    found: Celery = app.extensions[EXTENSION_KEY]
    return found


def thumbnail_task(task: Task, image_id: str) -> str:
    return make_thumbnails_for(image_id)


def make_thumbnails_for(image_id: str) -> str:
    """Make and store every thumbnail of one image; safe to run twice. Returns what happened."""
    found = clients()
    store, settings = found.store, found.settings
    record = store.get_record(image_id)
    if record is None:
        return "gone"
    if record.thumbnail_status == "ready":
        return "already done"
    data = store.read(record.original_key)
    if data is None:
        return "gone"
    kind = settings.THUMBNAIL_FORMAT
    content_type, extension = content_type_of(kind)
    try:
        encoded = make_thumbnails(data, settings.THUMBNAIL_SIZES, kind)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        # The upload was checked; if Pillow still fails, retrying will not help.
        log.exception("thumbnails for %s failed", image_id)
        store.save_record(record.model_copy(update={"thumbnail_status": "failed"}))
        return "failed"
    keys = {}
    for size, blob in encoded.items():
        key = store.thumbnail_key(image_id, size, extension)
        store.put_bytes(key, blob, content_type=content_type)
        keys[str(size)] = key
    latest = store.get_record(image_id)
    if latest is None:  # deleted while we worked: leave nothing behind
        store.delete_objects(list(keys.values()))
        return "gone"
    store.save_record(
        latest.model_copy(
            update={
                "thumbnail_status": "ready",
                "thumbnail_keys": keys,
                "thumbnail_content_type": content_type,
            }
        )
    )
    # OSS has no "write only if it exists": a delete that ran between our read and our write
    # took the original, so finish that delete rather than leave a record of nothing.
    if not store.bucket.object_exists(record.original_key):
        store.delete_image(image_id)
        return "gone"
    return "made"


def needs_queueing(record: ImageRecord, settings: Settings, now: datetime | None = None) -> bool:
    """A pending record Redis never took, or took so long ago that its job must be lost."""
    if record.thumbnail_status != "pending":
        return False
    if record.queued_at is None:
        return True
    now = now or datetime.now(timezone.utc)
    return now - record.queued_at > timedelta(seconds=2 * settings.CELERY_VISIBILITY_TIMEOUT)


QUEUE_ERRORS = (kombu.exceptions.KombuError, redis.RedisError, OSError)


def queue_thumbnails(record: ImageRecord, app: Flask | None = None) -> ImageRecord:
    """Hand the thumbnail job to Redis; return the record as saved (queued_at None if Redis
    could not take it; a later listing or `flask gallery queue-thumbnails` tries again).

    The record says "queued" before the job exists, so a fast worker's "ready" is never
    overwritten by a late "queued" from here.
    """
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    store = clients(app).store
    queued = record.model_copy(update={"queued_at": ImageRecord.now()})
    store.save_record(queued)
    try:
        celery_of(app).tasks[THUMBNAIL_TASK].apply_async(args=[record.id], retry=False)
    except QUEUE_ERRORS as exc:
        log.warning("thumbnails for %s delayed: the queue is unreachable: %s", record.id, exc)
        unqueued = record.model_copy(update={"queued_at": None})
        store.save_record(unqueued)
        return unqueued
    return queued
