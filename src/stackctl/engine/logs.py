"""A container's last log lines, as every failure report shows them (a failed health wait, a
failed cutover, a Swarm task that never got healthy, a build)."""

from __future__ import annotations

from typing import Any

LOG_TAIL = 20
"""How many of a container's last log lines a failure shows."""


def last_lines(api: Any, container: str, lines: int = LOG_TAIL) -> list[str]:
    """The container's last `lines` lines of stdout and stderr, decoded leniently."""
    raw = api.logs(container, stdout=True, stderr=True, tail=lines)
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return text.splitlines()[-lines:]
