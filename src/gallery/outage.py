"""Fail fast while a dependency is known to be down.

A hung Redis costs each call its full timeout. A request that makes several Redis calls (publish
a job, update the index, check the session) would add them up past its budget, so after one
failure this process skips Redis for a short while and takes the fallback at once.
"""

from __future__ import annotations

import threading
import time


class Outage:
    def __init__(self, name: str, hold_seconds: float = 5.0) -> None:
        self.name = name
        self.hold_seconds = hold_seconds
        self._until = 0.0
        self._lock = threading.Lock()

    def active(self) -> bool:
        return time.monotonic() < self._until

    def record(self) -> None:
        with self._lock:
            self._until = time.monotonic() + self.hold_seconds

    def clear(self) -> None:
        with self._lock:
            self._until = 0.0
