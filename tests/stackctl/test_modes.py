"""Develop and production modes come from one compose.yaml; develop merges an override file."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackctl.compose.merge import merge
from stackctl.errors import ComposeError
from stackctl.stack.workspace import load_workspace

ROOT = Path(__file__).resolve().parents[2]


def test_develop_mode_mounts_src_into_web_and_worker() -> None:
    project = load_workspace(ROOT, environ={}, mode="develop").project
    for name in ("web", "worker"):
        spec = project.services[name]
        assert [(m.type, m.source, m.target, m.read_only) for m in spec.volumes] == [
            ("bind", str(ROOT / "src"), "/app/src", True)
        ]
        assert spec.environment["PYTHONPATH"] == "/app/src"
    for name in ("web", "worker"):
        command = project.services[name].command
        assert command is not None
        assert command[:4] == ["python", "-m", "gallery.devreload", "--watch=/app/src"]


def test_develop_mode_keeps_the_base_settings() -> None:
    develop = load_workspace(ROOT, environ={}, mode="develop").project.services["web"]
    production = load_workspace(ROOT, environ={}, mode="production").project.services["web"]
    assert develop.environment.items() >= production.environment.items()
    assert develop.healthcheck == production.healthcheck


def test_production_mode_mounts_nothing() -> None:
    project = load_workspace(ROOT, environ={}, mode="production").project
    # No code or host folder: only named volumes (redis's data).
    assert all(m.type == "volume" for spec in project.services.values() for m in spec.volumes)
    assert all(
        spec.command is None or "gallery.devreload" not in spec.command
        for spec in project.services.values()
    )


def test_unknown_mode_names_the_setting() -> None:
    with pytest.raises(Exception, match=r"STACK_MODE='staging' is invalid"):
        load_workspace(ROOT, environ={}, mode="staging")


def test_bad_key_in_the_override_names_both_files(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: x\n")
    (tmp_path / "containers").mkdir()
    (tmp_path / "containers" / "compose.develop.yaml").write_text(
        "services:\n  web:\n    bulid: .\n"
    )
    with pytest.raises(
        ComposeError, match=r"^compose.yaml \+ containers/compose.develop.yaml: services.web.bulid"
    ):
        load_workspace(tmp_path, environ={}, mode="develop")


def test_override_that_is_not_a_mapping_is_named(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: x\n")
    (tmp_path / "containers").mkdir()
    (tmp_path / "containers" / "compose.develop.yaml").write_text("- web\n")
    with pytest.raises(ComposeError, match=r"^containers/compose.develop.yaml: expected a mapping"):
        load_workspace(tmp_path, environ={}, mode="develop")


@pytest.mark.parametrize(
    ("base", "override", "merged"),
    [
        ({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}}, {"a": {"b": 1, "c": 3}}),
        ({"command": ["x", "y"]}, {"command": ["z"]}, {"command": ["z"]}),
        ({"ports": ["80:80"]}, {"ports": ["81:81"]}, {"ports": ["80:80", "81:81"]}),
        (
            {"volumes": ["./a:/app:ro", "data:/data"]},
            {"volumes": ["./b:/app"]},
            {"volumes": ["data:/data", "./b:/app"]},
        ),
    ],
    ids=["mappings-merge", "command-replaced", "ports-add-up", "volumes-by-target"],
)
def test_merge_follows_compose(
    base: dict[str, object], override: dict[str, object], merged: dict[str, object]
) -> None:
    assert merge(base, override) == merged
