"""A fakeoss server on a free 127.0.0.1 port, for tests and benchmarks."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import oss2
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .server import FakeOss, make_app

SHUTDOWN_POLL = 0.02


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


@dataclass
class RunningFakeOss:
    endpoint: str
    access_key_id: str
    access_key_secret: str
    app: FakeOss
    _server: BaseWSGIServer = field(repr=False)

    def bucket(self, name: str, *, auth_version: str = "v1") -> oss2.Bucket:
        if auth_version == "v4":
            auth: Any = oss2.AuthV4(self.access_key_id, self.access_key_secret)
            return oss2.Bucket(auth, self.endpoint, name, region="cn-hangzhou")
        auth = oss2.Auth(self.access_key_id, self.access_key_secret)
        return oss2.Bucket(auth, self.endpoint, name)


@contextmanager
def serve_wsgi(app: Any, host: str = "127.0.0.1") -> Iterator[BaseWSGIServer]:
    """Serve ``app`` with werkzeug's threaded server on a free port until exit."""
    server = make_server(host, 0, app, threaded=True, request_handler=_QuietHandler)
    # shutdown() returns only once serve_forever looks at its flag, once per poll interval:
    # werkzeug's default of 0.5 s made every stop cost half a second.
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": SHUTDOWN_POLL},
        name="fakeoss",
        daemon=True,
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def running_fakeoss(
    access_key_id: str = "fake-id",
    access_key_secret: str = "fake-secret",  # noqa: S107 - the fake's own throwaway key
    buckets: Iterable[str] = ("gallery",),
    *,
    create_buckets_on_demand: bool = False,
    data_dir: Path | None = None,
) -> Iterator[RunningFakeOss]:
    """Serve a fake with ``buckets`` created; other names are NoSuchBucket, as on OSS.

    In memory, unless ``data_dir`` names a folder to keep (and find) the buckets in."""
    app = make_app(
        access_key_id,
        access_key_secret,
        buckets=buckets,
        create_buckets_on_demand=create_buckets_on_demand,
        data_dir=data_dir,
    )
    with serve_wsgi(app) as server:
        yield RunningFakeOss(
            endpoint=f"http://127.0.0.1:{server.server_port}",
            access_key_id=access_key_id,
            access_key_secret=access_key_secret,
            app=app,
            _server=server,
        )
