"""Bad infrastructure on demand: a Redis that can be frozen (SIGSTOP) and a TCP proxy in front
of the fake OSS that can stop passing bytes (a hung OSS), both on 127.0.0.1."""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from support.loopback import free_port


class RedisProcess:
    """A redis-server of the test's own, which the test may freeze, thaw or restart empty."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        server = shutil.which("redis-server")
        assert server is not None, "redis-server is not installed"
        self.process = subprocess.Popen(
            [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise AssertionError(f"redis-server did not listen on {self.port}")

    def freeze(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process is None:
            return
        self.thaw()
        self.process.terminate()
        self.process.wait(timeout=10)
        self.process = None

    def restart_empty(self) -> None:
        self.stop()
        self.start()


class HangingProxy:
    """Passes TCP between clients and `target` until `hang()`; then holds every byte (new
    connections are accepted and never answered) until `resume()`."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.flowing = threading.Event()
        self.flowing.set()
        self.closed = threading.Event()
        self.threads: list[threading.Thread] = []

    def hang(self) -> None:
        self.flowing.clear()

    def resume(self) -> None:
        self.flowing.set()

    def serve(self) -> None:
        self.listener.settimeout(0.1)
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                continue
            thread = threading.Thread(target=self.pipe, args=(client,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def pipe(self, client: socket.socket) -> None:
        with client, socket.create_connection(("127.0.0.1", self.target_port)) as upstream:
            ends = {client: upstream, upstream: client}
            while not self.closed.is_set():
                if not self.flowing.is_set():
                    time.sleep(0.02)
                    continue
                readable, _, _ = select.select(list(ends), [], [], 0.05)
                for end in readable:
                    if not self.flowing.is_set():
                        break
                    data = end.recv(65536)
                    if not data:
                        return
                    ends[end].sendall(data)

    def close(self) -> None:
        self.closed.set()
        self.listener.close()
        for thread in self.threads:
            thread.join(timeout=2)


@contextmanager
def hanging_proxy(target_port: int) -> Iterator[HangingProxy]:
    proxy = HangingProxy(target_port)
    thread = threading.Thread(target=proxy.serve, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.close()
        thread.join(timeout=2)
