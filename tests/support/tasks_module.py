"""tasks.py loaded as `invoke` loads it, for the tests of the tasks themselves."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from support.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]


def load_tasks() -> ModuleType:
    """tasks.py as `invoke` loads it: from the project folder, which is not a package."""
    return load_script(ROOT / "tasks.py", "tasks")
