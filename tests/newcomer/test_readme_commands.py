"""The newcomer session reads the README's commands from README.md: its shape is checked here."""

from __future__ import annotations

from pathlib import Path

import pytest
from readme_commands import ReadmeError, readme_commands

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_gives_two_commands_and_a_down_command() -> None:
    commands = readme_commands(ROOT / "README.md")
    assert commands.setup.startswith("bash .ci/setup-host")
    assert commands.setup.endswith(".venv/bin/invoke base up")
    assert commands.test == ".venv/bin/nox"
    assert commands.down == ".venv/bin/invoke down"


def test_a_third_command_in_the_block_is_refused(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("```sh\n# one\na\nb\nc\n```\n`x/invoke down`\n", encoding="utf-8")
    with pytest.raises(ReadmeError, match="holds 3 commands, expected 2"):
        readme_commands(readme)


def test_no_down_command_is_refused(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("```sh\na\nb\n```\n", encoding="utf-8")
    with pytest.raises(ReadmeError, match="invoke down"):
        readme_commands(readme)
