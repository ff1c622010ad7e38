"""The YAML loader under compose.yaml: go-yaml v3's scalars, speed, and hostile files refused in
one line each (the files are made here, at test time: nothing large is committed)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from stackctl.compose import load_project, yamlfile
from stackctl.compose.yamlfile import (
    MAX_ALIAS_VALUES,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    load_yaml,
    resolve_plain,
    without_extensions,
)
from stackctl.errors import ComposeError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1e3", 1000.0),
        ("1_000", 1000),
        ("010", 8),
        ("08", 8.0),
        ("0x1F", 31),
        ("0o17", 15),
        ("0b101", 5),
        ("+12", 12),
        ("-0", 0),
        (".5", 0.5),
        ("12345678901234567890", 12345678901234567890),
        ("1e400", "1e400"),
        ("8080:80", "8080:80"),
        ("1.2.3", "1.2.3"),
        ("yes", "yes"),
        ("on", "on"),
        ("True", True),
        ("FALSE", False),
        ("Null", None),
        ("-", "-"),
        ("2024-01-01", "2024-01-01"),
    ],
)
def test_plain_scalars_resolve_as_go_yaml_v3(text: str, value: object) -> None:
    resolved = resolve_plain(text)

    assert resolved == value
    assert type(resolved) is type(value)


def test_quoted_and_str_tagged_scalars_stay_strings() -> None:
    text = "a: '010'\nb: \"1e3\"\nc: !!str 1_000\nd: |\n  5\n"

    assert load_yaml(text, "compose.yaml") == {"a": "010", "b": "1e3", "c": "1_000", "d": "5\n"}


def test_anchors_aliases_and_merge_keys() -> None:
    text = (
        "x-base: &base {image: app, environment: {A: '1'}}\n"
        "x-more: &more {image: other, restart: always}\n"
        "services:\n"
        "  web: {<<: [*base, *more], command: run}\n"
        "  worker: {<<: *base, image: mine}\n"
    )

    document = load_yaml(text, "compose.yaml")

    assert isinstance(document, dict)
    assert document["services"] == {
        "web": {"image": "app", "environment": {"A": "1"}, "restart": "always", "command": "run"},
        "worker": {"image": "mine", "environment": {"A": "1"}},
    }


def test_extension_keys_are_dropped_at_the_top_and_in_services() -> None:
    document = {
        "x-top": {"a": 1},
        "services": {"web": {"image": "app", "x-note": [1, 2]}, "db": None},
        "volumes": {"x-kept": {}},
    }

    assert without_extensions(document) == {
        "services": {"web": {"image": "app"}, "db": None},
        "volumes": {"x-kept": {}},
    }


def test_numeric_keys_are_their_go_text() -> None:
    assert load_yaml("80: a\n1e3: b\ntrue: c\n", "compose.yaml") == {
        "80": "a",
        "1000": "b",
        "true": "c",
    }


def _big_compose(size: int) -> str:
    lines = ["services:"]
    length = 0
    i = 0
    while length < size:
        block = [
            f"  svc{i}:",
            f"    image: example/app{i}:1.{i}",
            '    command: ["python", "-m", "app", "--port", "8000"]',
            "    environment:",
            *[f'      VAR_{j}: "value {i} {j} with some text"' for j in range(10)],
            "    ports:",
            f'      - "127.0.0.1:{10000 + i % 50000}:80"',
            "    labels:",
            *[f"      com.example.l{j}: x{j}" for j in range(5)],
            "    healthcheck:",
            '      test: ["CMD", "curl", "-f", "http://localhost"]',
            "      interval: 10s",
            "    depends_on: [db]",
        ]
        length += sum(len(line) + 1 for line in block)
        lines += block
        i += 1
    return "\n".join(lines) + "\n"


def test_a_large_file_loads_every_service() -> None:
    # How fast (a 5.8 MB file against PyYAML's CSafeLoader) is a benchmark's question:
    # tests/bench/bench_compose_load.py.
    text = _big_compose(600_000)

    document = load_yaml(text, "compose.yaml")

    assert isinstance(document, dict)
    assert len(document["services"]) == text.count("\n  svc")


def _bomb(levels: int, indent: str = "") -> str:
    """`levels` anchors, each a list of ten aliases of the one before: 10**levels values."""
    lines = [f"{indent}a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        aliases = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"{indent}a{i}: &a{i} [{aliases}]")
    return "\n".join(lines) + "\n"


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


HOSTILE: dict[str, tuple[Callable[[], str | bytes], str]] = {
    "alias-bomb-10^10": (
        lambda: "services:\n  web:\n    image: app\nx-lol:\n" + _bomb(10, "  "),
        r"^compose\.yaml: line \d+, column \d+: aliases expand to over 1,000,000 values",
    ),
    "alias-bomb-under-a-service-x-key": (
        lambda: "services:\n  web:\n    image: app\n    x-lol:\n" + _bomb(10, "      "),
        r"^compose\.yaml: line \d+, column \d+: aliases expand to over 1,000,000 values",
    ),
    "flow-nesting-1000-deep": (
        lambda: "services: " + "[" * 1000 + "]" * 1000 + "\n",
        r"^compose\.yaml: line 1, column \d+: .*(nesting|nested)",
    ),
    "block-nesting-1000-deep": (
        lambda: "services:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(1000)),
        rf"^compose\.yaml: line {MAX_DEPTH + 1}, column \d+: nested more than {MAX_DEPTH} levels",
    ),
    "sequence-nesting-1000-deep": (
        lambda: "services:\n  " + "- " * 1000 + "x\n",
        rf"^compose\.yaml: line 2, column \d+: nested more than {MAX_DEPTH} levels",
    ),
    "nesting-through-aliases": (
        lambda: (
            "x-a: &a "
            + "[" * 150
            + "]" * 150
            + "\nx-b: &b "
            + "[" * 100
            + "*a"
            + "]" * 100
            + "\nservices: {}\n"
        ),
        rf"^compose\.yaml: line 2, column \d+: alias \*a nests the document more than {MAX_DEPTH}",
    ),
    "50-mb-file": (
        lambda: "services: {}\nx-big: " + "x" * 50_000_000 + "\n",
        r"^compose\.yaml: too large: over 10 MB",
    ),
    "binary": (
        lambda: bytes(range(256)) * 64,
        r"^compose\.yaml: line 1, column 1: binary data \(a NUL byte\)",
    ),
    "latin-1": (
        lambda: b"services:\n  web:\n    image: caf\xe9\n",
        r"^compose\.yaml: line 3, column 15: not UTF-8 text \(byte 0xe9\)",
    ),
    "duplicate-keys": (
        lambda: "services:\n  web:\n    image: a\n    image: b\n",
        r'^compose\.yaml: line 4, column 5: invalid YAML: duplicate key "image"$',
    ),
    "self-referencing-anchor": (
        lambda: "services: &s [*s]\n",
        r"^compose\.yaml: line 1, column 15: invalid YAML: unknown alias \*s",
    ),
    "two-documents": (
        lambda: "services: {}\n---\nservices: {}\n",
        r"^compose\.yaml: line 2, column 1: a second YAML document",
    ),
    "mapping-as-key": (
        lambda: "? [a, b]\n: c\n",
        r"^compose\.yaml: line 1, column 3: a mapping key must be a string",
    ),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_file_is_one_line(tmp_path: Path, name: str) -> None:
    make, message = HOSTILE[name]
    compose = _write(tmp_path / "compose.yaml", make())

    with pytest.raises(ComposeError, match=message) as caught:
        load_project(compose, {})

    # Bounded by the limits the message names (how fast: tests/bench/bench_compose_load.py).
    assert "\n" not in str(caught.value)


def test_aliases_below_the_limit_are_fine() -> None:
    # 10**5 values through aliases: well under the limit.
    document = load_yaml("x-lol:\n" + _bomb(5, "  "), "compose.yaml")

    assert isinstance(document, dict)
    assert MAX_ALIAS_VALUES > 10**5


def test_the_size_limit_is_checked_on_text_too() -> None:
    with pytest.raises(ComposeError, match="too large"):
        load_yaml("a: " + "x" * MAX_FILE_BYTES, "compose.yaml")


def test_extension_keys_are_never_interpolated(tmp_path: Path) -> None:
    """Nothing walks an `x-` key: a required variable there is not required."""
    compose = _write(
        tmp_path / "compose.yaml",
        "x-top: ${MISSING:?top}\n"
        "services:\n"
        "  web:\n"
        "    image: app\n"
        "    x-note: ${MISSING:?service}\n",
    )

    project = load_project(compose, {})

    assert list(project.services) == ["web"]


@pytest.mark.parametrize(
    "name", ["alias-bomb-10^10", "duplicate-keys", "sequence-nesting-1000-deep"]
)
def test_without_libyaml_the_same_refusals(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> None:
    monkeypatch.setattr(yamlfile, "EventParser", yamlfile.PurePythonParser)
    make, message = HOSTILE[name]

    with pytest.raises(ComposeError, match=message):
        load_project(_write(tmp_path / "compose.yaml", make()), {})


def test_without_libyaml_the_same_document(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "x-a: &a {A: 1e3}\nservices:\n  web: {image: app, environment: *a, ports: [8080:80]}\n"
    expected = load_yaml(text, "compose.yaml")
    monkeypatch.setattr(yamlfile, "EventParser", yamlfile.PurePythonParser)

    assert load_yaml(text, "compose.yaml") == expected


@pytest.mark.parametrize("name", ["alias-bomb-10^10", "block-nesting-1000-deep"])
def test_invoke_config_answers_a_hostile_file_in_one_line(tmp_path: Path, name: str) -> None:
    """What the user sees: one line and exit 1, where a traceback came (MemoryError after
    minutes for the bomb, RecursionError for the nesting)."""
    shutil.copy2(ROOT / "tasks.py", tmp_path / "tasks.py")
    make, message = HOSTILE[name]
    _write(tmp_path / "compose.yaml", make())

    result = subprocess.run(
        [sys.executable, "-m", "invoke", "config"],
        cwd=tmp_path,
        env={**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert re.match(message.replace("^", "^error: "), lines[0]), lines[0]
