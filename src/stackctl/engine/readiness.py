"""Is this container ready? Decided here once, for `up`'s waits, `ps`, the SSH deploy's cutover
and the Swarm deploy's wait.

A container is in one of a few phases, read from the engine's own words (its state, Docker's
health status); what each caller does with a phase is its own business (`up` fails on an exit,
the cutover removes the new release), but no caller reads the state itself.
"""

from __future__ import annotations

import enum

from stackctl.engine.models import Container, Task

STOPPED = ("exited", "dead")
# Swarm's task states before its container runs (and, with a health check, is healthy).
TASK_STARTING = frozenset(
    ("new", "allocated", "pending", "assigned", "accepted", "preparing", "ready", "starting")
)


class Phase(enum.Enum):
    HEALTHY = "healthy"
    """Running, and Docker says its health check passes."""
    RUNNING = "running"
    """Running, without a health check."""
    STARTING = "starting"
    """Running, its health check not passed yet (Docker runs it first an interval after the
    start: a run of the same command through exec may pass sooner, `health.OwnChecks`)."""
    UNHEALTHY = "unhealthy"
    """Docker's retries of its health check failed."""
    EXITED = "exited"
    """Stopped after running (exited or dead): its exit code says why."""
    NOT_RUNNING = "not running"
    """Created, restarting, or removed under us: not running, not known to have ended."""

    @property
    def ready(self) -> bool:
        """What `up` ends on and dependants start after: healthy, or running without a check."""
        return self in (Phase.HEALTHY, Phase.RUNNING)


def readiness(found: Container | Task) -> Phase:
    """The phase of a container (listed or inspected) or of a Swarm task."""
    if isinstance(found, Task):
        return _task_phase(found)
    if found.running:
        return {"healthy": Phase.HEALTHY, "": Phase.RUNNING, "unhealthy": Phase.UNHEALTHY}.get(
            found.health, Phase.STARTING
        )
    if found.status in STOPPED:
        return Phase.EXITED
    if found.health == "unhealthy":
        return Phase.UNHEALTHY
    return Phase.NOT_RUNNING


def _task_phase(task: Task) -> Phase:
    """Swarm says "running" for a task with a health check only once the check passed."""
    if task.state == "running":
        return Phase.HEALTHY if task.has_check else Phase.RUNNING
    if task.state in TASK_STARTING:
        return Phase.STARTING
    return Phase.EXITED
