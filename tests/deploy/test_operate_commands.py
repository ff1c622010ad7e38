"""`invoke deploy.logs`, `deploy.audit` and `deploy.metrics` command lines through Invoke's
parser: bad input is one line on stderr and a non-zero exit before any host is contacted."""

from __future__ import annotations

import pytest
from invoke import Program

from support.tasks_module import load_tasks

tasks = load_tasks()


def invoke(command_line: str) -> int:
    try:
        Program(namespace=tasks.ns).run(command_line.split())
    except SystemExit as exit:
        return int(exit.code or 0)
    return 0


@pytest.fixture(autouse=True)
def hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPLOY_HOSTS", "10.0.0.5,10.0.0.6")
    monkeypatch.delenv("DEPLOY_TARGET", raising=False)
    monkeypatch.setattr(tasks, "choose_target", lambda given: NoHostReached())


class NoHostReached:
    def logs(self, *args: object) -> None:
        pytest.fail("deploy.logs reached a host")

    def audit(self, *args: object) -> None:
        pytest.fail("deploy.audit reached a host")

    def metrics(self, *args: object) -> None:
        pytest.fail("deploy.metrics reached a host")


@pytest.mark.parametrize(
    ("command_line", "error"),
    [
        (
            "invoke deploy.logs wbe",
            "error: deploy.logs: 'wbe' is no role, accessory or proxy of compose.yaml's"
            " x-deploy (use one of web, worker, redis, proxy)",
        ),
        (
            "invoke deploy.logs web --host 10.0.0.9",
            "error: --host '10.0.0.9' is not one of DEPLOY_HOSTS (10.0.0.5, 10.0.0.6):"
            " give it as listed there",
        ),
        (
            "invoke deploy.logs web --since yesterday",
            "error: --since 'yesterday': give a duration (30s, 10m, 2h, 1d), an ISO time"
            " (2026-12-06T21:00:00Z) or unix seconds",
        ),
        (
            "invoke deploy.logs web --tail lots",
            "error: --tail 'lots': expected a number of lines, e.g. --tail 50",
        ),
        (
            "invoke deploy.metrics --host 10.0.0.9",
            "error: --host '10.0.0.9' is not one of DEPLOY_HOSTS (10.0.0.5, 10.0.0.6):"
            " give it as listed there",
        ),
        ("invoke deploy.metrics --seconds -1", "error: --seconds -1: give 0 or more seconds"),
        (
            "invoke deploy.audit --host 10.0.0.9",
            "error: --host '10.0.0.9' is not one of DEPLOY_HOSTS (10.0.0.5, 10.0.0.6):"
            " give it as listed there",
        ),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit_before_any_host(
    command_line: str, error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = invoke(command_line)
    assert code != 0
    assert capsys.readouterr().err.strip() == error
