"""Waiting for a service: healthy (or running, without a healthcheck), or completed; a failure
is raised with the service's last log lines and the command that shows more."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NoReturn

from rich.console import Console

from stackctl.containers import project_containers
from stackctl.errors import ServiceUnhealthy

LOG_TAIL = 20
POLL_SECONDS = 0.2


def logs_hint(service: str, lines: int = 50) -> str:
    """The `invoke logs` command line that shows a service's last lines (tested through Invoke's
    own parser: a positional service name is not an argument `logs` takes)."""
    return f"invoke logs --service {service} --tail {lines}"


class HealthWaiter:
    def __init__(self, api: Any, project: str, console: Console, timeout: float) -> None:
        self.api = api
        self.project = project
        self.console = console
        self.timeout = timeout

    def state(self, service: str) -> dict[str, Any]:
        """The `State` of the service's (first) container, as `inspect` gives it."""
        return self.states(service)[0]

    def states(self, service: str) -> list[dict[str, Any]]:
        """The `State` of each of the service's containers (one per replica)."""
        found = project_containers(self.api, self.project, service)
        if not found:
            raise ServiceUnhealthy(f"service {service} has no container: run `invoke up`")
        return [self.api.inspect_container(container.id)["State"] for container in found]

    def wait_healthy(
        self, service: str, timeout: float | None = None, *, status: bool = True
    ) -> None:
        """status=False: no spinner of its own (waits running side by side share the caller's;
        rich shows one live display at a time)."""
        limit = timeout or self.timeout
        late = f"was not healthy within {limit:.0f} s"
        if not status:
            self._poll(service, limit, late, lambda state: self._healthy(service, state))
            return
        with self.console.status(f"waiting for {service} to be healthy"):
            self._poll(service, limit, late, lambda state: self._healthy(service, state))

    def wait_completed(self, service: str, timeout: float | None = None) -> None:
        limit = timeout or self.timeout
        late = "did not complete in time"
        self._poll(service, limit, late, lambda state: self._completed(service, state))

    def _poll(
        self, service: str, limit: float, late: str, done: Callable[[dict[str, Any]], bool]
    ) -> None:
        deadline = time.monotonic() + limit
        # Every replica is looked at each round, so a failed one is reported at once.
        while not all([done(state) for state in self.states(service)]):
            if time.monotonic() > deadline:
                self.fail(service, late)
            time.sleep(POLL_SECONDS)

    def _healthy(self, service: str, state: dict[str, Any]) -> bool:
        health = (state.get("Health") or {}).get("Status")
        if health in (None, "healthy") and state.get("Running"):
            return True
        if not state.get("Running") and state.get("Status") in ("exited", "dead"):
            self.fail(service, f"exited with code {state.get('ExitCode')}")
        if health == "unhealthy":
            self.fail(service, "is unhealthy")
        return False

    def _completed(self, service: str, state: dict[str, Any]) -> bool:
        if state.get("Running"):
            return False
        if state.get("ExitCode") != 0:
            self.fail(service, f"exited with code {state.get('ExitCode')}")
        return True

    def fail(self, service: str, what: str) -> NoReturn:
        raise ServiceUnhealthy(
            f"service {service} {what}; its last log lines: `{logs_hint(service)}`",
            log_tail=self.log_tail(service),
        )

    def log_tail(self, service: str, lines: int = LOG_TAIL) -> list[str]:
        found = project_containers(self.api, self.project, service)
        if not found:
            return []
        raw: bytes = self.api.logs(found[0].id, tail=lines)
        return raw.decode("utf-8", "replace").splitlines()
