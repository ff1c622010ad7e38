"""The Engine API's answers are read in stackctl's engine layer and nowhere else (ARCHITECTURE.md).

Read from the source, not run: outside `src/stackctl/engine/`, no module indexes a dict by one of
the engine's keys (`x["State"]`, `x.get("Health")`, `"Running" in x`: the Engine API's keys are
CamelCase, `ID` aside), and none reads a docker-py model's raw `.attrs`. The rest of stackctl
speaks of `Container.running`, `Task.state`, `Service.update`: a key the engine renames is fixed
in one file.
"""

from __future__ import annotations

import ast
from pathlib import Path

STACKCTL = Path(__file__).resolve().parents[1] / "src" / "stackctl"
ENGINE_LAYER = "engine"


def engine_key(node: ast.AST) -> str | None:
    """The string when `node` is a literal shaped like an Engine API key (`State`, `ExitCode`,
    `ID`), else None. Settings and environment names (`COMPOSE_PROJECT_NAME`) are all capitals
    with underscores: not engine keys."""
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        return None
    text = node.value
    if text[:1].isupper() and text.isalnum() and (text == "ID" or not text.isupper()):
        return text
    return None


def engine_reads(source: str) -> list[tuple[int, str]]:
    """(line, what) for each read of an engine dict in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        key = None
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            key = engine_key(node.slice)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("get", "setdefault", "pop")
            and node.args
        ):
            key = engine_key(node.args[0])
        elif isinstance(node, ast.Compare) and any(
            isinstance(op, (ast.In, ast.NotIn)) for op in node.ops
        ):
            key = engine_key(node.left)
        elif isinstance(node, ast.Attribute) and node.attr == "attrs":
            key = ".attrs"
        if key is not None:
            found.append((node.lineno, key))
    return sorted(found)


def reads_outside_the_engine_layer(root: Path) -> list[str]:
    """`module:line key` for each engine-dict read in stackctl outside its engine layer."""
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] == ENGINE_LAYER:
            continue
        for line, key in engine_reads(path.read_text(encoding="utf-8")):
            found.append(f"{relative.as_posix()}:{line} {key}")
    return found


def test_no_module_outside_the_engine_layer_reads_an_engine_dict() -> None:
    assert reads_outside_the_engine_layer(STACKCTL) == []


def test_the_rule_sees_each_way_of_reading_a_key(tmp_path: Path) -> None:
    (tmp_path / "engine").mkdir()
    (tmp_path / "engine" / "models.py").write_text("running = attrs['State']['Running']\n")
    (tmp_path / "deploy.py").write_text(
        "state = found['State']\n"
        "health = state.get('Health')\n"
        "if 'Running' in state: pass\n"
        "node = service.attrs\n"
        "identity = node['ID']\n"
    )
    assert reads_outside_the_engine_layer(tmp_path) == [
        "deploy.py:1 State",
        "deploy.py:2 Health",
        "deploy.py:3 Running",
        "deploy.py:4 .attrs",
        "deploy.py:5 ID",
    ]


def test_building_a_request_and_reading_settings_are_not_engine_reads() -> None:
    source = (
        "body['Labels'] = labels\n"  # writing the body of a request
        "spec = {'Name': name}\n"
        "home = os.environ.get('HOME')\n"
        "name = os.environ['COMPOSE_PROJECT_NAME']\n"
        "ok = found['status']\n"  # compose's own keys are lower case
    )
    assert engine_reads(source) == []
