"""stackctl's modules import downward only, with no cycles (ARCHITECTURE.md, "Layers").

Read from the source, not run: every `import` counts, lazy and type-only ones too. Each module
belongs to a layer; it may import its own layer and those below, never one above. Inside deploy,
the core (app definition, settings, release, fan-out, the target interface) knows neither
target; the two targets (`deploy/ssh/`, `deploy/swarm/`) never import each other; only the
chooser (`deploy/targets.py`) names both.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("base", ("errors", "labels", "lazyimport", "gcpause", "settings")),
    ("compose", ("compose", "tls")),
    ("engine", ("engine",)),
    ("plan", ("plan",)),
    ("images", ("images",)),
    ("stack", ("stack",)),
    ("doctor", ("doctor",)),
    ("deploy", ("deploy",)),
)
ORDER = ("base", "compose", "engine", "plan", "images", "stack", "doctor", "deploy")
TARGETS = ("stackctl.deploy.ssh", "stackctl.deploy.swarm")
CHOOSER = "stackctl.deploy.targets"


def modules(src: Path) -> dict[str, Path]:
    found = {}
    for path in (src / "stackctl").rglob("*.py"):
        parts = path.relative_to(src).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def import_graph(src: Path) -> dict[str, set[str]]:
    """module -> the stackctl modules it imports (a `from package import module` names it)."""
    known = modules(src)
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.level else [node.module or ""])
                module = module.rstrip(".")
                named = {f"{module}.{alias.name}" for alias in node.names} & set(known)
                found.update(named or {module})  # `from package import module`: the module
        graph[name] = {m for m in found if m in known and m != name and m != "stackctl"}
    return graph


def layer_of(module: str) -> str:
    if module == "stackctl":
        return "base"
    first = module.split(".")[1]
    for layer, tops in LAYERS:
        if first in tops:
            return layer
    raise AssertionError(f"{module} is in no layer: add it to LAYERS (and ARCHITECTURE.md)")


def upward(graph: Mapping[str, set[str]]) -> list[str]:
    """`a -> b` for each import of a higher layer, or across the deploy rules."""
    found = []
    for module, imported in sorted(graph.items()):
        for other in sorted(imported):
            if ORDER.index(layer_of(module)) < ORDER.index(layer_of(other)):
                found.append(f"{module} -> {other}")
                continue
            mine = next((t for t in TARGETS if module.startswith(t)), None)
            theirs = next((t for t in TARGETS if other.startswith(t)), None)
            if theirs and theirs != mine and module != CHOOSER:
                found.append(f"{module} -> {other}")
    return found


def cycles(graph: Mapping[str, set[str]]) -> list[set[str]]:
    """The import cycles, each as its modules (found one by one, each removed once found)."""
    remaining = {m: set(i) for m, i in graph.items()}
    found: list[set[str]] = []
    while True:
        try:
            tuple(TopologicalSorter(remaining).static_order())
            return found
        except CycleError as error:
            cycle = set(error.args[1])
            found.append(cycle)
            for module in cycle:
                remaining[module] -= cycle


def test_every_import_points_down_the_layers() -> None:
    assert upward(import_graph(SRC)) == []


def test_no_import_cycles() -> None:
    # extends and the host options read their keys through compose/checks.py's interface, not
    # the reader that uses them.
    assert cycles(import_graph(SRC)) == []


def test_the_rules_see_an_upward_import_and_a_cycle(tmp_path: Path) -> None:
    for folder in ("stackctl", "stackctl/engine", "stackctl/deploy", "stackctl/deploy/ssh"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "__init__.py").write_text("")
    (tmp_path / "stackctl" / "engine" / "models.py").write_text(
        "def f():\n    from stackctl.deploy.ssh import run\n"
    )
    (tmp_path / "stackctl" / "deploy" / "ssh" / "run.py").write_text(
        "from stackctl.engine import models\n"
    )
    graph = import_graph(tmp_path)
    assert upward(graph) == ["stackctl.engine.models -> stackctl.deploy.ssh.run"]
    assert cycles(graph) == [{"stackctl.engine.models", "stackctl.deploy.ssh.run"}]


def test_above_the_base_each_layer_is_a_folder() -> None:
    # A new module joins its layer's folder (ARCHITECTURE.md's module map), not the top.
    top = sorted(
        name
        for name, path in modules(SRC).items()
        if name.count(".") == 1 and path.name != "__init__.py"
    )
    assert top == sorted(f"stackctl.{name}" for name in dict(LAYERS)["base"])
