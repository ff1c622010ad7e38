"""`deploy.logs` without an engine: which service is meant, which hosts, the options read, lines
merged in time order across hosts, --grep, the host and container prefix, and a source that
breaks off failing the command instead of ending it quietly."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from stackctl.deploy.appdef import AppDefinition, load_for_deploy
from stackctl.deploy.errors import LogsLost
from stackctl.deploy.logstream import LogSource, following, read, snapshot, split_lines
from stackctl.deploy.logview import (
    DEFAULT_TAIL,
    LogLine,
    Subject,
    chosen_hosts,
    grep_pattern,
    log_request,
    only_hosts,
    parse_line,
    parse_service_line,
    prefixed,
    since_epoch,
    sortable_time,
    subject_of,
)
from stackctl.deploy.settings import DeploySettings, load_deploy_settings
from stackctl.deploy.swarm.logs import service_line
from stackctl.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]
NOW = 1_800_000_000.0


def settings(hosts: str = "10.0.0.1,root@10.0.0.2:2222") -> DeploySettings:
    return load_deploy_settings(ROOT, environ={"DEPLOY_HOSTS": hosts})


def app() -> AppDefinition:
    found = settings()
    return load_for_deploy(ROOT, found.hosts, None, environ={})[1]


def source(host: str, container: str, *raw: str, broken: bool = False) -> LogSource:
    def chunks() -> Iterator[bytes]:
        for line in raw:
            yield line.encode() + b"\n"
        if broken:
            raise ConnectionResetError("the channel closed")

    return LogSource(
        host=host,
        what=container,
        chunks=chunks,
        line=lambda text: parse_line(text, host=host, container=container),
    )


def test_a_role_an_accessory_and_the_proxy_are_named_as_in_x_deploy() -> None:
    assert subject_of(app(), "web") == Subject("role", "web")
    assert subject_of(app(), "redis") == Subject("accessory", "redis")
    assert subject_of(app(), "proxy") == Subject("proxy", "nginx")
    assert subject_of(app(), "nginx") == Subject("proxy", "nginx")


def test_an_unknown_name_is_one_line_listing_what_there_is() -> None:
    with pytest.raises(UsageError, match=r"'wbe' is no role.*use one of web, worker, redis, proxy"):
        subject_of(app(), "wbe")


def test_host_picks_deploy_hosts_entries_by_entry_address_or_bare_name() -> None:
    found = settings()
    assert chosen_hosts(found, []) == ()
    assert chosen_hosts(found, ["10.0.0.2"]) == ("root@10.0.0.2:2222",)
    assert chosen_hosts(found, ["10.0.0.1:22", "root@10.0.0.2:2222"]) == found.hosts
    assert only_hosts(found, ("10.0.0.1",)).hosts == ("10.0.0.1",)


def test_an_unknown_host_is_one_line_naming_deploy_hosts() -> None:
    with pytest.raises(UsageError, match=r"--host '10.9.9.9' is not one of DEPLOY_HOSTS"):
        chosen_hosts(settings(), ["10.9.9.9"])


def test_since_takes_a_duration_an_iso_time_or_unix_seconds() -> None:
    assert since_epoch("10m", NOW) == NOW - 600
    assert since_epoch("2h", NOW) == NOW - 7200
    assert since_epoch("1700000000", NOW) == 1_700_000_000
    assert since_epoch("2023-11-14T22:13:20Z", NOW) == 1_700_000_000
    assert since_epoch("2023-11-14T22:13:20", NOW) == 1_700_000_000
    assert since_epoch(None, NOW) is None


def test_a_since_that_is_no_time_is_one_line() -> None:
    with pytest.raises(UsageError, match=r"--since 'yesterday': give a duration"):
        since_epoch("yesterday", NOW)


def test_a_grep_that_is_no_regular_expression_is_one_line() -> None:
    with pytest.raises(UsageError, match=r"--grep '\(' is not a regular expression"):
        grep_pattern("(")


def test_tail_defaults_to_a_hundred_lines_but_searching_reads_everything() -> None:
    plain = log_request(app(), settings(), "web", now=NOW)
    assert plain.tail == DEFAULT_TAIL
    assert log_request(app(), settings(), "web", grep="abc", now=NOW).tail is None
    assert log_request(app(), settings(), "web", since="1h", now=NOW).tail is None
    assert log_request(app(), settings(), "web", tail=5, grep="abc", now=NOW).tail == 5


def test_engine_times_sort_as_times_even_when_trailing_zeros_were_dropped() -> None:
    assert sortable_time("2026-12-06T21:00:00.1Z") > sortable_time("2026-12-06T21:00:00.09Z")
    assert sortable_time("2026-12-06T21:00:00Z") == "2026-12-06T21:00:00.000000000"
    assert sortable_time("not a time") == ""


def test_a_timestamped_line_keeps_its_text_and_a_line_without_time_is_kept_whole() -> None:
    line = parse_line("2026-12-06T21:00:00.123456789Z GET / 200", host="h", container="c")
    assert line == LogLine("2026-12-06T21:00:00.123456789", "h", "c", "GET / 200")
    assert parse_line("no time here", host="h", container="c").text == "no time here"


def test_lines_of_many_hosts_and_containers_are_merged_in_time_order() -> None:
    lines = snapshot(
        [
            source("a:22", "app-web-v1", "2026-12-06T21:00:01Z a1", "2026-12-06T21:00:03Z a3"),
            source("b:22", "app-web-v1", "2026-12-06T21:00:02Z b2", "2026-12-06T21:00:04Z b4"),
        ]
    )
    assert [prefixed(line) for line in lines] == [
        "a:22 app-web-v1 | a1",
        "b:22 app-web-v1 | b2",
        "a:22 app-web-v1 | a3",
        "b:22 app-web-v1 | b4",
    ]


def test_grep_keeps_the_lines_whose_text_matches_on_whichever_host() -> None:
    rid = "3f2a9c0d1e4b5a6978877665544332211"
    found = read(
        [
            source("a:22", "proxy", "2026-12-06T21:00:01Z GET / 200 rid=0000"),
            source("b:22", "proxy", f"2026-12-06T21:00:02Z POST /api/images 201 rid={rid}"),
            source("b:22", "web", f"2026-12-06T21:00:03Z Traceback request_id={rid}"),
        ],
        follow=False,
        grep=grep_pattern(rid),
    )
    assert [(line.host, line.container) for line in found] == [("b:22", "proxy"), ("b:22", "web")]


def test_lines_split_across_chunks_come_out_whole() -> None:
    assert list(split_lines([b"first li", b"ne\nsecond\r\nthi", b"rd"])) == [
        "first line",
        "second",
        "third",
    ]


def test_a_host_that_breaks_off_fails_the_snapshot_with_one_line() -> None:
    with pytest.raises(LogsLost, match=r"^host b:22: the connection broke off while reading web"):
        snapshot([source("a:22", "web", "x"), source("b:22", "web", "y", broken=True)])


def test_a_followed_stream_whose_host_stopped_answering_fails_with_one_line() -> None:
    quiet_end = LogSource(
        host="b:22",
        what="web",
        chunks=lambda: iter([b"2026-12-06T21:00:00Z last words\n"]),
        line=lambda text: parse_line(text, host="b:22", container="web"),
        connected=lambda: False,
    )
    lines = following([quiet_end])
    assert next(lines).text == "last words"
    with pytest.raises(LogsLost, match=r"^host b:22: the connection was lost while following"):
        next(lines)


def test_following_interleaves_hosts_as_their_lines_come() -> None:
    first_shown = threading.Event()

    def late() -> Iterator[bytes]:
        first_shown.wait(10)
        yield b"2026-12-06T21:00:00Z later\n"

    sources = [
        source("a:22", "web", "2026-12-06T21:00:09Z early"),
        LogSource("b:22", "web", late, lambda text: parse_line(text, host="b:22", container="web")),
    ]
    shown = []
    for line in following(sources):
        shown.append(line.text)
        first_shown.set()
    assert shown == ["early", "later"]


def test_a_swarm_service_line_names_its_node_s_host_and_its_task() -> None:
    raw = (
        "2026-12-06T21:00:00.5Z com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,"
        "com.docker.swarm.task.id=t1 GET /main/ 200"
    )
    assert parse_service_line(raw)[2] == "GET /main/ 200"
    line = service_line(raw, hosts={"n1": "a:22"}, tasks={"t1": "app_web.1"}, keep=None)
    assert line == LogLine("2026-12-06T21:00:00.500000000", "a:22", "app_web.1", "GET /main/ 200")
    assert service_line(raw, hosts={}, tasks={}, keep=frozenset({"n2"})) is None
