"""The gallery under bad infrastructure: a hung Redis, a hung OSS, a lost queue, a broken
publish. A hung dependency costs a request its client's timeout, never a hang (the hung tests
would not return otherwise); nothing is stored that no record names, and a deleted image stays
deleted. How long such a request takes is a speed, not asserted here: what bounds it is that
every Redis and OSS client is built with its setting's timeout."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import oss2
import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from gallery import catalog as catalog_module
from gallery import create_app
from gallery.clients import clients
from gallery.records import ImageRecord, new_image_id
from gallery.tasks import THUMBNAIL_TASK, celery_of, sweep
from support import pictures
from support.faults import HangingProxy, RedisProcess
from support.gallery import AUTH, bucket_keys, upload, wait_for
from support.loopback import closed_port_url


@pytest.fixture
def redis_url(own_redis: RedisProcess) -> str:
    """Every app and worker of these tests uses the test's own Redis, which it may break."""
    return own_redis.url


@pytest.fixture
def make_app() -> Iterator[Callable[[dict[str, Any]], Flask]]:
    """`create_app`, whose apps' Redis sockets are closed when the test ends. Left to the
    collector, a socket reconnected after a restart can be finalized before its connection
    and warn "unclosed" in whichever later test the collection happens to run."""
    made: list[Flask] = []

    def make(overrides: dict[str, Any]) -> Flask:
        made.append(create_app(overrides))
        return made[-1]

    yield make
    for app in made:
        clients(app).redis.connection_pool.disconnect()


def test_every_redis_and_oss_client_waits_at_most_its_settings_timeout(
    app_overrides: dict[str, Any],
    make_app: Callable[[dict[str, Any]], Flask],
) -> None:
    app = make_app({**app_overrides, "REDIS_TIMEOUT": 0.25, "OSS_TIMEOUT": 0.75})
    redis_options = clients(app).redis.connection_pool.connection_kwargs
    broker_options = celery_of(app).conf.broker_transport_options
    assert redis_options["socket_timeout"] == redis_options["socket_connect_timeout"] == 0.25
    assert broker_options["socket_timeout"] == broker_options["socket_connect_timeout"] == 0.25
    assert celery_of(app).conf.broker_connection_timeout == 0.25
    assert clients(app).bucket.timeout == 0.75


def test_upload_with_a_hung_redis_answers_201_delayed(
    app_overrides: dict[str, Any],
    own_redis: RedisProcess,
    bucket: oss2.Bucket,
    make_app: Callable[[dict[str, Any]], Flask],
) -> None:
    app = make_app(app_overrides)
    own_redis.freeze()
    response = upload(app.test_client(), pictures.png())
    assert response.status_code == 201
    assert "Thumbnails are delayed" in response.json["notice"]
    assert len(bucket_keys(bucket)) == 2  # the original and its record, once


def test_page_and_healthz_with_a_hung_redis_answer(
    app_overrides: dict[str, Any],
    own_redis: RedisProcess,
    make_app: Callable[[dict[str, Any]], Flask],
) -> None:
    app = make_app(app_overrides)
    client = app.test_client()
    upload(client, pictures.png())
    own_redis.freeze()
    page = client.get("/")
    health = client.get("/healthz")
    assert page.status_code == 200
    assert 'title="picture.png"' in page.get_data(as_text=True)
    assert health.status_code == 200


def test_upload_with_a_hung_oss_answers_503(
    app_overrides: dict[str, Any],
    oss_proxy: HangingProxy,
    make_app: Callable[[dict[str, Any]], Flask],
) -> None:
    app = make_app({**app_overrides, "OSS_ENDPOINT": oss_proxy.endpoint})
    oss_proxy.hang()
    response = upload(app.test_client(), pictures.png())
    assert response.status_code == 503


def test_oss_hanging_mid_upload_leaves_nothing_once_gc_ran(
    app_overrides: dict[str, Any],
    oss_proxy: HangingProxy,
    bucket: oss2.Bucket,
    make_app: Callable[[dict[str, Any]], Flask],
) -> None:
    app = make_app({**app_overrides, "OSS_ENDPOINT": oss_proxy.endpoint})
    store = clients(app).store
    save_record = store.save_record

    def hang_then_save(record: ImageRecord) -> str:
        oss_proxy.hang()  # the original is stored; OSS stops answering before the record
        return save_record(record)

    store.save_record = hang_then_save  # type: ignore[method-assign]
    response = upload(app.test_client(), pictures.png())
    assert response.status_code == 503
    oss_proxy.resume()
    store.save_record = save_record  # type: ignore[method-assign]
    # The record's PUT was held, not lost: once OSS answers again, it lands.
    wait_for(lambda: any(k.startswith("records/") for k in bucket_keys(bucket)), what="record")
    result = app.test_cli_runner().invoke(args=["gallery", "gc", "--min-age", "0"])
    assert result.exit_code == 0, result.output
    assert bucket_keys(bucket) == []


def test_record_refused_by_oss_removes_the_original_at_once(
    gallery_app: Flask, bucket: oss2.Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(record: ImageRecord) -> str:
        raise oss2.exceptions.ServerError(500, {}, b"", {})

    monkeypatch.setattr(clients(gallery_app).store, "save_record", refuse)
    response = upload(gallery_app.test_client(), pictures.png())
    assert response.status_code == 503
    assert bucket_keys(bucket) == []


def test_gc_keeps_young_orphans_and_every_recorded_image(
    gallery_app: Flask, api: FlaskClient, bucket: oss2.Bucket
) -> None:
    image_id = upload(api, pictures.png()).json["id"]  # type: ignore[index]
    bucket.put_object("images/00000000-0000-8000-8000-000000000000/original.png", b"x")
    result = gallery_app.test_cli_runner().invoke(args=["gallery", "gc"])
    assert "removed 0 orphaned images or objects" in result.output
    assert len(bucket_keys(bucket)) == 3
    gallery_app.test_cli_runner().invoke(args=["gallery", "gc", "--min-age", "0"])
    assert bucket_keys(bucket) == [f"images/{image_id}/original.png", f"records/{image_id}.json"]


def test_any_failure_to_queue_after_storing_answers_201_delayed(
    gallery_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = celery_of(gallery_app).tasks[THUMBNAIL_TASK]

    def broken(*args: object, **kwargs: object) -> None:
        raise ModuleNotFoundError("No module named 'packaging'")

    monkeypatch.setattr(task, "apply_async", broken)
    response = upload(gallery_app.test_client(), pictures.png())
    assert response.status_code == 201
    assert "Thumbnails are delayed" in response.json["notice"]  # type: ignore[index]


def test_delete_during_a_listing_that_requeues_is_never_undone(
    gallery_app: Flask,
    app_overrides: dict[str, Any],
    bucket: oss2.Bucket,
    make_app: Callable[[dict[str, Any]], Flask],
) -> None:
    no_redis = make_app({**app_overrides, "REDIS_URL": closed_port_url("redis")})
    image_id = upload(no_redis.test_client(), pictures.png()).json["id"]  # type: ignore[index]
    api = gallery_app.test_client()
    task = celery_of(gallery_app).tasks[THUMBNAIL_TASK]
    publish = task.apply_async

    def delete_while_listing(*args: Any, **kwargs: Any) -> Any:
        assert api.delete(f"/api/images/{image_id}", headers=AUTH).status_code == 204
        return publish(*args, **kwargs)

    task.apply_async = delete_while_listing
    try:
        listing = api.get("/api/images")
    finally:
        task.apply_async = publish
    assert listing.status_code == 200
    assert api.get("/api/images").json == {"images": [], "next_cursor": None}
    assert api.get(f"/api/images/{image_id}").status_code == 404
    assert bucket_keys(bucket) == []


@pytest.fixture
def worker_settings() -> dict[str, str]:
    return {"REQUEUE_AFTER_SECONDS": "1", "SWEEP_INTERVAL_SECONDS": "1"}


def test_job_lost_with_redis_restarted_empty_is_requeued_once(
    app_overrides: dict[str, Any],
    own_redis: RedisProcess,
    bucket: oss2.Bucket,
    request: pytest.FixtureRequest,
    make_app: Callable[[dict[str, Any]], Flask],
) -> None:
    app = make_app(app_overrides)
    client = app.test_client()
    image_id = upload(client, pictures.png()).json["id"]  # type: ignore[index]
    own_redis.restart_empty()  # the queued job is gone with Redis's data
    request.getfixturevalue("celery_worker")

    def ready() -> bool:
        document = client.get(f"/api/images/{image_id}").json
        return document is not None and document["thumbnail_status"] == "ready"

    wait_for(ready, seconds=30, what="thumbnails of a job Redis lost")
    keys = bucket_keys(bucket)
    assert [key for key in keys if key.startswith("records/")] == [f"records/{image_id}.json"]
    assert len(keys) == 4  # original, two thumbnails, one record: nothing made twice


def test_sweep_rebuilds_a_lost_index_from_oss(
    app_overrides: dict[str, Any],
    own_redis: RedisProcess,
    make_app: Callable[[dict[str, Any]], Flask],
) -> None:
    app = make_app(app_overrides)
    client = app.test_client()
    ids = [upload(client, pictures.png()).json["id"] for _ in range(3)]  # type: ignore[index]
    own_redis.restart_empty()
    listed = client.get("/api/images").json
    assert [image["id"] for image in listed["images"]] == sorted(ids)  # type: ignore[index]
    with app.app_context():
        result = sweep()
    assert result["added"] == 3
    assert clients(app).catalog.index.is_complete()
    listed = client.get("/api/images").json
    assert [image["id"] for image in listed["images"]] == sorted(ids)  # type: ignore[index]


def test_records_are_read_from_the_index_in_batches_and_from_oss_where_it_lacks_them(
    app_overrides: dict[str, Any],
    own_redis: RedisProcess,
    make_app: Callable[[dict[str, Any]], Flask],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(catalog_module, "READ_BATCH", 2)
    app = make_app(app_overrides)
    client = app.test_client()
    ids = [upload(client, pictures.png()).json["id"] for _ in range(5)]  # type: ignore[index]
    catalog = clients(app).catalog
    catalog.reconcile()  # the index known complete
    catalog.index.drop([ids[1]])  # in OSS only now
    reads: list[list[str]] = []
    get_many = catalog.index.get_many
    monkeypatch.setattr(
        catalog.index, "get_many", lambda batch: reads.append(batch) or get_many(batch)
    )

    nowhere = new_image_id()
    found = list(catalog.records([*ids, "not an id", nowhere]))

    assert [record.id for record in found] == ids
    assert reads == [ids[0:2], ids[2:4], [ids[4], nowhere]]
    own_redis.stop()
    assert [record.id for record in catalog.records(ids)] == ids  # OSS alone


def test_a_redis_failure_in_reconcile_leaves_the_records_not_yet_read_unread(
    app_overrides: dict[str, Any],
    make_app: Callable[[dict[str, Any]], Flask],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    catalog = clients(make_app(app_overrides)).catalog
    listed = {new_image_id(): '"ETAG"' for _ in range(50)}
    reads: list[str] = []

    def get_record(image_id: str) -> object:
        reads.append(image_id)
        time.sleep(0.01)  # all 50 would take 0.5 s
        return object()

    def put(record: object, etag: str) -> bool:
        raise redis.ConnectionError("Redis went away")

    monkeypatch.setattr(catalog.store, "record_etags", lambda: listed)
    monkeypatch.setattr(catalog.store, "get_record", get_record)
    monkeypatch.setattr(catalog.index, "put", put)

    with pytest.raises(redis.ConnectionError):
        catalog.reconcile()
    assert len(reads) < len(listed)  # the reads not begun were dropped, not waited for
