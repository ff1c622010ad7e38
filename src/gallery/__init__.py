"""gallery: the Flask app. `create_app` is the factory Flask's CLI and gunicorn use.

Importing the package is cheap: Flask, Celery and oss2 load only when the factory is asked for,
so small entries such as `python -m gallery.devreload` start without them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gallery.factory import create_app
    from gallery.settings import ConfigError, Settings

__all__ = ["ConfigError", "Settings", "create_app"]

_LAZY = {
    "create_app": "gallery.factory",
    "ConfigError": "gallery.settings",
    "Settings": "gallery.settings",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gallery' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
