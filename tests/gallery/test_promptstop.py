"""The worker's prompt stop: its loop woken by the signal, its waiting BRPOP ended."""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
import redis

from gallery.promptstop import unblock_brpops
from support.gallery import wait_for
from support.loopback import closed_port_url

if TYPE_CHECKING:
    from support.workers import CeleryWorker


def waiting_brpop(url: str, client_name: str) -> bool:
    with redis.Redis.from_url(url) as client:
        return any(
            entry.get("name") == client_name
            and entry.get("cmd") == "brpop"
            and "b" in entry.get("flags", "")  # blocked in it now
            for entry in client.client_list(_type="normal")
        )


@pytest.mark.parametrize("stop_signal", [signal.SIGQUIT, signal.SIGTERM])
def test_worker_ends_its_waiting_brpop_when_stopped(
    celery_worker_process: CeleryWorker, redis_url: str, stop_signal: signal.Signals
) -> None:
    process = celery_worker_process.process
    name = f"gallery-worker-{socket.gethostname()}-{process.pid}"
    wait_for(lambda: waiting_brpop(redis_url, name), what="the worker's BRPOP")
    process.send_signal(stop_signal)
    assert process.wait(timeout=30) == 0
    log = celery_worker_process.log_path.read_text(errors="replace")
    assert "prompt stop: ended this worker's waiting BRPOP (1)" in log


@pytest.fixture
def blocked() -> Iterator[list[threading.Thread]]:
    threads: list[threading.Thread] = []
    yield threads
    for thread in threads:
        thread.join(timeout=35)


def block_in_brpop(url: str, name: str, threads: list[threading.Thread]) -> threading.Thread:
    def brpop() -> None:
        with redis.Redis.from_url(url, client_name=name) as client:
            client.brpop([f"promptstop-test-{name}"], timeout=30)

    thread = threading.Thread(target=brpop, daemon=True)
    thread.start()
    threads.append(thread)
    wait_for(lambda: waiting_brpop(url, name), what=f"{name}'s BRPOP")
    return thread


def test_unblock_ends_the_named_connections_brpop_only(
    redis_url: str, blocked: list[threading.Thread]
) -> None:
    mine = block_in_brpop(redis_url, f"mine-{os.getpid()}", blocked)
    other = block_in_brpop(redis_url, f"other-{os.getpid()}", blocked)
    assert unblock_brpops(redis_url, f"mine-{os.getpid()}") == 1
    mine.join(timeout=10)  # its BRPOP waits 30 s unless ended
    assert not mine.is_alive()
    assert other.is_alive()
    assert unblock_brpops(redis_url, f"other-{os.getpid()}") == 1


def test_unblock_without_redis_is_a_quiet_no() -> None:
    assert unblock_brpops(closed_port_url("redis"), "anyone") == 0
