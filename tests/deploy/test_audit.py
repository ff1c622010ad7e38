"""The audit log's entries without an engine: one JSON line each, shown one line each, trimmed to
the last entries, the result of the action they record; a log that cannot be written is said,
never in the way of the action's own result."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from stackctl.deploy.audit import (
    AuditEntry,
    appended,
    entries,
    recorded,
    result_of,
    shown,
)
from stackctl.deploy.errors import DeployFailed

AT = 1_800_000_000.0  # 2027-01-15 08:00:00Z


def entry(**changes: Any) -> AuditEntry:
    values: dict[str, Any] = {
        "at": AT,
        "who": "alice@laptop",
        "command": "deploy",
        "version": "3f2a1b0",
        "result": "ok",
    }
    return AuditEntry(**{**values, **changes})


def test_an_entry_is_one_line_and_reads_back_the_same_even_with_a_newline_in_its_message() -> None:
    written = entry(message='fix "upload"\nand thumbnails')
    line = written.to_line()
    assert "\n" not in line
    assert AuditEntry.from_line(line) == written


def test_an_entry_is_shown_with_when_who_what_version_and_result() -> None:
    assert entry(message="hotfix").describe() == (
        "2027-01-15 08:00:00Z  alice@laptop  deploy  3f2a1b0  ok  (hotfix)"
    )
    assert entry(version="").describe().endswith("deploy  -  ok")


def test_a_line_that_is_no_entry_is_skipped_not_fatal() -> None:
    text = appended("not json\n", entry())
    assert entries(text) == [entry()]


def test_the_log_keeps_its_last_entries() -> None:
    text = ""
    for number in range(5):
        text = appended(text, entry(version=f"v{number}"), keep=3)
    assert [e.version for e in entries(text)] == ["v2", "v3", "v4"]


def test_the_result_is_ok_or_the_error_s_first_line() -> None:
    assert result_of(None) == "ok"
    assert result_of(DeployFailed("host a:22: no release v9 is kept\nmore")) == (
        "failed: host a:22: no release v9 is kept"
    )
    assert result_of(KeyboardInterrupt()) == "interrupted"


def test_a_host_s_entries_are_shown_under_its_name_the_last_ones_only() -> None:
    found = [entry(version="v1"), entry(version="v2")]
    assert shown("a:22", found, 1) == ["a:22:", f"  {entry(version='v2').describe()}"]
    assert shown("a:22", [], None) == ["a:22:", "  (nothing recorded)"]


class UnreachableApi:
    def __getattr__(self, name: str) -> Any:
        raise ConnectionError("the SSH channel closed")


def test_a_failed_action_stays_failed_when_its_audit_line_cannot_be_written() -> None:
    said: list[str] = []
    client: Any = SimpleNamespace(api=UnreachableApi())
    with (
        pytest.raises(DeployFailed, match="cutover failed"),
        recorded(
            client, "app", "a:22", said.append, who="alice@laptop", command="deploy", version="v2"
        ),
    ):
        raise DeployFailed("cutover failed")
    assert said == ["a:22: the audit log was not written (the SSH channel closed)"]


def test_an_action_that_ended_without_an_error_may_say_it_failed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A command that exited non-zero raised nothing: its result is its exit status."""
    import stackctl.deploy.audit as audit
    from stackctl.deploy.ssh.oneoff import exited

    written: list[AuditEntry] = []
    monkeypatch.setattr(audit, "append", lambda client, app, found: written.append(found))
    client: Any = SimpleNamespace()
    for code in (3, 0):
        with recorded(
            client, "app", "a:22", print, who="alice@laptop", command="exec", version="v2"
        ) as note:
            note.result = exited(code)
    assert [e.result for e in written] == ["failed: exited with code 3", "ok"]
