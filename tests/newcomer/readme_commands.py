"""The README's own commands, read from README.md: the newcomer session runs exactly these."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_FIRST_SH_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)
_DOWN = re.compile(r"`([^`\n]*\binvoke down)`")


class ReadmeError(Exception):
    """README.md no longer has the shape the newcomer session reads."""


@dataclass(frozen=True)
class ReadmeCommands:
    setup: str
    """Command 1: set up the machine and start the stack."""
    test: str
    """Command 2: run the tests."""
    down: str
    """The command the README gives to stop the stack."""


def readme_commands(readme: Path) -> ReadmeCommands:
    """The two commands of the README's first `sh` block (comments skipped) and its down command."""
    text = readme.read_text(encoding="utf-8")
    block = _FIRST_SH_BLOCK.search(text)
    if block is None:
        raise ReadmeError(f"{readme}: no ```sh block holding the two commands")
    commands = [
        line.strip()
        for line in block.group(1).splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if len(commands) != 2:
        raise ReadmeError(
            f"{readme}: the first ```sh block holds {len(commands)} commands, expected 2"
            " (set up, test)"
        )
    down = _DOWN.search(text)
    if down is None:
        raise ReadmeError(f"{readme}: no `... invoke down` command to stop the stack")
    return ReadmeCommands(setup=commands[0], test=commands[1], down=down.group(1))
