"""`invoke deploy.logs`, the pure part: what a user asked for (a role, an accessory or the proxy;
hosts; --since, --tail, --grep), the engine's timestamped lines parsed, merged in time order
across hosts and containers, filtered and prefixed with host and container. No engine here: the
targets read the lines (`deploy/ssh/logs.py`, `deploy/swarm/logs.py`), `deploy/logstream.py`
streams them."""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import unquote

from stackctl.deploy.appdef import AppDefinition
from stackctl.deploy.settings import DeploySettings
from stackctl.errors import UsageError

DEFAULT_TAIL = 100
"""Lines per container when neither --tail, --since nor --grep is given (Kamal's default)."""

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$")
# What Swarm's service logs put between the timestamp and the message (details=true).
NODE_ID = "com.docker.swarm.node.id"
TASK_ID = "com.docker.swarm.task.id"


@dataclass(frozen=True)
class Subject:
    """What the logs are of: `kind` role, accessory or proxy; `service` its compose service."""

    kind: str
    service: str


@dataclass(frozen=True)
class LogRequest:
    subject: Subject
    hosts: tuple[str, ...] = ()
    """DEPLOY_HOSTS entries to read (empty: all)."""
    since: int | None = None
    """Unix seconds."""
    tail: int | None = None
    """Lines per container, None: all."""
    follow: bool = False
    grep: re.Pattern[str] | None = None


@dataclass(frozen=True)
class LogLine:
    at: str
    """Sortable UTC time, nanoseconds fixed-width ("" when the engine gave none)."""
    host: str
    container: str
    text: str


def subject_of(app: AppDefinition, name: str) -> Subject:
    """A role, an accessory, or the proxy (by `proxy` or its service's name); else one line."""
    if any(r.service == name for r in app.roles):
        return Subject("role", name)
    if any(a.service == name for a in app.accessories):
        return Subject("accessory", name)
    if app.proxy is not None and name in ("proxy", app.proxy):
        return Subject("proxy", app.proxy)
    known = [r.service for r in app.roles] + [a.service for a in app.accessories]
    known += ["proxy"] if app.proxy else []
    raise UsageError(
        f"deploy.logs: {name!r} is no role, accessory or proxy of {app.shown_as}'s x-deploy"
        f" (use one of {', '.join(known)})"
    )


def chosen_hosts(settings: DeploySettings, given: Sequence[str]) -> tuple[str, ...]:
    """The DEPLOY_HOSTS entries --host names (as written there, `host:port`, or the bare host
    name when only one entry has it); empty when none is given (all hosts)."""
    picked: list[str] = []
    for wanted in given:
        matches = [
            entry
            for entry, address in zip(settings.hosts, settings.addresses, strict=True)
            if wanted in (entry, address.name, f"{address.user}@{address.name}", address.host)
        ]
        if len(matches) != 1:
            why = "is not one of" if not matches else "names more than one of"
            raise UsageError(
                f"--host {wanted!r} {why} DEPLOY_HOSTS ({', '.join(settings.hosts)}):"
                " give it as listed there"
            )
        picked += [m for m in matches if m not in picked]
    return tuple(picked)


def only_hosts(settings: DeploySettings, entries: Sequence[str]) -> DeploySettings:
    """The settings with DEPLOY_HOSTS narrowed to `entries` (all when empty)."""
    return settings.model_copy(update={"hosts": tuple(entries)}) if entries else settings


def log_request(
    app: AppDefinition,
    settings: DeploySettings,
    name: str,
    *,
    hosts: Sequence[str] = (),
    since: str | None = None,
    tail: int | None = None,
    follow: bool = False,
    grep: str | None = None,
    now: float,
) -> LogRequest:
    """The command's options checked and read, each bad one a one-line UsageError."""
    subject = subject_of(app, name)
    entries = chosen_hosts(settings, hosts)
    after = since_epoch(since, now)
    pattern = grep_pattern(grep)
    return LogRequest(subject, entries, after, tail_of(tail, after, pattern), follow, pattern)


def since_epoch(text: str | None, now: float) -> int | None:
    """--since as unix seconds: a duration back from now (`30s`, `10m`, `2h`, `1d`), an ISO time
    (`2026-12-06T21:00:00Z`, UTC when no zone is given) or unix seconds."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    duration = _DURATION.match(text)
    if duration:
        return int(now) - int(duration[1]) * _UNITS[duration[2]]
    if text.isdigit():
        return int(text)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--since {text!r}: give a duration (30s, 10m, 2h, 1d), an ISO time"
            " (2026-12-06T21:00:00Z) or unix seconds"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return int(when.timestamp())


def grep_pattern(text: str | None) -> re.Pattern[str] | None:
    if text is None or text == "":
        return None
    try:
        return re.compile(text)
    except re.error as exc:
        raise UsageError(f"--grep {text!r} is not a regular expression: {exc}") from None


def tail_of(tail: int | None, since: int | None, grep: re.Pattern[str] | None) -> int | None:
    """Lines per container: --tail, else all when searching (--since, --grep), else 100."""
    if tail is not None:
        if tail < 0:
            raise UsageError(f"--tail {tail}: give a number of lines, 0 or more")
        return tail
    return None if since is not None or grep is not None else DEFAULT_TAIL


def sortable_time(stamp: str) -> str:
    """The engine's RFC 3339 time with the fraction padded to nine digits (the engine drops
    trailing zeros in some paths, and `.1Z` would sort after `.12Z` as text); "" when it is none."""
    found = _STAMP.match(stamp)
    if not found:
        return ""
    return f"{found[1]}.{(found[2] or '').ljust(9, '0')}"


def parse_line(raw: str, host: str, container: str) -> LogLine:
    """A line the engine gave with `timestamps=True`: `<time> <text>`."""
    stamp, _, text = raw.partition(" ")
    at = sortable_time(stamp)
    return LogLine(at, host, container, text if at else raw)


def parse_service_line(raw: str) -> tuple[str, dict[str, str], str]:
    """A Swarm service log line (timestamps and details on): its time, its details (node and
    task ids, URL-escaped as `k=v,k=v`) and its text."""
    stamp, _, rest = raw.partition(" ")
    details_text, _, text = rest.partition(" ")
    details = {}
    for pair in details_text.split(","):
        key, sep, value = pair.partition("=")
        if not sep:
            return sortable_time(stamp), {}, rest
        details[unquote(key)] = unquote(value)
    return sortable_time(stamp), details, text


def in_time_order(streams: Iterable[Iterable[LogLine]]) -> Iterator[LogLine]:
    """Lines of many containers merged by time (each container's own lines are in order)."""
    return heapq.merge(*streams, key=lambda line: line.at)


def wanted(lines: Iterable[LogLine], grep: re.Pattern[str] | None) -> Iterator[LogLine]:
    """The lines whose text matches --grep (every line without it)."""
    for line in lines:
        if grep is None or grep.search(line.text):
            yield line


def prefixed(line: LogLine) -> str:
    """`host container | text`: which host and container said it, on every line (a grep over
    the output keeps the prefix)."""
    return f"{line.host} {line.container} | {line.text}"
