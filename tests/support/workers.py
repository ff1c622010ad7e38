"""A Celery worker process a test started (tests/conftest.py's `celery_worker_process`)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CeleryWorker:
    process: subprocess.Popen[bytes]
    log_path: Path
