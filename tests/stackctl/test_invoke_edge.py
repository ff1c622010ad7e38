"""Real command lines through Invoke's own parser into tasks.py, with the engine side recorded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from invoke import Program

from stackctl.stack.health import logs_hint
from support.tasks_module import load_tasks

ROOT = Path(__file__).resolve().parents[2]


tasks = load_tasks()


class RecordingStack:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def logs(self, services: list[str], *, follow: bool, tail: int | None) -> Iterator[str]:
        self.calls.append({"services": services, "follow": follow, "tail": tail})
        return iter(["web | a line"])


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> RecordingStack:
    recording = RecordingStack()
    monkeypatch.setattr(tasks, "open_stack", lambda c, mode=None: recording)
    return recording


def invoke(command_line: str) -> None:
    Program(namespace=tasks.ns).run(command_line.split(), exit=False)


def test_logs_tail_arrives_as_a_number(stack: RecordingStack) -> None:
    invoke("invoke logs --tail 50")
    assert stack.calls == [{"services": [], "follow": False, "tail": 50}]


def test_logs_without_tail_shows_everything(stack: RecordingStack) -> None:
    invoke("invoke logs --service web")
    assert stack.calls == [{"services": ["web"], "follow": False, "tail": None}]


def test_logs_tail_that_is_no_number_is_one_line_and_no_call(
    stack: RecordingStack, capsys: pytest.CaptureFixture[str]
) -> None:
    invoke("invoke logs --tail lots")
    assert stack.calls == []
    assert capsys.readouterr().err.strip() == (
        "error: --tail 'lots': expected a number of lines, e.g. --tail 50"
    )


def test_the_unhealthy_service_hint_is_a_command_invoke_accepts(
    stack: RecordingStack, capsys: pytest.CaptureFixture[str]
) -> None:
    invoke(logs_hint("web"))
    assert capsys.readouterr().err == ""
    assert stack.calls == [{"services": ["web"], "follow": False, "tail": 50}]


def test_deploy_settings_refuse_a_malformed_dotenv_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".env").write_text("DEPLOY_HOSTS=10.0.0.5\nnot valid\n")
    monkeypatch.setattr(tasks, "PROJECT_DIR", tmp_path)
    invoke("invoke deploy.lock")
    assert capsys.readouterr().err.strip() == (
        'error: .env: line 2: cannot parse "not valid": expected KEY=VALUE'
    )
