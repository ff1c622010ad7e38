"""Loopback addresses for tests: a free port, and a URL where nothing listens (a service down)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from socketserver import BaseServer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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
