"""stackctl.stack.schedule: services start along the dependency graph, waits run side by side."""

from __future__ import annotations

import threading
import time

import pytest

from stackctl.stack.schedule import start_in_graph

# The project's own shape: web and worker need redis and fakeoss healthy; nginx needs web.
ORDER = ["fakeoss", "redis", "web", "worker", "nginx"]
GRAPH = {
    "web": {"redis": "service_healthy", "fakeoss": "service_healthy"},
    "worker": {"redis": "service_healthy", "fakeoss": "service_healthy"},
    "nginx": {"web": "service_healthy"},
}


class Recorder:
    """start and reach that log what happened and when; reach takes `health` seconds."""

    def __init__(self, health: dict[str, float] | None = None) -> None:
        self.health = health or {}
        self.lock = threading.Lock()
        self.events: list[tuple[str, str]] = []
        self.reached: list[tuple[str, str]] = []
        self.at: dict[tuple[str, str], float] = {}

    def log(self, what: str, service: str) -> None:
        with self.lock:
            self.events.append((what, service))
            self.at[(what, service)] = time.monotonic()

    def start(self, service: str) -> str:
        self.log("start", service)
        return f"plan-{service}"

    def reach(self, service: str, condition: str) -> None:
        with self.lock:
            self.reached.append((service, condition))
        time.sleep(self.health.get(service, 0.0))
        self.log("healthy", service)


def test_a_service_starts_only_after_its_dependencies_are_healthy() -> None:
    recorder = Recorder({"redis": 0.05, "fakeoss": 0.1, "web": 0.05})

    plans = start_in_graph(ORDER, GRAPH, recorder.start, recorder.reach)

    assert plans == [f"plan-{service}" for service in ORDER]
    at = recorder.at
    for service, needs in GRAPH.items():
        for dependency in needs:
            assert at[("healthy", dependency)] <= at[("start", service)]


def test_independent_services_start_and_become_healthy_side_by_side() -> None:
    # fakeoss and redis need nothing: both start at once and their waits overlap. Each wait
    # passes a two-party barrier only while the other wait runs too: waits one after another
    # would break it (its timeout only keeps a regression from hanging the suite).
    both_waiting = threading.Barrier(2, timeout=10)

    class Overlapping(Recorder):
        def reach(self, service: str, condition: str) -> None:
            if service in ("redis", "fakeoss"):
                both_waiting.wait()
            super().reach(service, condition)

    recorder = Overlapping()

    start_in_graph(ORDER, GRAPH, recorder.start, recorder.reach)

    assert not both_waiting.broken
    at = recorder.at
    for service in ("web", "worker"):
        assert at[("start", service)] >= max(at[("healthy", "redis")], at[("healthy", "fakeoss")])


def test_each_condition_is_waited_for_once_however_many_depend_on_it() -> None:
    recorder = Recorder()

    start_in_graph(ORDER, GRAPH, recorder.start, recorder.reach, wait_for=lambda s: True)

    assert sorted(recorder.reached) == sorted((service, "service_healthy") for service in ORDER)


def test_without_wait_only_what_a_dependant_needs_is_waited_for() -> None:
    recorder = Recorder()

    start_in_graph(ORDER, GRAPH, recorder.start, recorder.reach)

    assert sorted(recorder.reached) == [
        ("fakeoss", "service_healthy"),
        ("redis", "service_healthy"),
        ("web", "service_healthy"),
    ]


def test_service_started_needs_no_wait_but_the_start_itself() -> None:
    recorder = Recorder()

    start_in_graph(
        ["db", "app"], {"app": {"db": "service_started"}}, recorder.start, recorder.reach
    )

    assert recorder.reached == []
    assert recorder.events.index(("start", "db")) < recorder.events.index(("start", "app"))


def test_a_failing_dependency_is_what_is_raised_and_its_dependants_never_start() -> None:
    recorder = Recorder()

    def reach(service: str, condition: str) -> None:
        if service == "redis":
            raise RuntimeError("service redis is unhealthy")
        recorder.reach(service, condition)

    with pytest.raises(RuntimeError, match="service redis is unhealthy"):
        start_in_graph(ORDER, GRAPH, recorder.start, reach)

    started = {service for what, service in recorder.events if what == "start"}
    assert started == {"fakeoss", "redis"}


def test_a_failing_start_is_raised_once_the_others_are_done() -> None:
    recorder = Recorder()

    def start(service: str) -> str:
        if service == "fakeoss":
            raise ValueError("cannot create fakeoss")
        return recorder.start(service)

    with pytest.raises(ValueError, match="cannot create fakeoss"):
        start_in_graph(ORDER, GRAPH, start, recorder.reach)

    # redis, needing nothing, still started: what failed is said, the rest is not torn down.
    assert ("start", "redis") in recorder.events
    assert ("start", "nginx") not in recorder.events


def test_down_stops_dependants_first_and_the_rest_side_by_side() -> None:
    from pathlib import Path

    from stackctl.stack.stack import dependants, stop_order
    from stackctl.stack.workspace import load_workspace

    root = Path(__file__).resolve().parents[2]
    project = load_workspace(root, environ={}, mode="production").project
    order = stop_order(project, ["redis", "web", "old-service", "nginx", "worker", "fakeoss"])
    waits = dependants(project, order)
    recorder = Recorder()

    start_in_graph(order, waits, recorder.start, recorder.reach)

    stopped = [service for what, service in recorder.events if what == "start"]
    assert order[0] == "old-service"  # compose.yaml no longer names it: nothing waits for it
    assert stopped.index("nginx") < stopped.index("web")
    for backend in ("redis", "fakeoss"):
        assert stopped.index("web") < stopped.index(backend)
        assert stopped.index("worker") < stopped.index(backend)
    assert recorder.reached == []  # nothing but the stops before it is waited for
