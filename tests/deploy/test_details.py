"""`invoke deploy.details`, the parts read without an engine: a container's row from its
inspection, how long it has been up, the order and the screen."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from stackctl.deploy import labels
from stackctl.deploy.details import DetailRow, ordered, started_seconds, table, uptime
from stackctl.deploy.ssh.details import row_of
from stackctl.engine.models import Container

STARTED = "2026-12-06T21:00:00.123456789Z"
STARTED_SECONDS = 1796590800.123456


def inspected(kind: str, role: str, **more_labels: str) -> Container:
    return Container(
        {
            "Id": "c0ffee",
            "Name": f"/deploytest-{role}",
            "Image": "sha256:0123456789abcdef0123",
            "State": {
                "Status": "running",
                "Running": True,
                "StartedAt": STARTED,
                "Health": {"Status": "healthy"},
            },
            "Config": {"Labels": {labels.KIND: kind, labels.ROLE: role, **more_labels}},
        }
    )


def test_the_engine_s_start_time_is_read_to_the_microsecond() -> None:
    assert started_seconds(STARTED) == pytest.approx(STARTED_SECONDS, abs=1e-6)
    assert started_seconds("") is None


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0s"), (45, "45s"), (192, "3m 12s"), (7500, "2h 5m"), (356400, "4d 3h"), (3600, "1h")],
)
def test_uptime_is_its_two_largest_units(seconds: int, shown: str) -> None:
    assert uptime(1000.0, 1000.0 + seconds, running=True) == shown


def test_a_stopped_container_has_no_uptime() -> None:
    assert uptime(1000.0, 2000.0, running=False) == "-"


def test_a_role_of_the_served_release_is_starred() -> None:
    found = inspected("role", "web", **{labels.RELEASE: "abc123"})

    row = row_of(found, "host-a", "abc123", now=STARTED_SECONDS + 75)

    assert row == DetailRow(
        "host-a", "role", "web", "deploytest-web", "abc123 *", "running", "healthy", "1m 15s"
    )
    assert row_of(found, "host-a", "def456", now=STARTED_SECONDS).version == "abc123"


def test_an_accessory_shows_the_image_it_runs() -> None:
    found = inspected("accessory", "redis", **{labels.IMAGE: "deploytest/redis:1f2e3d4c5b6a"})

    assert row_of(found, "host-a", None, now=STARTED_SECONDS).version == (
        "deploytest/redis:1f2e3d4c5b6a"
    )


def test_rows_go_host_by_host_then_roles_accessories_proxy_one_offs() -> None:
    def row(host: str, kind: str, service: str) -> DetailRow:
        return DetailRow(host, kind, service, f"{service}-c", "v", "running", "", "1s")

    rows = [
        row("b", "role", "web"),
        row("a", "proxy", "proxy"),
        row("a", "exec", "web"),
        row("a", "accessory", "redis"),
        row("a", "role", "worker"),
        row("a", "role", "web"),
    ]

    found = [(r.host, r.kind, r.service) for r in ordered(rows, ["a", "b"])]

    assert found == [
        ("a", "role", "web"),
        ("a", "role", "worker"),
        ("a", "accessory", "redis"),
        ("a", "proxy", "proxy"),
        ("a", "exec", "web"),
        ("b", "role", "web"),
    ]


def test_the_screen_names_each_host_once() -> None:
    rows = [
        DetailRow("a", "role", "web", "app-web-v1", "v1 *", "running", "healthy", "2m"),
        DetailRow("a", "role", "worker", "app-worker-v1", "v1 *", "running", "", "2m"),
    ]
    out = io.StringIO()
    Console(file=out, width=160, force_terminal=False).print(table(rows))

    lines = out.getvalue().splitlines()
    assert lines[0].split() == [
        "HOST", "KIND", "NAME", "CONTAINER", "VERSION", "STATE", "HEALTH", "UP"
    ]  # fmt: skip
    assert lines[1].split() == [
        "a", "role", "web", "app-web-v1", "v1", "*", "running", "healthy", "2m"
    ]  # fmt: skip
    assert lines[2].split() == [
        "role", "worker", "app-worker-v1", "v1", "*", "running", "-", "2m"
    ]  # fmt: skip


def test_an_unknown_host_is_one_line_before_any_host_is_contacted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from invoke import Program

    from support.tasks_module import load_tasks

    tasks = load_tasks()

    class NoHostReached:
        def details(self, *args: object) -> None:
            pytest.fail("deploy.details reached a host")

    monkeypatch.setenv("DEPLOY_HOSTS", "10.0.0.5,10.0.0.6")
    monkeypatch.setattr(tasks, "choose_target", lambda given: NoHostReached())
    with pytest.raises(SystemExit) as exited:
        Program(namespace=tasks.ns).run(["invoke", "deploy.details", "--host", "10.0.0.9"])

    assert exited.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "error: --host '10.0.0.9' is not one of DEPLOY_HOSTS (10.0.0.5, 10.0.0.6):"
        " give it as listed there"
    )
