"""`invoke test`'s setup comes from compose.yaml's `x-test` block: stackctl names no app's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackctl.errors import ComposeError
from stackctl.stack.oneoff import TestSetup, load_test_setup

ROOT = Path(__file__).resolve().parents[2]


def test_the_project_names_its_suites_environment_and_needs() -> None:
    setup = load_test_setup(ROOT / "compose.yaml")
    assert setup.args[:1] == ("tests/gallery",)
    assert setup.environment == {"TEST_REDIS_URL": "redis://redis:6379/15"}
    assert setup.needs == ("redis",)


def test_a_file_without_the_block_runs_pytest_s_own_defaults(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services: {}\n")
    assert load_test_setup(tmp_path / "compose.yaml") == TestSetup()


@pytest.mark.parametrize(
    ("block", "named"),
    [
        ("x-test: [a]", "x-test: expected a mapping"),
        ("x-test: {image: x}", "x-test.image: unsupported key"),
        ("x-test: {args: tests}", "x-test.args: expected a list of strings"),
        ("x-test: {environment: {A: 1}}", "x-test.environment: expected a mapping of strings"),
    ],
)
def test_a_malformed_block_is_one_line_naming_the_key(
    tmp_path: Path, block: str, named: str
) -> None:
    (tmp_path / "compose.yaml").write_text(f"{block}\nservices: {{}}\n")
    with pytest.raises(ComposeError, match=f"^compose.yaml: {named}"):
        load_test_setup(tmp_path / "compose.yaml")
