"""bench_metrics.py's "off" side: a copy of the project whose app runs with METRICS_ENABLED
false, changed only in its compose.yaml, which stays a valid stack."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import ModuleType

from stackctl.stack.workspace import load_workspace
from support.scripts import load_script

ROOT = Path(__file__).resolve().parents[1]


def load_bench() -> ModuleType:
    return load_script(ROOT / "tests" / "bench" / "bench_metrics.py", "bench_metrics")


def test_the_off_side_turns_metrics_off_in_web_and_the_worker(tmp_path: Path) -> None:
    shutil.copy2(ROOT / "compose.yaml", tmp_path / "compose.yaml")
    shutil.copytree(ROOT / "containers", tmp_path / "containers")
    load_bench().without_metrics(tmp_path)
    project = load_workspace(tmp_path, environ={}, mode="production").project
    for service in ("web", "worker"):
        assert project.services[service].environment["METRICS_ENABLED"] == "false"
