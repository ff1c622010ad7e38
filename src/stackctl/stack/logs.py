"""`invoke logs`: containers' log lines, each prefixed with its service."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from queue import Empty, Queue
from typing import Any

from stackctl.errors import StackError


def tail_lines(tail: int | str | None) -> int | None:
    """`--tail` as a number of lines (None: all). Invoke hands options over as text, and docker-py
    turns anything but an int into "all", so a wrong type would show every line silently."""
    if tail is None or isinstance(tail, int):
        return tail
    if not tail.strip().isdigit():
        raise StackError(f"--tail {tail!r}: expected a number of lines, e.g. --tail 50")
    return int(tail)


def log_lines(
    api: Any,
    sources: Sequence[tuple[str, str]],
    *,
    follow: bool = False,
    tail: int | None = None,
) -> Iterator[str]:
    """Lines of each (service, container id), prefixed with the service; interleaved as they come
    when following, else each service's lines together, in order."""
    width = max((len(name) for name, _ in sources), default=0)

    def read(service: str, container_id: str) -> Iterator[str]:
        buffer = b""
        prefix = f"{service.ljust(width)} | "
        for chunk in api.logs(
            container_id, stream=True, follow=follow, tail=tail if tail is not None else "all"
        ):
            buffer += chunk
            *complete, buffer = buffer.split(b"\n")
            for line in complete:
                yield prefix + line.decode("utf-8", "replace")
        if buffer:
            yield prefix + buffer.decode("utf-8", "replace")

    if not follow:
        for source in sources:
            yield from read(*source)
        return

    lines: Queue[str | None] = Queue()

    def pump(service: str, container_id: str) -> None:
        try:
            for line in read(service, container_id):
                lines.put(line)
        finally:
            lines.put(None)

    for source in sources:
        threading.Thread(target=pump, args=source, daemon=True).start()
    finished = 0
    while finished < len(sources):
        try:
            # A timeout keeps Ctrl-C responsive while every service is quiet.
            line = lines.get(timeout=0.5)
        except Empty:
            continue
        if line is None:
            finished += 1
        else:
            yield line
