"""Loopback addresses for tests: a free port, a URL where nothing listens (a service down), and
host names that resolve to 127.0.0.1."""

from __future__ import annotations

import socket
import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from socketserver import BaseServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def resolve_to_loopback(monkeypatch: pytest.MonkeyPatch, names: Collection[str]) -> None:
    """`names` are 127.0.0.1 for this process, as DNS records would point them at a host whose
    ports the test publishes there; every other name resolves as before."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host in names else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def closed_port_url(scheme: str) -> str:
    """An address where nothing listens: a dependency that is down."""
    return f"{scheme}://127.0.0.1:{free_port()}"


@contextmanager
def serving(server: BaseServer) -> Iterator[None]:
    """``server`` answers on a thread while the block runs, and is closed after it."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
