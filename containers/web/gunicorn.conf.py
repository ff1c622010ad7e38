"""gunicorn settings for the web container: `gunicorn -c /app/gunicorn.conf.py gallery.wsgi:app`.

Develop mode restarts the whole of gunicorn on a change (gallery.devreload), not its reloader.
Values come from GUNICORN_* environment variables so compose.yaml can tune them without a rebuild.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Load the app in the master first: a configuration error then stops gunicorn at once with the
# app's one-line message and a non-zero exit, instead of workers failing to boot in a loop.
preload_app = True
# One log line per request, nginx's (with its request id, which the app logs with every error):
# gunicorn's own line for the same request cost 0.14-0.16 ms of CPU per request (0.69 -> 0.53 ms
# for web on /main/, measured) plus dockerd's handling of the line. GUNICORN_ACCESSLOG=- turns
# it back on, e.g. when gunicorn is reached without nginx.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
# Each worker listens on its own SO_REUSEPORT socket, so the kernel spreads nginx's kept-alive
# upstream connections over the workers by hash. With one shared socket the worker that woke
# first took them: 15 of 16 on one worker was seen after a fresh start, capping web at one core
# (about 2,000 req/s on /main/). Measured: 6/10 and 9/7 instead, rate 1.04-1.07x, p99 45 vs 58 ms.
reuse_port = True
# Only nginx, inside the stack's network, reaches this port: trust its X-Forwarded-* headers.
forwarded_allow_ips = "*"
# Worker heartbeats on tmpfs: on overlayfs a slow fsync can get a healthy worker killed.
worker_tmp_dir = "/dev/shm"  # noqa: S108 (a tmpfs in every container, not a shared temp dir)
# nginx keeps upstream connections alive; outlive its keepalive_timeout so gunicorn is never
# the side that closes a connection nginx is about to reuse.
keepalive = 75
# docker stop sends SIGTERM and waits: finish in-flight requests quickly, well inside 2 s.
graceful_timeout = 1
# gunicorn's control socket (gunicornc) is not used; develop mode runs two gunicorns side by side
# for a moment (gallery.devreload --overlap), and they would take the one socket path in turns.
control_socket_disable = True

# prometheus_client's multiprocess mode (gallery.metrics): each worker writes its values to files
# here, and the master's metrics child adds them up when scraped on METRICS_PORT. A folder of this
# gunicorn's own (tmpfs), so values never carry over from another run, nor mix with a gunicorn
# beside it (develop mode's overlap); it must be set before the app (and prometheus_client) is
# loaded.
_own_metrics_dir = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _shm = "/dev/shm"  # noqa: S108 (a tmpfs in every container, not a shared temp dir)
    _own_metrics_dir = tempfile.mkdtemp(
        prefix="gallery-metrics-", dir=_shm if os.path.isdir(_shm) else None
    )
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _own_metrics_dir
else:
    # A folder given by the operator: last run's files would be counted again.
    for _stale in Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
        _stale.unlink()


def worker_exit(server: object, worker: object) -> None:
    """A worker that exits has finished its requests: leave without the interpreter's teardown
    (freeing every module of the app one by one took 0.5-1 s per stop on a loaded 2-core machine,
    measured: gunicorn's stop median 1.58 s with it, 0.66 s without). gunicorn calls this while
    the worker's SystemExit is in flight: its code (3 for a worker that failed to boot, which
    stops gunicorn) is kept."""
    leaving = sys.exc_info()[1]
    _leave_now(leaving.code if isinstance(leaving, SystemExit) else 1)


def when_ready(server: object) -> None:
    """The metrics of every worker (the gallery app's, when it runs it), served by a child of the
    master forked now, before the workers: the master itself runs no thread (metrics.py).

    Develop mode (gallery.devreload --overlap): this gunicorn has its app and listens, beside
    the one it replaces; say so, and devreload stops the old one."""
    app = server.app.wsgi()  # type: ignore[attr-defined]  # loaded already: preload_app
    if "gallery.metrics" in getattr(app, "extensions", {}):
        from gallery import metrics

        # From a process of its own, not a thread: the master forks its workers (metrics.py).
        metrics.serve_in_child(app, queue_depth=True)
    parent = os.environ.get("DEVRELOAD_NOTIFY_PID")
    if parent:
        import signal

        os.kill(int(parent), signal.SIGUSR1)


def child_exit(server: object, worker: object) -> None:
    """A worker is gone: its live gauges no longer count (prometheus_client's multiprocess
    mode; its counters and histograms are kept, or totals would go down)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]


def on_exit(server: object) -> None:
    """The master leaves without the interpreter's teardown too: it holds the preloaded app, and
    freeing it took 0.17 of the 0.37 s from SIGTERM to exit (measured, quiet machine). gunicorn
    calls this from the handler of what stopped the master: a stop signal's StopIteration or
    KeyboardInterrupt (exit 0) or a HaltServer carrying the exit status (3 when a worker could
    not boot), which is kept."""
    if _own_metrics_dir:
        import shutil

        shutil.rmtree(_own_metrics_dir, ignore_errors=True)
    _leave_now(getattr(sys.exc_info()[1], "exit_status", 0))


def _leave_now(code: object) -> None:
    """Exit with `code` (1 if it is not a number) once the log lines are out, skipping the
    interpreter's teardown. (Not a gunicorn setting: gunicorn reads only names it knows.)"""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 1)
