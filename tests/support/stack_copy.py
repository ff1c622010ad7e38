"""A throwaway copy of this project, with its own compose project name and nginx port."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from support.loopback import free_port

ROOT = Path(__file__).resolve().parents[2]
COPIED = ["compose.yaml", "tasks.py", "pyproject.toml", "README.md", ".dockerignore"]
COPIED_DIRS = ["containers", "src", "tests"]


def copy_project(target: Path) -> dict[str, str]:
    """Copy the project into `target`; return the environment that makes its stack unique."""
    for name in COPIED:
        shutil.copy2(ROOT / name, target / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in COPIED_DIRS:
        shutil.copytree(ROOT / name, target / name, ignore=ignore)
    return {
        "COMPOSE_PROJECT_NAME": f"stackctl-test-{uuid.uuid4().hex[:8]}",
        "NGINX_PORT": str(free_port()),
    }
