"""Scalars as the text compose v2 makes of them (`docker compose config` 2.26 printed these)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackctl.compose import load_project
from stackctl.compose.scalars import go_text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1000.0, "1000"),
        (1e6, "1e+06"),
        (100000.0, "100000"),
        (1234567.0, "1.234567e+06"),
        (0.1, "0.1"),
        (0.0001, "0.0001"),
        (1e-5, "1e-05"),
        (-2.5e-7, "-2.5e-07"),
        (1.0, "1"),
        (3.14159265358979, "3.14159265358979"),
        (1.2345678901234568e29, "1.2345678901234568e+29"),
        (-0.0, "-0"),
        (float("inf"), "+Inf"),
        (float("nan"), "NaN"),
        (12345678901234567890, "12345678901234567890"),
        (8, "8"),
        (True, "true"),
        (False, "false"),
        ("1_000", "1_000"),
    ],
)
def test_go_text_is_go_fmt_sprint(value: float | int | bool | str, text: str) -> None:
    assert go_text(value) == text


def test_environment_and_labels_read_numbers_as_compose_v2(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "services:\n"
        "  web:\n"
        "    image: app\n"
        "    environment: {A: 1e3, B: 1_000, C: 010, D: 1e6, E: 08, F: '010', G: yes}\n"
        "    labels: {a: 1e3, b: 010, c: 1_000}\n"
    )

    web = load_project(compose, {}).services["web"]

    assert web.environment == {
        "A": "1000",
        "B": "1000",
        "C": "8",
        "D": "1e+06",
        "E": "8",
        "F": "010",
        "G": "yes",
    }
    assert web.labels == {"a": "1000", "b": "8", "c": "1000"}
