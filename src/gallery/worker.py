"""The Celery worker's entry: `celery -A gallery.worker:celery worker --loglevel=INFO`.

Like gallery.wsgi, it makes the Flask app at import (settings from FLASK_CONFIG, the environment
and instance/config.py), so a configuration error stops the worker with one line and exit 1.
"""

from __future__ import annotations

import sys

from gallery import ConfigError, create_app
from gallery.tasks import celery_of

try:
    app = create_app()
except ConfigError as exc:
    print(f"gallery: {exc}", file=sys.stderr)
    raise SystemExit(1) from None

celery = celery_of(app)
