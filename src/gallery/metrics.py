"""The app's numbers in Prometheus' text format: requests, latency, uploads, thumbnail jobs, the
queue, and Redis and OSS failures.

Each app has its own `Metrics` (and registry), so tests never see another app's counts. Under
gunicorn (containers/web/gunicorn.conf.py) prometheus_client's multiprocess mode is on: every
worker writes its values to files in PROMETHEUS_MULTIPROC_DIR and the master, which serves no
request, adds them up when scraped. Metrics are served on their own port (METRICS_PORT), never
on the app's, so the public proxy has no path to them.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import oss2
import redis
import requests
from flask import Flask, request
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

EXTENSION_KEY = "gallery.metrics"
# A request no route matched (404, 405): its raw path would let any client add series.
UNMATCHED_ROUTE = "<unmatched>"
ROUTE_KEY = "gallery.route"
# The methods the app answers; anything else a client sends is counted as "other".
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
# Seconds. A page answers in milliseconds; an upload decodes and writes to OSS (up to seconds).
LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)
# From an upload to its thumbnails: a queue that keeps up takes seconds, a backlog minutes.
THUMBNAIL_READY_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
THUMBNAIL_JOB_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# What a thumbnail job's run returned (gallery.tasks) -> the state it is counted as.
JOB_RESULTS = {"made": "done", "failed": "failed", "gone": "skipped", "already done": "skipped"}
JOB_STATES = ("queued", "delayed", "done", "failed", "skipped", "error")
DEPENDENCIES = ("redis", "oss")
FAILURE_KINDS = ("timeout", "error")
log = logging.getLogger(__name__)


class Metrics:
    """The app's metrics, registered in `registry` (the app's own)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Counter(
            "gallery_http_requests",
            "Requests answered, by route (the URL rule, not the path), method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "gallery_http_request_duration_seconds",
            "Time from a request's arrival at the app to its response headers, by route.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.uploads = Counter(
            "gallery_uploads",
            "Uploads: stored, refused (not an image, damaged, ...) or failed (OSS down, ...).",
            ["result"],
            registry=registry,
        )
        self.upload_bytes = Counter(
            "gallery_upload_bytes",
            "Bytes of stored originals (after the metadata was removed).",
            registry=registry,
        )
        self.thumbnail_jobs = Counter(
            "gallery_thumbnail_jobs",
            "Thumbnail jobs: queued or delayed (Redis could not take it) by the web app; "
            "done, failed, skipped (gone or already done) or error (retried) by the worker.",
            ["state"],
            registry=registry,
        )
        self.thumbnail_job_seconds = Histogram(
            "gallery_thumbnail_job_duration_seconds",
            "Time the worker spent on one thumbnail job.",
            buckets=THUMBNAIL_JOB_BUCKETS,
            registry=registry,
        )
        self.thumbnail_ready_seconds = Histogram(
            "gallery_thumbnail_ready_seconds",
            "Time from an upload to its thumbnails stored (across hosts: as their clocks agree).",
            buckets=THUMBNAIL_READY_BUCKETS,
            registry=registry,
        )
        self.dependency_errors = Counter(
            "gallery_dependency_errors",
            "Failed calls to Redis or OSS: timeouts, and other errors (refused connections, "
            "OSS 5xx answers).",
            ["dependency", "kind"],
            registry=registry,
        )
        # The series of each (route, method, status) seen: as bounded as the labels are.
        self._request_children: dict[tuple[str, str, str], tuple[Any, Any]] = {}
        # Every known series from the start: a rate over a series that appears only with its
        # first event misses that event.
        for state in JOB_STATES:
            self.thumbnail_jobs.labels(state)
        for result in ("stored", "refused", "failed"):
            self.uploads.labels(result)
        for dependency in DEPENDENCIES:
            for kind in FAILURE_KINDS:
                self.dependency_errors.labels(dependency, kind)

    def observe_request(self, route: str, method: str, status: str, seconds: float) -> None:
        key = (route, method if method in KNOWN_METHODS else "other", status)
        children = self._request_children.get(key)
        if children is None:
            # `.labels()` validates and locks on every call (a third of what counting a request
            # cost, measured): each route, method and status combination asks it once.
            children = (self.requests.labels(*key), self.latency.labels(*key[:2]))
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def dependency_failed(self, dependency: str, exc: BaseException) -> None:
        self.dependency_errors.labels(dependency, failure_kind(exc)).inc()

    def thumbnail_job_ran(self, result: str, seconds: float, uploaded_at: float | None) -> None:
        """One run of a job: what it returned, how long it took, when its image was uploaded
        (Unix time; None if unknown)."""
        state = JOB_RESULTS.get(result, "error")
        self.thumbnail_jobs.labels(state).inc()
        self.thumbnail_job_seconds.observe(seconds)
        if state == "done" and uploaded_at is not None:
            self.thumbnail_ready_seconds.observe(max(time.time() - uploaded_at, 0.0))


def failure_kind(exc: BaseException) -> str:
    """The kind of a failed call: "timeout" when it ran out of time, else "error"."""
    if isinstance(exc, oss2.exceptions.RequestError):
        exc = getattr(exc, "exception", exc)
    if isinstance(exc, (redis.TimeoutError, requests.Timeout, TimeoutError)):
        return "timeout"
    return "error"


class RequestMetrics:
    """WSGI middleware: counts and times every request the app answers.

    The route is left in the environ by a teardown hook (`note_route`): Flask runs every one of
    them for every request, where a before_request hook of another part could skip ours. The
    time is to the response headers: a streamed body is not waited for.
    """

    def __init__(self, app: WSGIApplication, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        status = "500"

        def recording_start_response(status_line: str, headers: Any, exc_info: Any = None) -> Any:
            nonlocal status
            status = status_line[:3]
            return start_response(status_line, headers, exc_info)

        try:
            return self.app(environ, recording_start_response)
        finally:
            self.metrics.observe_request(
                environ.get(ROUTE_KEY, UNMATCHED_ROUTE),
                environ.get("REQUEST_METHOD", ""),
                status,
                time.perf_counter() - started,
            )


def note_route(exc: BaseException | None) -> None:
    rule = request.url_rule
    if rule is not None:
        request.environ[ROUTE_KEY] = rule.rule


# Errors that are redis-py's protocol, not a failure: a script's first EVALSHA on a server that
# has not seen it (redis-py loads it and calls again), an optimistic transaction's retry.
NOT_FAILURES = (redis.exceptions.NoScriptError, redis.exceptions.WatchError)


def report_failure(on_failure: Callable[[BaseException], None], exc: redis.RedisError) -> None:
    if not isinstance(exc, NOT_FAILURES):
        on_failure(exc)


class CountingPipeline(redis.client.Pipeline):
    on_failure: Callable[[BaseException], None]

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        try:
            return super().execute(raise_on_error)
        except redis.RedisError as exc:
            report_failure(self.on_failure, exc)
            raise


class CountingRedis(redis.Redis):
    """A Redis client that reports each failed command (and pipeline) to `on_failure`."""

    on_failure: Callable[[BaseException], None] = staticmethod(lambda exc: None)

    def execute_command(self, *args: Any, **options: Any) -> Any:
        try:
            return super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        except redis.RedisError as exc:
            report_failure(self.on_failure, exc)
            raise

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> CountingPipeline:
        pipe = CountingPipeline(
            self.connection_pool, self.response_callbacks, transaction, shard_hint
        )
        pipe.on_failure = self.on_failure
        return pipe


class CountingOssSession(oss2.http.Session):  # type: ignore[misc]
    """oss2's HTTP session, reporting requests that got no answer or a 5xx to `on_failure`."""

    def __init__(self, on_failure: Callable[[BaseException], None]) -> None:
        super().__init__()
        self.on_failure = on_failure

    def do_request(self, req: Any, timeout: Any) -> Any:
        try:
            response = super().do_request(req, timeout)
        except oss2.exceptions.RequestError as exc:
            self.on_failure(exc)
            raise
        if response.status >= 500:
            self.on_failure(oss2.exceptions.ServerError(response.status, {}, "", {}))
        return response


class QueueDepth(Collector):
    """The thumbnail queue's length in Redis, read when scraped (absent while Redis fails)."""

    def __init__(self, client: redis.Redis, queue: str) -> None:
        self.client = client
        self.queue = queue

    def describe(self) -> Iterator[Metric]:
        # Registering asks for the names; without this it would call Redis to learn them.
        yield self._family()

    def _family(self) -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "gallery_thumbnail_queue_depth",
            "Thumbnail jobs waiting in Redis for a worker.",
            labels=["queue"],
        )

    def collect(self) -> Iterator[Metric]:
        try:
            depth = int(self.client.llen(self.queue))
        except redis.RedisError as exc:
            log.warning("metrics: queue depth unknown: %s", type(exc).__name__)
            return
        family = self._family()
        family.add_metric([self.queue], depth)
        yield family


def init_app(app: Flask, *, enabled: bool = True) -> Metrics:
    """The app's metrics; `enabled` False leaves requests uncounted and nothing served (the
    few counts of uploads, jobs and failures still land in the app's registry, unread)."""
    metrics = Metrics(CollectorRegistry(auto_describe=True))
    app.extensions[EXTENSION_KEY] = metrics
    if enabled:
        app.wsgi_app = RequestMetrics(app.wsgi_app, metrics)  # type: ignore[method-assign]
        app.teardown_request(note_route)
    return metrics


def metrics_of(app: Flask) -> Metrics:
    found: Metrics = app.extensions[EXTENSION_KEY]
    return found


def exposition_registry(app: Flask, *, queue_depth: bool) -> CollectorRegistry:
    """What a scrape of this process shows: every process's values in multiprocess mode (the
    metrics child of gunicorn's master adds up the workers'), else this app's own; and the
    queue's depth."""
    from gallery.clients import clients

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = metrics_of(app).registry
    if queue_depth:
        found = clients(app)
        registry.register(QueueDepth(found.redis, found.settings.CELERY_QUEUE))
    return registry


def serve(app: Flask, *, queue_depth: bool) -> threading.Thread | None:
    """Serve this process's metrics on METRICS_PORT (0: not at all), from a daemon thread.

    A port still held is tried again every second: in develop mode a new gunicorn starts beside
    the old one (gallery.devreload), which holds the port until it stops.
    """
    settings = app.config["SETTINGS"]
    port = settings.METRICS_PORT
    if not port or not settings.METRICS_ENABLED:
        return None
    registry = exposition_registry(app, queue_depth=queue_depth)

    def bind() -> None:
        warned = False
        while True:
            try:
                start_http_server(port, addr="0.0.0.0", registry=registry)
            except OSError as exc:
                if not warned:
                    log.warning("metrics: port %d busy (%s), trying every second", port, exc)
                    warned = True
                time.sleep(1)
            else:
                log.info("metrics on port %d", port)
                return

    thread = threading.Thread(target=bind, name="metrics-bind", daemon=True)
    thread.start()
    return thread


# The metrics process's name (what `ps -o comm` and /proc/PID/comm show): at most 15 bytes.
CHILD_NAME = b"gallery-metrics"
# Signals the gunicorn master handles, which its metrics child must not handle the master's way.
_MASTER_SIGNALS = (
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGTERM",
    "SIGTTIN",
    "SIGTTOU",
    "SIGUSR1",
    "SIGUSR2",
    "SIGWINCH",
    "SIGCHLD",
)


def serve_in_child(app: Flask, *, queue_depth: bool) -> int | None:
    """Serve the metrics from a child process forked now, which leaves when its parent does; its
    pid (None when metrics are off).

    For gunicorn's master, which forks its workers (at start, and each time one is replaced): a
    thread running in a process at a fork can hold a lock (an import's, a stream's, a pool's) that
    the child inherits held for ever. A worker so forked kept accepting connections in its main
    loop while its request threads waited on that lock: connections the kernel answered and the
    app never did (seen on the Swarm deploy's tests: every request to one web task hung until the
    client gave up, the data unread in its sockets). So the master runs no thread of its own.
    """
    settings = app.config["SETTINGS"]
    if not settings.METRICS_PORT or not settings.METRICS_ENABLED:
        return None
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    status = 0
    try:
        _become_child()
        serve(app, queue_depth=queue_depth)
        while os.getppid() == parent:
            time.sleep(1)
    except BaseException:  # a child of a fork must never return into the master's code
        log.exception("metrics: the metrics process failed")
        status = 1
    finally:
        os._exit(status)


def _become_child() -> None:
    """Default signal handling (the master's handlers write to its wake-up pipe) and a name of
    its own, so `ps` and gunicorn's worker count tell it from the workers."""
    signal.set_wakeup_fd(-1)
    for name in _MASTER_SIGNALS:
        signal.signal(getattr(signal, name), signal.SIG_DFL)
    try:
        import ctypes

        ctypes.CDLL(None).prctl(15, CHILD_NAME, 0, 0, 0)  # PR_SET_NAME (Linux)
    except (OSError, AttributeError):
        pass  # only the name: not on Linux, `ps` shows the master's
