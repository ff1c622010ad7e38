"""Reaching many hosts, one way for both targets: connect to every host side by side, then work
host by host in batches (hosts of a batch side by side), printing one whole line at a time."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

from stackctl.deploy import lock
from stackctl.deploy.plan import batches
from stackctl.deploy.settings import DeploySettings, HostAddress

if TYPE_CHECKING:
    import docker
    from rich.console import Console

Say = Callable[[str], None]
HostWork = Callable[["docker.DockerClient", HostAddress, Say], None]
_T = TypeVar("_T")
MAX_CONNECTING = 8


class Printer:
    """Prints whole lines from many threads (hosts of a batch, Swarm nodes, roles booting),
    as plain text: a host's output is never read as rich markup."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._lock = threading.Lock()

    def __call__(self, text: str) -> None:
        with self._lock:
            self.console.print(text, markup=False, highlight=False)


def side_by_side(items: list[_T], work: Callable[[_T], object], limit: int = 0) -> None:
    """`work` on every item at once; the first failure (in the items' order) is raised after
    all have finished, so none is left half-done behind another's failure."""
    if not items:
        return
    with ThreadPoolExecutor(max_workers=min(limit or len(items), len(items))) as pool:
        futures = [pool.submit(work, item) for item in items]
        errors = [f.exception() for f in futures]
    failed = [e for e in errors if e is not None]
    if failed:
        raise failed[0]


@contextlib.contextmanager
def connected(
    settings: DeploySettings, *, timeout: float = 120
) -> Iterator[dict[HostAddress, docker.DockerClient]]:
    """A client per host, all connected side by side (a host's SSH handshake and ping cost a
    round trip each); the first host in DEPLOY_HOSTS order that does not answer fails it, and
    every client is closed at the end."""
    from stackctl.deploy.hosts import connect_host

    addresses = list(settings.addresses)
    workers = min(MAX_CONNECTING, len(addresses)) or 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {a: pool.submit(connect_host, a, settings, timeout=timeout) for a in addresses}
        clients: dict[HostAddress, docker.DockerClient] = {}
        error: BaseException | None = None
        for address, future in futures.items():
            exc = future.exception()
            if exc is None:
                clients[address] = future.result()
            elif error is None:
                error = exc
    try:
        if error is not None:
            raise error
        yield clients
    finally:
        for client in clients.values():
            with contextlib.suppress(Exception):
                client.close()


@contextlib.contextmanager
def locked(
    settings: DeploySettings,
    clients: Mapping[HostAddress, docker.DockerClient],
    *,
    holder: str,
    message: str,
) -> Iterator[None]:
    """Every host's deploy lock held for the block (taken in DEPLOY_HOSTS order: two deploys
    meet at the first host), each released at the end."""
    taken: list[HostAddress] = []
    try:
        for address in settings.addresses:
            lock.acquire_lock(
                clients[address], settings.app, address.name, holder=holder, message=message
            )
            taken.append(address)
        yield
    finally:
        for address in taken:
            with contextlib.suppress(Exception):
                lock.release_lock(clients[address], settings.app)


def in_batches(
    settings: DeploySettings,
    clients: Mapping[HostAddress, docker.DockerClient],
    work: HostWork,
    say: Say,
) -> None:
    """`work` batch by batch (DEPLOY_BATCH_SIZE hosts side by side), stopping after the first
    batch with a failure."""
    for number, batch in enumerate(batches(settings), start=1):
        say(f"batch {number}: {', '.join(a.name for a in batch)}")
        with ThreadPoolExecutor(max_workers=len(batch)) as pool:
            futures = [pool.submit(work, clients[a], a, say) for a in batch]
            errors = [f.exception() for f in futures]
        failed = [e for e in errors if e is not None]
        if failed:
            if len(failed) > 1:
                say(f"{len(failed)} hosts of batch {number} failed; the first:")
            raise failed[0]
