"""The WSGI entry for gunicorn: `gunicorn gallery.wsgi:app`.

A configuration error stops the process here with its one-line message and exit code 1, so an
operator reads "SECRET_KEY is not set ..." rather than a traceback.
"""

from __future__ import annotations

import sys

from gallery import ConfigError, create_app

try:
    app = create_app()
except ConfigError as exc:
    print(f"gallery: {exc}", file=sys.stderr)
    raise SystemExit(1) from None
