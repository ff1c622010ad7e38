"""Start services along their dependency graph, not in a sequence: each service starts as soon as
every service it depends on has reached its condition (`service_started`, `service_healthy`,
`service_completed_successfully`), and the waits run at the same time. Only the graph lives here;
what starting and reaching mean is given by the caller (Stack.up).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

STARTED = "service_started"


class DependencyFailed(Exception):
    """A service was not started because one it depends on failed (that failure is raised)."""


def start_in_graph(
    order: list[str],
    depends_on: Mapping[str, Mapping[str, str]],
    start: Callable[[str], T],
    reach: Callable[[str, str], None],
    *,
    wait_for: Callable[[str], bool] = lambda service: False,
) -> list[T]:
    """Start every service in `order` (dependencies first) once its dependencies reached their
    condition; `reach(service, condition)` blocks until it has. A service's own thread starts it
    and then waits for the conditions others need of it (and its health, with `wait_for(service)`
    true), so independent waits overlap and each is waited for once. Returns start's results in
    `order`; raises the first failure in `order` (not the failures it caused further on)."""
    needed: dict[str, list[str]] = {service: [] for service in order}
    for service in order:
        for name, condition in depends_on.get(service, {}).items():
            if name in needed and condition != STARTED and condition not in needed[name]:
                needed[name].append(condition)
        if wait_for(service) and "service_healthy" not in needed[service]:
            needed[service].append("service_healthy")
    reached: dict[tuple[str, str], Future[None]] = {
        (service, condition): Future() for service in order for condition in needed[service]
    }

    def run(service: str) -> T:
        try:
            for name, condition in depends_on.get(service, {}).items():
                if name not in needed:
                    continue
                try:
                    started[name].result()
                    if condition != STARTED:
                        reached[(name, condition)].result()
                except BaseException as error:
                    raise DependencyFailed(name) from error
            result = start(service)
        except BaseException:
            for condition in needed[service]:
                reached[(service, condition)].set_exception(DependencyFailed(service))
            raise
        for condition in needed[service]:
            future = reached[(service, condition)]
            try:
                reach(service, condition)
            except BaseException as error:
                future.set_exception(error)
            else:
                future.set_result(None)
        return result

    # Threads only wait (on the engine, on each other): one per service, none queued behind
    # another's wait.
    started: dict[str, Future[T]] = {}
    with ThreadPoolExecutor(max_workers=max(1, len(order)), thread_name_prefix="up") as pool:
        for service in order:
            started[service] = pool.submit(run, service)
    futures: list[Future[Any]] = [*started.values(), *reached.values()]
    errors = [_root(f.exception()) for f in futures if f.exception() is not None]
    if errors:
        raise next((e for e in errors if not isinstance(e, DependencyFailed)), errors[0])
    return [started[service].result() for service in order]


def _root(error: BaseException | None) -> BaseException:
    assert error is not None
    while isinstance(error, DependencyFailed) and error.__cause__ is not None:
        error = error.__cause__
    return error
