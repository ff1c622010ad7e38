"""The Celery worker's entry: `celery -A gallery.worker:celery worker --beat --loglevel=INFO`.

Like gallery.wsgi, it makes the Flask app at import (settings from FLASK_CONFIG, the environment
and instance/config.py), so a configuration error stops the worker with one line and exit 1.
"""

from __future__ import annotations

import sys
from typing import Any

from celery.signals import worker_ready

from gallery import ConfigError, create_app, metrics, promptstop
from gallery.tasks import SWEEP_TASK, celery_of

try:
    app = create_app()
except ConfigError as exc:
    print(f"gallery: {exc}", file=sys.stderr)
    raise SystemExit(1) from None

celery = celery_of(app)
# No request waits on the worker: its own Redis reads may be slow without being cut off (the
# short REDIS_TIMEOUT is for publishes from requests).
celery.conf.broker_transport_options = {
    **celery.conf.broker_transport_options,
    "socket_timeout": 10.0,
    "socket_connect_timeout": 5.0,
}
promptstop.install(celery)


def sweep_at_start(**kwargs: Any) -> None:
    # Beat's first sweep comes one interval after start: a Redis that came back empty (and the
    # index with it) is repaired now instead.
    celery.tasks[SWEEP_TASK].apply_async()


def serve_metrics(**kwargs: Any) -> None:
    # At worker_ready, not at import: `celery inspect` and the like import this module too.
    # The queue's depth is web's to show (one source per stack, not one per process).
    metrics.serve(app, queue_depth=False)


worker_ready.connect(sweep_at_start, weak=False)
worker_ready.connect(serve_metrics, weak=False)
