"""`invoke deploy.details`, the pure part (Kamal's `details`): one row per container a host runs
for the app (each role, accessory and the proxy, and a `deploy.exec` one-off still running), and
the one-screen table of them. The targets find the rows (`deploy/ssh/details.py`,
`deploy/swarm/details.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from stackctl.deploy.logview import sortable_time

if TYPE_CHECKING:
    from rich.table import Table

KINDS = ("role", "accessory", "proxy", "exec")
"""The containers shown, in this order on each host (the lock, the audit log's and the secrets
helpers are deploy's own, not the app's)."""


@dataclass(frozen=True)
class DetailRow:
    host: str
    kind: str
    service: str
    container: str
    version: str
    """A role's release (`*` marks the one the host serves), else the image it runs."""
    state: str
    health: str
    up: str


def nothing_deployed(host: str) -> DetailRow:
    """The row of a host (or node) that runs nothing of the app."""
    return DetailRow(host, "-", "(nothing deployed)", "-", "-", "-", "", "-")


def started_seconds(stamp: str) -> float | None:
    """The engine's RFC 3339 start time (nanoseconds, `Z`) as unix seconds; None for none."""
    at = sortable_time(stamp)
    if not at:
        return None
    return datetime.fromisoformat(f"{at[:26]}+00:00").timestamp()


def uptime(started: float | None, now: float, running: bool) -> str:
    """How long it has run, in its two largest units (`45s`, `3m 12s`, `2h 5m`, `4d 3h`);
    `-` when it is not running."""
    if not running or started is None:
        return "-"
    left = max(0, int(now - started))
    parts: list[str] = []
    for unit, seconds in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if left >= seconds or (unit == "s" and not parts):
            parts.append(f"{left // seconds}{unit}")
            left %= seconds
    return " ".join(parts[:2])


def ordered(rows: Sequence[DetailRow], hosts: Sequence[str]) -> list[DetailRow]:
    """Host by host (DEPLOY_HOSTS order), then roles, accessories, proxy, one-offs, by name."""
    return sorted(
        rows, key=lambda r: (hosts.index(r.host), KINDS.index(r.kind), r.service, r.container)
    )


def table(rows: Sequence[DetailRow]) -> Table:
    """The screen: a row per container, the host named on its first row only."""
    from rich.table import Table

    shown = Table("HOST", "KIND", "NAME", "CONTAINER", "VERSION", "STATE", "HEALTH", "UP", box=None)
    previous = None
    for row in rows:
        shown.add_row(
            row.host if row.host != previous else "",
            row.kind,
            row.service,
            row.container,
            row.version,
            row.state,
            row.health or "-",
            row.up,
        )
        previous = row.host
    return shown
