"""The three products never import each other (ARCHITECTURE.md): read from the source, not run.

Every `import` and `from ... import` in src/ counts, including those inside functions and under
TYPE_CHECKING: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PRODUCTS = ("gallery", "fakeoss", "stackctl")


def imported_products(path: Path, package: str) -> set[str]:
    """The top-level packages among PRODUCTS that `path` (a module of `package`) imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.add(package if node.level else (node.module or "").split(".")[0])
    return found & set(PRODUCTS)


def crossings(src: Path) -> list[str]:
    """`module -> product` for each import from one product into another."""
    found = []
    for package in PRODUCTS:
        for path in sorted((src / package).rglob("*.py")):
            for other in sorted(imported_products(path, package) - {package}):
                found.append(f"{path.relative_to(src)} -> {other}")
    return found


def test_no_product_imports_another() -> None:
    assert crossings(SRC) == []


def test_the_rule_sees_lazy_and_type_only_imports(tmp_path: Path) -> None:
    for package in PRODUCTS:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("from . import sibling\n")
    (tmp_path / "stackctl" / "doctor.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import fakeoss.server\n"
        "def check():\n    from gallery import settings\n"
    )
    (tmp_path / "gallery" / "app.py").write_text("import stackctl\n")
    assert crossings(tmp_path) == [
        "gallery/app.py -> stackctl",
        "stackctl/doctor.py -> fakeoss",
        "stackctl/doctor.py -> gallery",
    ]


APP_WORDS = ("gallery", "FLASK_CONFIG", "tests/")


def app_knowledge(src: Path) -> list[str]:
    """`module:line word` for each line of stackctl naming the app, its settings or its tests."""
    found = []
    for path in sorted((src / "stackctl").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            # stackctl's own rule may name its own test.
            line = line.replace("tests/test_engine_layer.py", "")
            found += [f"{path.relative_to(src)}:{number} {w}" for w in APP_WORDS if w in line]
    return found


def test_stackctl_names_no_app_setting_or_test_path() -> None:
    # What the app needs comes from compose.yaml (x-deploy.env, x-deploy.secrets, x-test).
    assert app_knowledge(SRC) == []


def test_tests_share_helpers_through_tests_support_only() -> None:
    """No sys.path.insert in a test, no `from conftest import`, no test module importing
    another: shared helpers live in tests/support (on pytest's pythonpath)."""
    tests = SRC.parent / "tests"
    found = []
    for path in sorted(tests.rglob("*.py")):
        if "bench" in path.parts:  # benchmarks run as scripts: they put tests/ on the path
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            elif (
                isinstance(node, ast.Attribute)
                and node.attr == "insert"
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "path"
            ):
                names = ["sys.path.insert"]
            for name in names:
                first = name.split(".")[0]
                if first == "conftest" or first.startswith("test_") or name == "sys.path.insert":
                    found.append(f"{path.relative_to(tests)}:{node.lineno} {name}")
    assert found == []
