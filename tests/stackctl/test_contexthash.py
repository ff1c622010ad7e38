"""Build fingerprints: what a Dockerfile copies decides when its image must be built again."""

from __future__ import annotations

from pathlib import Path

import pytest
from docker.utils.build import exclude_paths

from stackctl.images.contexthash import SentPaths, files_digest
from stackctl.images.dockerfile import copied_sources


def test_copied_sources_are_the_context_paths_of_copy_and_add() -> None:
    dockerfile = (
        "FROM base AS build\n"
        "COPY --chown=app pyproject.toml ./\n"
        "COPY src ./src\n"
        "ADD containers/x/a.conf \\\n    containers/x/b.conf /etc/\n"
        "FROM base\n"
        "COPY --from=build /opt/venv /opt/venv\n"
    )
    assert copied_sources(dockerfile) == [
        "pyproject.toml",
        "src",
        "containers/x/a.conf",
        "containers/x/b.conf",
    ]


def test_a_copy_that_cannot_be_read_means_the_whole_context() -> None:
    assert copied_sources('FROM base\nCOPY ["a b", "/x"]\n') is None
    assert copied_sources("FROM base\nARG D=src\nCOPY $D /x\n") is None


def make_context(root: Path) -> None:
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("A = 1\n")
    (root / "conf").mkdir()
    (root / "conf" / "nginx.conf").write_text("events {}\n")


def test_a_change_outside_the_copied_paths_keeps_the_fingerprint(tmp_path: Path) -> None:
    make_context(tmp_path)
    before = files_digest(tmp_path, ["conf/nginx.conf"])
    (tmp_path / "src" / "app.py").write_text("A = 2\n")
    assert files_digest(tmp_path, ["conf/nginx.conf"]) == before


def test_a_change_inside_the_copied_paths_changes_the_fingerprint(tmp_path: Path) -> None:
    make_context(tmp_path)
    before = files_digest(tmp_path, ["src"])
    (tmp_path / "src" / "app.py").write_text("A = 2\n")
    assert files_digest(tmp_path, ["src"]) != before


def test_dockerignored_files_do_not_count(tmp_path: Path) -> None:
    make_context(tmp_path)
    (tmp_path / ".dockerignore").write_text("**/__pycache__\n")
    before = files_digest(tmp_path)
    (tmp_path / "src" / "__pycache__").mkdir()
    (tmp_path / "src" / "__pycache__" / "app.pyc").write_bytes(b"\0")
    assert files_digest(tmp_path) == before


def test_a_file_the_dockerignore_names_changes_nothing(tmp_path: Path) -> None:
    make_context(tmp_path)
    (tmp_path / ".dockerignore").write_text("src/*.log\n")
    (tmp_path / "src" / "run.log").write_text("one\n")
    before = files_digest(tmp_path)
    (tmp_path / "src" / "run.log").write_text("two\n")
    assert files_digest(tmp_path) == before


def test_ignore_patterns_match_as_dockers_do_from_the_context_root(tmp_path: Path) -> None:
    make_context(tmp_path)
    (tmp_path / ".dockerignore").write_text("app.py\nconf\n!conf/nginx.conf\n")
    before = files_digest(tmp_path)
    (tmp_path / "src" / "app.py").write_text("A = 2\n")  # not at the root: sent
    assert files_digest(tmp_path) != before
    before = files_digest(tmp_path)
    (tmp_path / "conf" / "nginx.conf").write_text("events { }\n")  # excluded, then re-included
    assert files_digest(tmp_path) != before


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "containers/web/Dockerfile", "none/here"])
def test_the_paths_hashed_are_the_paths_docker_py_sends(tmp_path: Path, dockerfile: str) -> None:
    make_context(tmp_path)
    (tmp_path / "containers" / "web").mkdir(parents=True)
    (tmp_path / "Dockerfile").write_text("FROM base\n")
    (tmp_path / "containers" / "web" / "Dockerfile").write_text("FROM base\n")
    patterns = "**/Dockerfile\nsrc\n!src/app.py\n*.md\n"
    (tmp_path / ".dockerignore").write_text(patterns)
    (tmp_path / "README.md").write_text("# r\n")
    sent = exclude_paths(str(tmp_path), patterns.split(), dockerfile=dockerfile)
    assert SentPaths(tmp_path).of(dockerfile) == sent
