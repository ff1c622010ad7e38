"""Background work through Celery and Redis: making thumbnails.

Each Flask app gets its own Celery app (made here, kept in app.extensions), configured from the
same Settings; the worker process uses the one `gallery.worker` makes. Tasks run inside the Flask
app's context, so they reach OSS through the same clients as a request does.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import oss2
import redis
from celery import Celery, Task
from flask import Flask, current_app
from PIL import UnidentifiedImageError

from gallery.clients import clients
from gallery.decoding import decode_slots
from gallery.metrics import metrics_of
from gallery.records import ImageRecord, is_image_id, uploaded_at
from gallery.settings import Settings
from gallery.thumbnails import content_type_of, make_thumbnails

EXTENSION_KEY = "gallery.celery"
THUMBNAIL_TASK = "gallery.make_thumbnails"
SWEEP_TASK = "gallery.sweep"
COLLECT_ORPHANS_TASK = "gallery.collect_orphans"
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
        # The worker's periodic jobs (`celery worker -B` runs the scheduler in the worker).
        "beat_schedule": {
            "sweep": {"task": SWEEP_TASK, "schedule": float(settings.SWEEP_INTERVAL_SECONDS)},
            "collect-orphans": {"task": COLLECT_ORPHANS_TASK, "schedule": 600.0},
        },
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
    celery.task(name=SWEEP_TASK, bind=True)(sweep_task)
    celery.task(name=COLLECT_ORPHANS_TASK, bind=True)(collect_orphans_task)
    app.extensions[EXTENSION_KEY] = celery
    return celery


def celery_of(app: Flask) -> Celery:
    found: Celery = app.extensions[EXTENSION_KEY]
    return found


def thumbnail_task(task: Task, image_id: str) -> str:
    metrics = metrics_of(current_app)
    started = time.perf_counter()
    result = "error"  # an exception: Celery retries (OSS) or gives up
    try:
        result = make_thumbnails_for(image_id)
        return result
    finally:
        # The id says when the upload was taken in, to the millisecond (records.new_image_id).
        uploaded = uploaded_at(image_id) if is_image_id(image_id) else None
        metrics.thumbnail_job_ran(result, time.perf_counter() - started, uploaded)


def make_thumbnails_for(image_id: str) -> str:
    """Make and store every thumbnail of one image; safe to run twice. Returns what happened."""
    found = clients()
    store, catalog, settings = found.store, found.catalog, found.settings
    record = store.get_record(image_id)
    if record is None or catalog.is_gone(image_id):
        return "gone"
    if record.thumbnail_status == "ready":
        return "already done"
    data = store.read(record.original_key)
    if data is None:
        return "gone"
    kind = settings.THUMBNAIL_FORMAT
    content_type, extension = content_type_of(kind)
    try:
        with decode_slots(current_app).held(wait_seconds=None):
            encoded = make_thumbnails(data, settings.THUMBNAIL_SIZES, kind)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        # The upload was checked; if Pillow still fails, retrying will not help.
        log.exception("thumbnails for %s failed", image_id)
        catalog.save(record.model_copy(update={"thumbnail_status": "failed"}))
        return "failed"
    del data
    keys = {}
    for size, blob in encoded.items():
        key = store.thumbnail_key(image_id, size, extension)
        store.put_bytes(key, blob, content_type=content_type)
        keys[str(size)] = key
    latest = store.get_record(image_id)
    if latest is None or catalog.is_gone(image_id):  # deleted while we worked: leave nothing
        store.delete_objects(list(keys.values()))
        return "gone"
    catalog.save(
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
        catalog.delete(image_id)
        return "gone"
    return "made"


def needs_queueing(record: ImageRecord, settings: Settings, now: datetime | None = None) -> bool:
    """A pending record Redis never took, or took so long ago that its job may be lost
    (Redis restarted without its data)."""
    if record.thumbnail_status != "pending":
        return False
    if record.queued_at is None:
        return True
    now = now or datetime.now(timezone.utc)
    return now - record.queued_at > timedelta(seconds=settings.REQUEUE_AFTER_SECONDS)


def publish(image_id: str, app: Flask | None = None) -> bool:
    """Hand a thumbnail job to Redis; False (logged, never raised) if it could not take it.

    Any failure counts, not only the queue's own errors: the image is stored by now, and a
    client that got a 500 would upload it again.
    """
    app = app or current_app
    found = clients(app)
    jobs = metrics_of(app).thumbnail_jobs
    if found.redis_outage.active():
        log.warning("thumbnails for %s delayed: redis failed moments ago", image_id)
        jobs.labels("delayed").inc()
        return False
    try:
        celery_of(app).tasks[THUMBNAIL_TASK].apply_async(args=[image_id], retry=False)
    except (redis.RedisError, OSError) as exc:
        found.redis_outage.record()
        # Celery publishes on its own connection, not the app's counted client.
        metrics_of(app).dependency_failed("redis", exc)
        jobs.labels("delayed").inc()
        log.warning("thumbnails for %s delayed: the queue is unreachable: %s", image_id, exc)
        return False
    except Exception as exc:
        found.redis_outage.record()
        metrics_of(app).dependency_failed("redis", exc)
        jobs.labels("delayed").inc()
        log.exception("thumbnails for %s delayed: queueing failed", image_id)
        return False
    jobs.labels("queued").inc()
    return True


def queue_thumbnails(record: ImageRecord, app: Flask | None = None) -> ImageRecord:
    """Save a new record and hand its thumbnail job to Redis; return the record as saved
    (queued_at None if Redis could not take it: the worker's sweep queues it later).

    Raises only if OSS refused the first save (nothing refers to the original then).
    The record says "queued" before the job exists, so a fast worker's "ready" is never
    overwritten by a late "queued" from here.
    """
    app = app or current_app
    catalog = clients(app).catalog
    queued = record.model_copy(update={"queued_at": ImageRecord.now()})
    catalog.save(queued)
    if publish(record.id, app):
        return queued
    unqueued = record.model_copy(update={"queued_at": None})
    try:
        catalog.save(unqueued)
    except oss2.exceptions.OssError as exc:
        # The record stays "queued"; the sweep re-queues it after REQUEUE_AFTER_SECONDS.
        log.warning("record of %s not marked delayed: %s", record.id, exc)
    return unqueued


def requeue(record: ImageRecord, app: Flask | None = None) -> bool:
    """Queue a stalled record's job again, at most once per REQUEUE_AFTER_SECONDS (however many
    listings and sweeps see it). Never writes the record: a delete racing this cannot be undone.
    """
    app = app or current_app
    found = clients(app)
    if found.redis_outage.active():
        return False
    marker = f"{found.namespace}requeued:{record.id}"
    try:
        fresh = found.redis.set(marker, 1, nx=True, ex=found.settings.REQUEUE_AFTER_SECONDS)
    except redis.RedisError as exc:
        found.redis_outage.record()
        log.warning("re-queue of %s skipped: %s", record.id, type(exc).__name__)
        return False
    if not fresh:
        return True
    return publish(record.id, app)


def sweep_task(task: Task) -> dict[str, int]:
    return sweep()


def sweep() -> dict[str, int]:
    """The worker's periodic repair: the index matches OSS, and every pending image whose job
    may be lost is queued again (Redis restarted empty, or was down at upload)."""
    found = clients()
    done = found.catalog.reconcile()
    requeued = 0
    # The records reconcile just listed: an image stored since is queued by its own upload.
    for record in found.catalog.records(done.listed):
        if needs_queueing(record, found.settings) and requeue(record):
            requeued += 1
    result = {"added": done.added, "updated": done.updated, "dropped": done.dropped}
    result["requeued"] = requeued
    log.info("sweep: %s", result)
    return result


def collect_orphans_task(task: Task) -> int:
    return collect_orphans()


def collect_orphans(min_age_seconds: float | None = None) -> int:
    """Delete what failed uploads left: every image whose upload was abandoned (OSS did not
    answer; a write it held may have landed since), and objects under images/ with no record
    older than ORPHAN_AGE_SECONDS. Returns how many images or objects went."""
    found = clients()
    age = found.settings.ORPHAN_AGE_SECONDS if min_age_seconds is None else min_age_seconds
    now = time.time()
    removed = 0
    # Abandoned ids are kept a day: a held write may land long after the client gave up.
    abandoned = found.catalog.abandoned(forget_before=now - 24 * 3600)
    for image_id in abandoned:
        record_key = found.store.record_key(image_id)
        keys = found.store.keys_of(image_id)
        if found.store.bucket.object_exists(record_key):
            keys.append(record_key)
        if keys:
            found.store.delete_objects(keys)
            found.catalog.delete(image_id)  # buries it: a write still held cannot come back
            removed += 1
    keys = found.store.orphans(older_than=now - age)
    found.store.delete_objects(keys)
    removed += len(keys)
    if removed:
        log.info("removed %d orphaned images or objects", removed)
    return removed
