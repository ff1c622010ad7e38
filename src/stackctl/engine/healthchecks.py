"""A service's health check as the engine takes it, written from a `HealthConfig` (made by
`converge.health_config`, the one mapping from compose.yaml's `healthcheck:`, durations already
in nanoseconds): for a container's create call (`up` and the SSH deploy) and for a Swarm
service's container spec."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class HealthConfig:
    """A healthcheck as the Engine API takes it: durations in nanoseconds. (Its fields are part
    of `converge.ContainerConfig`'s config hash: renaming one recreates every container.)"""

    test: tuple[str, ...]
    interval: int
    timeout: int
    retries: int
    start_period: int


def create_healthcheck(check: HealthConfig | None) -> dict[str, Any] | None:
    """For docker-py's `create_container(healthcheck=...)`."""
    from docker.types import Healthcheck

    if check is None:
        return None
    found: dict[str, Any] = Healthcheck(
        test=list(check.test),
        interval=check.interval,
        timeout=check.timeout,
        retries=check.retries,
        start_period=check.start_period,
    )
    return found


def swarm_healthcheck(check: HealthConfig) -> dict[str, Any]:
    """For a Swarm service's `TaskTemplate.ContainerSpec.Healthcheck`."""
    return {
        "Test": list(check.test),
        "Interval": check.interval,
        "Timeout": check.timeout,
        "Retries": check.retries,
        "StartPeriod": check.start_period,
    }
