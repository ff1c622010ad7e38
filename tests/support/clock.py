"""A monotonic clock that moves only when the code under test sleeps on it: waits and rates are
tested by what they do, not by how long they took."""

from __future__ import annotations


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
