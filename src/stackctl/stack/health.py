"""Waiting for a service: healthy (or running, without a healthcheck), or completed; a failure
is raised with the service's last log lines and the command that shows more.

A container counts as healthy as soon as its own health check passes: while Docker still says
"starting", the check's command is run in the container between Docker's own runs (which come
only every `interval`, the first one an interval after the start: Engine 20.10 has no
`start_interval`). The same command, the same container, the same user: only sooner. Without it
each level of `depends_on: service_healthy` costs up to a whole interval of waiting, and `up` (which
ends when every service is healthy) an interval more at its last level.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

from docker.errors import DockerException
from requests import RequestException
from rich.console import Console

from stackctl import labels
from stackctl.engine.execs import run_in
from stackctl.engine.logs import LOG_TAIL, last_lines
from stackctl.engine.models import Container, HealthCheck, inspect_container, project_containers
from stackctl.engine.readiness import Phase, readiness
from stackctl.errors import ServiceUnhealthy

POLL_SECONDS = 0.2


def logs_hint(service: str, lines: int = 50) -> str:
    """The `invoke logs` command line that shows a service's last lines (tested through Invoke's
    own parser: a positional service name is not an argument `logs` takes)."""
    return f"invoke logs --service {service} --tail {lines}"


class Changes:
    """A count of the project's container changes, from Docker's event stream while `watching`:
    a wait re-reads the state as soon as something happened (a health status, an exit, an exec
    that ended) instead of at its next poll, which stays the fallback (0.1 s lost on average at
    each level of a dependency chain, measured at 0.2 s polls)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._count = 0

    def poke(self) -> None:
        with self._changed:
            self._count += 1
            self._changed.notify_all()

    def seen(self) -> int:
        with self._changed:
            return self._count

    def wait(self, seen: int, timeout: float) -> None:
        """Return once the count has moved past `seen`, or after `timeout` seconds."""
        with self._changed:
            self._changed.wait_for(lambda: self._count != seen, timeout)

    @contextlib.contextmanager
    def watching(self, api: Any, project: str) -> Iterator[None]:
        """Follow the project's container events for the block's duration."""
        try:
            stream = api.events(
                filters={"type": "container", "label": f"{labels.PROJECT}={project}"}, decode=True
            )
        except (DockerException, RequestException):
            yield  # no event stream: the waits poll, as before
            return

        def follow() -> None:
            with contextlib.suppress(Exception):  # the stream closed under it: done
                for _event in stream:
                    self.poke()

        follower = threading.Thread(target=follow, daemon=True, name="events")
        follower.start()
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                stream.close()
            follower.join(timeout=1)


class OwnChecks:
    """Runs containers' health check commands through `exec`, in threads of their own (a check
    that hangs never holds up the wait: it just never passes), paced: the first run soon after
    the container is first seen (FIRST_GAP), each later one twice as long after the one before,
    up to a quarter second (MAX_GAP; the check's interval if shorter). A service that is up at
    once (Redis, nginx) passes at the first run; a Python app that takes 0.7 s to import gets
    five runs in that time. Run back to back instead, the checks of a starting Python app (a
    `python -c` each) took the CPU its own start needed: on the loaded 2-core machine, web took
    5.8 s to become healthy under about 25 of them. Gaps growing to a second instead found web,
    answering 0.5 s after its start, only at 0.8 s (each exec costs the engine about 40 ms of
    CPU, measured: four a second while a service starts)."""

    FIRST_GAP = 0.05
    MAX_GAP = 0.25

    def __init__(
        self,
        api: Any,
        clock: Callable[[], float] = time.monotonic,
        on_pass: Callable[[], None] = lambda: None,
    ) -> None:
        self.api = api
        self.clock = clock
        self.on_pass = on_pass
        self._lock = threading.Lock()
        self._running: dict[str, threading.Thread] = {}
        self._next: dict[str, float] = {}
        self._gap: dict[str, float] = {}
        self._passed: set[str] = set()

    def check_passed(self, container_id: str, check: HealthCheck | None) -> bool:
        """`passed` for a container's own check (False for one without)."""
        return check is not None and self.passed(container_id, check.command, check.interval)

    def passed(self, container_id: str, command: list[str], period: float = 1.0) -> bool:
        """True once a run of `command` in the container exited 0; else starts a run when one
        is due (and none is still going) and answers False."""
        period = min(max(period, 0.05), 1.0)
        now = self.clock()
        with self._lock:
            if container_id in self._passed:
                return True
            first = min(self.FIRST_GAP, period)
            due = self._next.setdefault(container_id, now + first)
            running = self._running.get(container_id)
            if now < due or (running is not None and running.is_alive()):
                return False
            gap = min(self._gap.get(container_id, first) * 2, period, self.MAX_GAP)
            self._gap[container_id] = gap
            self._next[container_id] = now + gap
            run = threading.Thread(
                target=self._run, args=(container_id, command), daemon=True, name="own-check"
            )
            self._running[container_id] = run
        run.start()
        return False

    def until_due(self) -> float | None:
        """Seconds until the next run is due of a check that has not passed, None for none.

        Only due times still ahead count: one already past is either running (a slow or hung
        check) or no longer asked for (Docker said healthy first), and a wait timed by it would
        end at once, again and again, re-reading every container in a loop.
        """
        now = self.clock()
        with self._lock:
            ahead = [
                due for key, due in self._next.items() if key not in self._passed and due > now
            ]
        return min(ahead) - now if ahead else None

    def _run(self, container_id: str, command: list[str]) -> None:
        if check_passes(self.api, container_id, command):
            with self._lock:
                self._passed.add(container_id)
            self.on_pass()


def check_passes(api: Any, container_id: str, command: list[str]) -> bool:
    """One run of a health check's command in the container: True when it exited 0; False for a
    failure and for a container not (or no longer) running."""
    try:
        return run_in(api, container_id, command).ok
    except (DockerException, RequestException):
        return False


class HealthWaiter:
    def __init__(self, api: Any, project: str, console: Console, timeout: float) -> None:
        self.api = api
        self.project = project
        self.console = console
        self.timeout = timeout
        self.changes = Changes()
        self.own_checks = OwnChecks(api, on_pass=self.changes.poke)

    def watching(self) -> contextlib.AbstractContextManager[None]:
        """Waits inside the block wake on the project's container events, not only at polls."""
        return self.changes.watching(self.api, self.project)

    def inspections(self, service: str) -> list[Container]:
        """Each of the service's containers (one per replica), inspected."""
        found = project_containers(self.api, self.project, service)
        if not found:
            raise ServiceUnhealthy(f"service {service} has no container: run `invoke up`")
        # A stand-in engine's inspection may lack the id the list gave.
        return [Container({"Id": c.id, **self.api.inspect_container(c.id)}) for c in found]

    def check_now(self, container_id: str) -> bool:
        """Run the container's health check once now: True when it passes (False without one,
        and for a container gone meanwhile)."""
        try:
            check = inspect_container(self.api, container_id).check
        except (DockerException, RequestException):
            return False
        return check is not None and check_passes(self.api, container_id, check.command)

    def wait_healthy(
        self,
        service: str,
        timeout: float | None = None,
        *,
        status: bool = True,
        own_check: bool = False,
    ) -> None:
        """status=False: no spinner of its own (waits running side by side share the caller's;
        rich shows one live display at a time). own_check=True: the check's command passing
        when run by us is enough (for starting what depends on the service); else Docker's
        own state must say healthy (what `docker ps` and everyone else see)."""
        limit = timeout or self.timeout
        late = f"was not healthy within {limit:.0f} s"

        def done(found: Container) -> bool:
            return self._healthy(service, found, own_check=own_check)

        if not status:
            self._poll(service, limit, late, done)
            return
        with self.console.status(f"waiting for {service} to be healthy"):
            self._poll(service, limit, late, done)

    def wait_completed(self, service: str, timeout: float | None = None) -> None:
        limit = timeout or self.timeout
        late = "did not complete in time"
        self._poll(service, limit, late, lambda found: self._completed(service, found))

    def _poll(
        self, service: str, limit: float, late: str, done: Callable[[Container], bool]
    ) -> None:
        deadline = time.monotonic() + limit
        seen = self.changes.seen()  # before looking: a change while looking ends the next wait
        # Every replica is looked at each round, so a failed one is reported at once.
        while not all([done(found) for found in self.inspections(service)]):
            if time.monotonic() > deadline:
                self.fail(service, late)
            due = self.own_checks.until_due()
            # Woken by a change, or when an own check is due (its first run comes 50 ms after
            # the start: a poll's 0.2 s would hold it back), or at the next poll.
            self.changes.wait(seen, POLL_SECONDS if due is None else min(POLL_SECONDS, due))
            seen = self.changes.seen()

    def _healthy(self, service: str, container: Container, *, own_check: bool) -> bool:
        phase = readiness(container)
        if phase is Phase.EXITED:
            self.fail(service, f"exited with code {container.exit_code}")
        if phase is Phase.UNHEALTHY:
            self.fail(service, "is unhealthy")
        if own_check and phase is Phase.STARTING:
            return self.own_checks.check_passed(container.id, container.check)
        return phase.ready

    def _completed(self, service: str, container: Container) -> bool:
        if container.running:
            return False
        if container.exit_code != 0:
            self.fail(service, f"exited with code {container.exit_code}")
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
        return last_lines(self.api, found[0].id, lines)
