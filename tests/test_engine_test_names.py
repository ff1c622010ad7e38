"""Engine tests are marked and named one way: a test module marked `engine` as a whole
(`pytestmark`) is named `*_engine.py`, and a module so named is marked so. `nox -s tests` leaves
them out by the mark; a reader finds them by the name. Modules mixing both kinds (a few engine
tests among fast ones) mark each engine test and keep their plain name."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def marked_engine_as_a_whole(path: Path) -> bool:
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            return "pytest.mark.engine" in ast.unparse(node.value)
    return False


def test_modules_marked_engine_as_a_whole_are_named_engine() -> None:
    modules = sorted(TESTS.rglob("test_*.py"))
    assert modules
    misnamed = [
        str(path.relative_to(TESTS))
        for path in modules
        if marked_engine_as_a_whole(path) != path.stem.endswith("_engine")
    ]
    assert misnamed == [], (
        "rename to *_engine.py, or mark the module: pytestmark = [pytest.mark.engine]"
    )
