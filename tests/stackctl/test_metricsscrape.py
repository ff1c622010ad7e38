"""Reading a container's metrics by exec (`invoke metrics`): what an answer, a failing command
and a vanished container become. The Engine API is a recording stand-in (the real one is in
tests/gallery/test_metrics_stack_engine.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import docker.errors
from prometheus_client import CollectorRegistry, Counter, start_http_server

from stackctl.stack.metricsscrape import NGINX_SCRAPE, SCRAPES, Target, scrape, scrape_all
from stackctl.stack.metricsview import Unreachable
from support.loopback import free_port


class ExecApi:
    """Answers each exec with the output and exit code it was given; `gone` containers are
    refused as the engine refuses them (404)."""

    def __init__(self, out: bytes = b"", err: bytes = b"", code: int = 0) -> None:
        self.out, self.err, self.code = out, err, code
        self.gone: set[str] = set()
        self.commands: list[tuple[str, list[str]]] = []

    def exec_create(self, container: str, command: list[str]) -> dict[str, str]:
        if container in self.gone:
            raise docker.errors.NotFound("404", explanation=f"No such container: {container}")
        self.commands.append((container, command))
        return {"Id": f"exec-{len(self.commands)}"}

    def exec_start(self, exec_id: str, demux: bool) -> tuple[bytes | None, bytes | None]:
        assert demux
        return self.out or None, self.err or None

    def exec_inspect(self, exec_id: str) -> dict[str, Any]:
        return {"ExitCode": self.code}


def test_a_commands_output_is_the_metrics_text() -> None:
    api = ExecApi(out=b"gallery_http_requests_total 3\n")
    assert scrape(api, "c1", NGINX_SCRAPE) == "gallery_http_requests_total 3\n"
    assert api.commands == [("c1", list(NGINX_SCRAPE))]


def test_a_failing_command_gives_its_last_error_line() -> None:
    api = ExecApi(err=b"Traceback ...\nConnectionRefusedError: [Errno 111] refused\n", code=1)
    assert scrape(api, "c1", SCRAPES["web"]) == Unreachable(
        "ConnectionRefusedError: [Errno 111] refused"
    )


def test_a_container_that_is_gone_says_so() -> None:
    api = ExecApi()
    api.gone.add("c1")
    assert scrape(api, "c1", SCRAPES["web"]) == Unreachable("No such container: c1")


def test_each_service_gets_its_own_command_and_others_none() -> None:
    api = ExecApi(out=b"x 1\n")
    found = scrape_all(
        {
            "web": Target(api, "w", "web"),
            "nginx": Target(api, "n", "nginx"),
            "redis": Target(api, "r", "redis"),
        }
    )
    assert found["redis"] == Unreachable("redis serves no metrics")
    assert [container for container, _ in api.commands] == ["w", "n"]
    assert api.commands[0][1][:3] == ["python", "-I", "-S"]
    assert api.commands[1][1][0] == "curl"


def test_the_app_command_reads_metrics_port_with_pythons_socket_module_alone() -> None:
    registry = CollectorRegistry()
    Counter("scraped_things", "things", registry=registry).inc(7)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        command = [sys.executable, *SCRAPES["web"][1:]]
        env = {**os.environ, "METRICS_PORT": str(port)}
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert done.returncode == 0, done.stderr
    assert "scraped_things_total 7.0" in done.stdout
    assert not done.stdout.startswith("HTTP/")
