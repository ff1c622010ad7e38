"""Login throttling: exponential back-off per client address and per account, in Redis.

After LOGIN_FREE_FAILURES wrong passwords, each further one doubles the wait (1 s, 2 s, 4 s ...,
at most LOGIN_MAX_BACKOFF_SECONDS) before that address or account may try again; a right
password clears both. Without Redis, logins are not throttled (fail open) and a log line says so.
Password checks themselves are bounded per process, so hashing never takes every thread.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import redis

from gallery.clients import Clients

log = logging.getLogger(__name__)
T = TypeVar("T")
# Attempts are forgotten this long after the last failure.
FORGET_SECONDS = 24 * 3600


class LoginThrottled(Exception):
    """Too many failures (or password checks) right now; `retry_after` in whole seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass
class LoginThrottle:
    found: Clients
    address: str
    username: str

    def keys(self) -> list[str]:
        # The account name is hashed: arbitrary user input never becomes a raw Redis key.
        account = hashlib.sha256(self.username.encode()).hexdigest()[:32]
        prefix = f"{self.found.namespace}login-failures:"
        return [f"{prefix}address:{self.address}", f"{prefix}account:{account}"]

    def check(self) -> None:
        """Raise LoginThrottled while the address or the account is backing off."""
        no_waits: list[float] = []
        waits = self._redis(self._waits, no_waits)
        longest = max(waits, default=0.0)
        if longest > 0:
            raise LoginThrottled(math.ceil(longest))

    def _waits(self) -> list[float]:
        now = time.time()
        pipe = self.found.redis.pipeline()
        for key in self.keys():
            pipe.hget(key, "until")
        return [float(until) - now for until in pipe.execute() if until is not None]

    def failed(self) -> None:
        self._redis(self._count_failure, None)

    def _count_failure(self) -> None:
        settings = self.found.settings
        now = time.time()
        for key in self.keys():
            count = int(self.found.redis.hincrby(key, "count", 1))
            over = count - settings.LOGIN_FREE_FAILURES
            if over > 0:
                wait = min(2 ** (over - 1), settings.LOGIN_MAX_BACKOFF_SECONDS)
                self.found.redis.hset(key, "until", now + wait)
            self.found.redis.expire(key, FORGET_SECONDS)

    def succeeded(self) -> None:
        self._redis(lambda: bool(self.found.redis.delete(*self.keys())), False)

    def _redis(self, call: Callable[[], T], fallback: T) -> T:
        if self.found.redis_outage.active():
            log.warning("login throttling off: redis failed moments ago")
            return fallback
        try:
            return call()
        except redis.RedisError as exc:
            self.found.redis_outage.record()
            log.warning("login throttling off: redis unavailable (%s)", type(exc).__name__)
            return fallback


class PasswordChecks:
    """At most `limit` password hashes at once in this process; others wait briefly, then get
    a 429 rather than queue up behind an attacker's attempts."""

    def __init__(self, limit: int, wait_seconds: float = 2.0) -> None:
        self.slots = threading.BoundedSemaphore(limit)
        self.wait_seconds = wait_seconds

    def __enter__(self) -> None:
        if not self.slots.acquire(timeout=self.wait_seconds):
            raise LoginThrottled(1)

    def __exit__(self, *exc: object) -> None:
        self.slots.release()
