"""`nox -s bench` rewrites BENCHMARKS.md's tables and keeps the notes written below them."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from support.scripts import load_script

RUN_PY = Path(__file__).resolve().parent / "bench" / "run.py"


def load_run() -> ModuleType:
    return load_script(RUN_PY, "bench_run")


def test_the_notes_below_the_mark_are_kept_and_the_tables_above_dropped(tmp_path: Path) -> None:
    run = load_run()
    output = tmp_path / "BENCHMARKS.md"
    output.write_text(f"# Benchmarks\n\n| old table |\n\n{run.NOTES_MARK}\n\nwhy it is so\n")
    assert run.kept_notes(output) == f"\n{run.NOTES_MARK}\n\nwhy it is so\n"


def test_without_the_mark_or_a_file_nothing_is_kept(tmp_path: Path) -> None:
    run = load_run()
    output = tmp_path / "BENCHMARKS.md"
    assert run.kept_notes(output) == ""
    output.write_text("# Benchmarks\n\n| old table |\n")
    assert run.kept_notes(output) == ""


def test_benchmarks_md_carries_the_mark() -> None:
    run = load_run()
    assert run.NOTES_MARK in (RUN_PY.parents[2] / "BENCHMARKS.md").read_text()
