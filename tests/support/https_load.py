"""A bounded HTTPS load with keep-alive, as a browser sends it, for a renewal under load: the
local stack's (tests/stackctl/test_https_engine.py) and the deployed hosts'."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests

# At least this many requests, this many of them once the renewed certificate is served, at most
# LOAD_CEILING, for at most LOAD_SECONDS.
LOAD_REQUESTS = 2000
LOAD_AFTER_RENEWAL = 500
LOAD_CEILING = 10_000
LOAD_SECONDS = 180


@dataclass
class HttpsLoad:
    """A bounded HTTPS load: stops at its count, or when `done` says so, or at its time limit."""

    root: Path
    url: str
    expected: str
    """the body every answer must have"""
    sent: int = 0
    failures: list[str] = field(default_factory=list)
    resent: int = 0
    after_renewal: int = 0
    renewed: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def enough(self) -> bool:
        return self.sent >= LOAD_CEILING or (
            self.sent >= LOAD_REQUESTS
            and self.renewed.is_set()
            and self.after_renewal >= LOAD_AFTER_RENEWAL
        )

    def worker(self, deadline: float) -> None:
        with requests.Session() as session:  # keep-alive, as a browser
            while time.monotonic() < deadline:
                with self.lock:
                    if self.enough():
                        return
                    self.sent += 1
                    if self.renewed.is_set():
                        self.after_renewal += 1
                self.get(session)

    def get(self, session: requests.Session) -> None:
        """One GET, sent again once if a kept-alive connection closed before any answer.

        nginx's graceful reload closes its old workers' idle kept-alive connections; a request
        sent on one at that moment gets no answer. HTTP/1.1 lets a client send an idempotent
        request again then (RFC 9112, 9.3.1) and browsers do (HTTP/2 clients get a GOAWAY
        instead): so does this client, once, and counts it. Anything else is a failure.
        """
        for attempt in (1, 2):
            try:
                response = session.get(self.url, verify=str(self.root), timeout=10)
            except requests.ConnectionError as exc:
                if attempt == 1 and "RemoteDisconnected" in repr(exc):
                    with self.lock:
                        self.resent += 1
                    continue
                self.failures.append(repr(exc))
                return
            except requests.RequestException as exc:
                self.failures.append(repr(exc))
                return
            if response.status_code != 200 or response.text != self.expected:
                self.failures.append(f"{response.status_code} {response.text[:80]!r}")
            return


def under_load(
    loads: list[HttpsLoad],
    action: Callable[[], object],
    changed: Callable[[], bool],
    what: str,
    *,
    workers_each: int = 2,
    within: float = 30,
) -> None:
    """`action` (a renewal, a deploy) once every load runs; then until `changed()` says the new
    certificate is served (`what` names it; `within` seconds), after which each load sends its last
    LOAD_AFTER_RENEWAL requests and ends. Every wait is bounded."""
    from support.acme_hosts import wait_until

    deadline = time.monotonic() + LOAD_SECONDS
    with ThreadPoolExecutor(workers_each * len(loads)) as pool:
        workers = [
            pool.submit(load.worker, deadline) for load in loads for _ in range(workers_each)
        ]
        wait_until(lambda: all(load.sent >= 100 for load in loads), 60, "the load to start")
        action()
        wait_until(changed, within, what)
        for load in loads:
            load.renewed.set()
        for worker in workers:
            worker.result()


def none_failed(loads: list[HttpsLoad], where: list[str]) -> str:
    """Asserts that no load failed a request and each sent enough; the summary line."""
    for place, load in zip(where, loads, strict=True):
        assert load.failures == [], f"{place}: {load.resent} sent again of {load.sent}"
        assert load.sent >= LOAD_REQUESTS, place
        assert load.after_renewal >= LOAD_AFTER_RENEWAL, place
    return ", ".join(
        f"{load.sent} requests, {load.after_renewal} after it, {load.resent} sent again"
        for load in loads
    )
