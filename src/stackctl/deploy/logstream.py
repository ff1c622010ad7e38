"""Reading the logs `deploy.logs` shows, for both targets: each source's byte stream cut into
lines, then all sources merged in time order (a snapshot) or interleaved as they come
(--follow). A source that breaks off (a dropped SSH connection) fails the command with one line
instead of ending it quietly as if the logs were complete."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from queue import Empty, Queue

from stackctl.deploy.errors import LogsLost
from stackctl.deploy.logview import LogLine, in_time_order, wanted

_END = object()


@dataclass(frozen=True)
class LogSource:
    """One stream of log lines: a container on a host, or a Swarm service (whose lines name
    their own node and task)."""

    host: str
    """Where the stream is read: named in the error when it breaks off."""
    what: str
    chunks: Callable[[], Iterable[bytes]]
    """Opens the stream (following or not: the target decides when it builds the source)."""
    line: Callable[[str], LogLine | None]
    """A raw line as a LogLine (None: not one to show)."""
    connected: Callable[[], bool] = lambda: True
    """After a followed stream ended: whether the host still answers (False: it was lost)."""


def split_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """Whole lines from a stream whose chunks may end mid-line."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for line in complete:
            yield line.decode("utf-8", "replace").rstrip("\r")
    if buffer:
        yield buffer.decode("utf-8", "replace").rstrip("\r")


def _lines(source: LogSource) -> Iterator[LogLine]:
    try:
        for raw in split_lines(source.chunks()):
            line = source.line(raw)
            if line is not None:
                yield line
    except Exception as exc:  # the transport's own error types differ (paramiko, urllib3)
        raise LogsLost(
            f"host {source.host}: the connection broke off while reading {source.what}'s logs"
            f" ({type(exc).__name__}): check the host and run it again"
        ) from None


def snapshot(sources: Sequence[LogSource]) -> list[LogLine]:
    """Every source read to its end, merged in time order (a source is read whole before the
    merge: a host that breaks off fails the command before a line is shown). A Swarm service's
    lines come task by task, so each source is sorted first (stable: equal times keep order)."""
    each = [sorted(_lines(s), key=lambda line: line.at) for s in sources]
    return list(in_time_order(each))


def following(sources: Sequence[LogSource]) -> Iterator[LogLine]:
    """Lines of every source as they come (time order across hosts is arrival order), until
    every stream has ended; a stream that ended because its host stopped answering fails it."""
    queue: Queue[object] = Queue()

    def pump(source: LogSource) -> None:
        try:
            for line in _lines(source):
                queue.put(line)
            if not source.connected():
                raise LogsLost(
                    f"host {source.host}: the connection was lost while following"
                    f" {source.what}'s logs: check the host and run it again"
                )
            queue.put(_END)
        except LogsLost as exc:
            queue.put(exc)

    for source in sources:
        threading.Thread(target=pump, args=(source,), daemon=True).start()
    ended = 0
    while ended < len(sources):
        try:
            # A timeout keeps Ctrl-C responsive while every source is quiet.
            item = queue.get(timeout=0.5)
        except Empty:
            continue
        if item is _END:
            ended += 1
        elif isinstance(item, LogsLost):
            raise item
        else:
            assert isinstance(item, LogLine)
            yield item


def read(
    sources: Sequence[LogSource], *, follow: bool, grep: re.Pattern[str] | None = None
) -> Iterator[LogLine]:
    """The lines to show: a time-ordered snapshot, or followed; --grep applied."""
    lines: Iterable[LogLine] = following(sources) if follow else snapshot(sources)
    return wanted(lines, grep)
