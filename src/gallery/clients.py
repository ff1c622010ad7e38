"""Clients of the app's outside services, made once per app from its settings and kept on it.

Nothing here is module-level: each app (and each test's app) gets its own, so tests can point
one app at a fake OSS and a throwaway Redis without touching another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import oss2
import redis
from flask import Flask, current_app

from gallery import credentials
from gallery.catalog import Catalog
from gallery.index import RecordIndex
from gallery.metrics import CountingOssSession, CountingRedis
from gallery.outage import Outage
from gallery.settings import Settings, oss_region
from gallery.storage import ImageStore

EXTENSION_KEY = "gallery.clients"


@dataclass(frozen=True)
class Clients:
    settings: Settings
    redis: redis.Redis
    bucket: oss2.Bucket
    store: ImageStore
    catalog: Catalog
    # Shared by every Redis call of this process: after a failure, skip Redis for a moment.
    redis_outage: Outage

    @property
    def namespace(self) -> str:
        """Prefix of this gallery's Redis keys: one bucket, one gallery."""
        return f"gallery:{self.settings.OSS_BUCKET}:"


def make_clients(
    settings: Settings, on_failure: Callable[[str, BaseException], None] | None = None
) -> Clients:
    """`on_failure(dependency, exc)` hears of every failed Redis and OSS call (the metrics)."""
    report = on_failure or (lambda dependency, exc: None)
    redis_client = cast(
        CountingRedis,
        CountingRedis.from_url(
            settings.REDIS_URL,
            socket_connect_timeout=settings.REDIS_TIMEOUT,
            socket_timeout=settings.REDIS_TIMEOUT,
        ),
    )
    redis_client.on_failure = lambda exc: report("redis", exc)
    # Fetched once here, so a role mode that cannot get credentials stops the app at start
    # with one line, rather than failing its first request.
    provider = credentials.credentials_provider(settings)
    credentials.check_credentials(settings, provider)
    v4 = settings.OSS_SIGNATURE_VERSION == "v4"
    bucket = oss2.Bucket(
        oss2.ProviderAuthV4(provider) if v4 else oss2.ProviderAuth(provider),
        settings.OSS_ENDPOINT,
        settings.OSS_BUCKET,
        # oss2 hands this to requests as one number: the connect and each read timeout.
        connect_timeout=settings.OSS_TIMEOUT,
        enable_crc=True,
        is_path_style=settings.OSS_PATH_STYLE,
        session=CountingOssSession(lambda exc: report("oss", exc)),
        region=oss_region(settings) if v4 else None,
    )
    store = ImageStore(
        bucket,
        multipart_threshold=settings.OSS_MULTIPART_THRESHOLD,
        part_size=settings.OSS_PART_SIZE,
    )
    outage = Outage("redis")
    index = RecordIndex(redis_client, f"gallery:{settings.OSS_BUCKET}:")
    return Clients(
        settings=settings,
        redis=redis_client,
        bucket=bucket,
        store=store,
        catalog=Catalog(store, index, outage),
        redis_outage=outage,
    )


def init_app(
    app: Flask, settings: Settings, on_failure: Callable[[str, BaseException], None] | None = None
) -> None:
    app.extensions[EXTENSION_KEY] = make_clients(settings, on_failure)


def clients(app: Flask | None = None) -> Clients:
    found: Clients = (app or current_app).extensions[EXTENSION_KEY]
    return found
