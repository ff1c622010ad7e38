"""Health waits and log lines against an engine that answers from a script: no Docker needed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rich.console import Console

from stackctl import labels
from stackctl.errors import ServiceUnhealthy, StackError
from stackctl.stack.health import HealthWaiter
from stackctl.stack.logs import log_lines, tail_lines


class ScriptedApi:
    """Answers `inspect_container` with the next state of a script, the last one forever."""

    def __init__(self, *states: dict[str, Any], logs: bytes = b"") -> None:
        self.states = list(states)
        self.log_text = logs
        self.log_calls: list[dict[str, Any]] = []

    def containers(self, all: bool, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
        service = next(f.split("=", 1)[1] for f in filters["label"] if labels.SERVICE in f)
        if service == "absent":
            return []
        return [{"Id": f"id-{service}", "Labels": {labels.SERVICE: service}}]

    def inspect_container(self, container_id: str) -> dict[str, Any]:
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return {"State": state}

    def logs(self, container_id: str, **options: Any) -> Any:
        self.log_calls.append(options)
        if options.get("stream"):
            half = len(self.log_text) // 2
            return iter([self.log_text[:half], self.log_text[half:]])
        return self.log_text


def waiter(api: ScriptedApi) -> HealthWaiter:
    return HealthWaiter(api, "demo", Console(quiet=True), timeout=30)


STARTING = {"Running": True, "Status": "running", "Health": {"Status": "starting"}}
HEALTHY = {"Running": True, "Status": "running", "Health": {"Status": "healthy"}}


def test_a_starting_service_is_waited_for_until_healthy() -> None:
    api = ScriptedApi(STARTING, STARTING, HEALTHY)
    waiter(api).wait_healthy("web")
    assert api.states == [HEALTHY]


def test_a_running_service_without_healthcheck_is_ready() -> None:
    waiter(ScriptedApi({"Running": True, "Status": "running"})).wait_healthy("redis")


def test_an_unhealthy_service_names_the_logs_command_and_carries_its_last_lines() -> None:
    unhealthy = {"Running": True, "Status": "running", "Health": {"Status": "unhealthy"}}
    api = ScriptedApi(unhealthy, logs=b"booting\ncannot reach redis\n")
    with pytest.raises(ServiceUnhealthy) as raised:
        waiter(api).wait_healthy("web")
    assert str(raised.value) == (
        "service web is unhealthy; its last log lines: `invoke logs --service web --tail 50`"
    )
    assert raised.value.log_tail == ["booting", "cannot reach redis"]
    assert api.log_calls == [{"stdout": True, "stderr": True, "tail": 20}]


def test_an_exited_service_says_its_exit_code() -> None:
    exited = {"Running": False, "Status": "exited", "ExitCode": 3}
    with pytest.raises(ServiceUnhealthy, match=r"^service web exited with code 3;"):
        waiter(ScriptedApi(exited)).wait_healthy("web")


def test_a_service_without_container_says_run_up() -> None:
    with pytest.raises(ServiceUnhealthy, match=r"^service absent has no container"):
        waiter(ScriptedApi(HEALTHY)).wait_healthy("absent")


def test_waiting_past_the_timeout_fails_naming_it() -> None:
    with pytest.raises(ServiceUnhealthy, match=r"^service web was not healthy within 0 s"):
        waiter(ScriptedApi(STARTING)).wait_healthy("web", timeout=0.01)


def test_a_one_shot_service_completes_on_exit_code_zero_only() -> None:
    running = {"Running": True, "Status": "running"}
    done = {"Running": False, "Status": "exited", "ExitCode": 0}
    waiter(ScriptedApi(running, done)).wait_completed("migrate")
    failed = {"Running": False, "Status": "exited", "ExitCode": 1}
    with pytest.raises(ServiceUnhealthy, match=r"^service migrate exited with code 1;"):
        waiter(ScriptedApi(failed)).wait_completed("migrate")


def test_log_lines_are_prefixed_padded_and_whole_across_chunks() -> None:
    api = ScriptedApi(HEALTHY, logs=b"first line\nsecond")
    lines: Iterator[str] = log_lines(api, [("web", "id-web"), ("nginx", "id-nginx")], tail=5)
    assert list(lines) == [
        "web   | first line",
        "web   | second",
        "nginx | first line",
        "nginx | second",
    ]
    assert api.log_calls[0] == {"stream": True, "follow": False, "tail": 5}


def test_followed_logs_end_when_every_stream_ends() -> None:
    api = ScriptedApi(HEALTHY, logs=b"a\n")
    lines = sorted(log_lines(api, [("web", "1"), ("nginx", "2")], follow=True))
    assert lines == ["nginx | a", "web   | a"]


def test_without_tail_every_line_is_asked_for() -> None:
    api = ScriptedApi(HEALTHY, logs=b"")
    assert list(log_lines(api, [("web", "1")])) == []
    assert api.log_calls == [{"stream": True, "follow": False, "tail": "all"}]


@pytest.mark.parametrize(("given", "lines"), [(None, None), (7, 7), ("50", 50), (" 3 ", 3)])
def test_tail_is_a_number_of_lines(given: int | str | None, lines: int | None) -> None:
    assert tail_lines(given) == lines


@pytest.mark.parametrize("given", ["all", "-1", "5x", ""])
def test_a_tail_that_is_not_a_count_is_refused(given: str) -> None:
    with pytest.raises(StackError, match=r"^--tail .*: expected a number of lines"):
        tail_lines(given)


class CheckedApi(ScriptedApi):
    """Docker says "starting" forever; the health check's own command answers `exit_code` when
    run through exec (after `hold` is set, if given)."""

    def __init__(self, exit_code: int, hold: Any = None) -> None:
        super().__init__(STARTING)
        self.exit_code = exit_code
        self.hold = hold
        self.commands: list[list[str]] = []

    def inspect_container(self, container_id: str) -> dict[str, Any]:
        found = super().inspect_container(container_id)
        found["Config"] = {
            "Healthcheck": {"Test": ["CMD-SHELL", "redis-cli ping"], "Interval": 100_000_000}
        }
        return found

    def exec_create(self, container_id: str, command: list[str], **options: Any) -> dict[str, str]:
        self.commands.append(command)
        self.attached = bool(options.get("stdout") or options.get("stderr"))
        return {"Id": f"exec-{len(self.commands)}"}  # as docker-py answers

    def exec_start(self, exec_id: str) -> bytes:
        if self.hold is not None:
            self.hold.wait()
        return b""

    def exec_inspect(self, exec_id: str) -> dict[str, Any]:
        if not self.attached:
            # As Docker answers: an exec started detached returns at once, before its command
            # (a `python -c` taking 50 ms) has ended.
            return {"Running": True, "ExitCode": None}
        return {"Running": False, "ExitCode": self.exit_code}


def test_a_passing_own_check_makes_a_starting_service_healthy_before_docker_says_so() -> None:
    api = CheckedApi(exit_code=0)
    waiter(api).wait_healthy("redis", own_check=True)
    assert api.commands[0] == ["/bin/sh", "-c", "redis-cli ping"]


def test_without_own_checks_only_docker_s_word_counts() -> None:
    api = CheckedApi(exit_code=0)
    with pytest.raises(ServiceUnhealthy, match="was not healthy within"):
        waiter(api).wait_healthy("redis", timeout=0.5)
    assert api.commands == []


def test_a_failing_own_check_keeps_the_wait_going_until_the_timeout() -> None:
    api = CheckedApi(exit_code=1)
    with pytest.raises(ServiceUnhealthy, match="was not healthy within"):
        waiter(api).wait_healthy("redis", timeout=0.5, own_check=True)
    assert len(api.commands) >= 2  # run again after each failure, one at a time


def test_a_hanging_own_check_neither_blocks_the_wait_nor_runs_twice_at_once() -> None:
    import threading

    hold = threading.Event()
    api = CheckedApi(exit_code=0, hold=hold)
    try:
        with pytest.raises(ServiceUnhealthy, match="was not healthy within"):
            waiter(api).wait_healthy("redis", timeout=0.5, own_check=True)
        assert len(api.commands) == 1
    finally:
        hold.set()


@pytest.mark.parametrize(
    ("test", "command"),
    [
        (["CMD", "curl", "-f", "http://x/"], ["curl", "-f", "http://x/"]),
        (["CMD-SHELL", "exit 0"], ["/bin/sh", "-c", "exit 0"]),
        (["NONE"], None),
        (None, None),
        ([], None),
    ],
)
def test_the_check_command_is_docker_s_own_reading_of_the_test(
    test: list[str] | None, command: list[str] | None
) -> None:
    from stackctl.engine.models import check_command

    assert check_command(test) == command


def test_own_checks_start_soon_and_double_their_gap_up_to_a_quarter_second() -> None:
    from stackctl.stack.health import OwnChecks

    now = [100.0]
    api = CheckedApi(exit_code=1)
    checks = OwnChecks(api, clock=lambda: now[0])

    def ask_at(moment: float) -> int:
        now[0] = moment
        checks.passed("c1", ["true"], period=1.0)
        for thread in list(checks._running.values()):
            thread.join(5)
        return len(api.commands)

    # (a thousandth past each due time: float sums of 0.05 and 0.1 land a hair off)
    assert ask_at(100.0) == 0  # first seen: due at 100.05
    assert ask_at(100.04) == 0
    assert ask_at(100.051) == 1  # next due 0.1 later
    assert ask_at(100.14) == 1
    assert ask_at(100.151) == 2  # then 0.2 later
    assert ask_at(100.351) == 3  # then a quarter second, at most
    assert ask_at(100.59) == 3
    assert ask_at(100.602) == 4
    assert ask_at(100.853) == 5


def test_a_short_interval_keeps_its_own_pace_but_no_faster_than_every_50_ms() -> None:
    from stackctl.stack.health import OwnChecks

    now = [0.0]
    api = CheckedApi(exit_code=1)
    checks = OwnChecks(api, clock=lambda: now[0])
    for moment in (0.0, 0.051, 0.07, 0.102, 0.153, 0.17):
        now[0] = moment
        checks.passed("c1", ["true"], period=0.01)
        for thread in list(checks._running.values()):
            thread.join(5)
    assert len(api.commands) == 3  # at 0.051, 0.102 and 0.153: first seen at 0


def test_checking_now_runs_the_container_s_check_once_and_says_whether_it_passed() -> None:
    passing, failing = CheckedApi(exit_code=0), CheckedApi(exit_code=1)
    assert waiter(passing).check_now("id-redis") is True
    assert waiter(failing).check_now("id-redis") is False
    assert passing.commands == failing.commands == [["/bin/sh", "-c", "redis-cli ping"]]


def test_checking_now_a_container_without_a_check_or_gone_is_no_pass() -> None:
    from docker.errors import NotFound

    class Unchecked(CheckedApi):
        def inspect_container(self, container_id: str) -> dict[str, Any]:
            return {"State": HEALTHY, "Config": {}}

    class Gone(CheckedApi):
        def inspect_container(self, container_id: str) -> dict[str, Any]:
            raise NotFound("No such container")

    for api in (Unchecked(exit_code=0), Gone(exit_code=0)):
        assert waiter(api).check_now("id-web") is False
        assert api.commands == []


def test_only_a_run_still_ahead_times_a_wait() -> None:
    from stackctl.stack.health import OwnChecks

    now = [100.0]
    api = CheckedApi(exit_code=1)
    checks = OwnChecks(api, clock=lambda: now[0])
    assert checks.until_due() is None
    checks.passed("c1", ["true"], period=1.0)  # first seen: due at 100.05
    assert checks.until_due() == pytest.approx(0.05)
    # Never asked again (Docker said healthy first): its past due time times no wait, which
    # would otherwise end at once, in a loop.
    now[0] = 101.0
    assert checks.until_due() is None


def test_a_long_interval_is_checked_once_a_second() -> None:
    from stackctl.stack.health import OwnChecks

    now = [0.0]
    api = CheckedApi(exit_code=1)
    checks = OwnChecks(api, clock=lambda: now[0])
    for moment in (0.0, 0.5, 1.5, 2.5):
        now[0] = moment
        checks.passed("c1", ["true"], period=300.0)
        for thread in list(checks._running.values()):
            thread.join(5)
    assert len(api.commands) == 3


def test_a_change_wakes_a_wait_at_once() -> None:
    import threading

    from stackctl.stack.health import Changes

    changes = Changes()
    seen = changes.seen()
    returned = threading.Event()

    def wait() -> None:
        changes.wait(seen, timeout=30)
        returned.set()

    waiter_thread = threading.Thread(target=wait, daemon=True)
    waiter_thread.start()
    assert not returned.wait(0.2)  # nothing changed: still waiting
    changes.poke()
    assert returned.wait(10)  # woken, long before its 30 s
    assert changes.seen() == seen + 1


class EventStream:
    """docker-py's event stream: yields what is put in, ends when closed."""

    def __init__(self) -> None:
        import queue

        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.closed = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        while (event := self.events.get()) is not None:
            yield event

    def close(self) -> None:
        self.closed = True
        self.events.put(None)


class EventsApi:
    def __init__(self, stream: EventStream | None) -> None:
        self.stream = stream
        self.filters: dict[str, Any] = {}

    def events(self, *, filters: dict[str, Any], decode: bool) -> EventStream:
        from docker.errors import DockerException

        self.filters = filters
        if self.stream is None:
            raise DockerException("no events here")
        return self.stream


def test_watching_counts_the_project_s_events_and_closes_the_stream() -> None:
    from stackctl.stack.health import Changes

    changes, stream = Changes(), EventStream()
    api = EventsApi(stream)
    with changes.watching(api, "shop"):
        seen = changes.seen()
        stream.events.put({"status": "health_status: healthy"})
        changes.wait(seen, timeout=10)  # the follower's poke ends it
        assert changes.seen() == seen + 1
    assert stream.closed
    assert api.filters == {"type": "container", "label": f"{labels.PROJECT}=shop"}


def test_without_an_event_stream_the_block_runs_and_waits_poll() -> None:
    from stackctl.stack.health import Changes

    changes = Changes()
    with changes.watching(EventsApi(None), "shop"):
        ran = True
    assert ran
    assert changes.seen() == 0
