"""Reading a service's metrics from inside its container: the metrics ports are published
nowhere (README "Metrics"), so the scrape is an exec of the container's own tools, through the
Docker API, which works the same on this machine's engine and on a deployed host's over SSH.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stackctl.engine.execs import inspect_exec, start_exec
from stackctl.stack.metricsview import Unreachable

# The app's web and worker images (the port is the container's METRICS_PORT, 9100 when unset):
# Python without site, like the image's health check.
APP_SCRAPE = (
    "import os, socket, sys\n"
    "port = int(os.environ.get('METRICS_PORT') or 9100)\n"
    "s = socket.create_connection(('127.0.0.1', port), 3)\n"
    "s.settimeout(5)\n"
    "s.sendall(b'GET /metrics HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n')\n"
    "data = b''\n"
    "while chunk := s.recv(65536):\n"
    "    data += chunk\n"
    "head, _, body = data.partition(b'\\r\\n\\r\\n')\n"
    "if head.split()[1:2] != [b'200']:\n"
    "    sys.exit('metrics answered ' + head.split(b'\\r\\n')[0].decode(errors='replace'))\n"
    "sys.stdout.buffer.write(body)\n"
)
# nginx's stub_status listener (containers/nginx/status.conf); curl is in the nginx image.
NGINX_SCRAPE = ("curl", "-fsS", "--max-time", "5", "http://127.0.0.1:8081/stub_status")
# Which command reads which service's metrics (compose.yaml's names; a deploy's roles).
SCRAPES: Mapping[str, Sequence[str]] = {
    "web": ("python", "-I", "-S", "-c", APP_SCRAPE),
    "worker": ("python", "-I", "-S", "-c", APP_SCRAPE),
    "nginx": NGINX_SCRAPE,
}


@dataclass(frozen=True)
class Target:
    """One container to read: the Engine API that reaches it (this machine's, or a deployed
    host's over SSH), its id, and its service or role (which picks the command)."""

    api: Any
    container: str
    service: str


def scrape(api: Any, container: str, command: Sequence[str]) -> str | Unreachable:
    """Run `command` in the container; its output, or why there is none (never raises for a
    container that is gone or a command that fails)."""
    import docker.errors

    try:
        exec_id = start_exec(api, container, command)
        out, err = api.exec_start(exec_id, demux=True)
        _running, code = inspect_exec(api, exec_id)
    except docker.errors.APIError as exc:
        return Unreachable(str(getattr(exc, "explanation", None) or exc))
    if code != 0:
        lines = (err or out or b"").decode(errors="replace").strip().splitlines()
        return Unreachable(lines[-1] if lines else f"exit status {code}")
    return (out or b"").decode(errors="replace")


def scrape_all(targets: Mapping[str, Target]) -> dict[str, str | Unreachable]:
    """source name -> what its container answered, or why it did not."""
    found: dict[str, str | Unreachable] = {}
    for source, target in targets.items():
        command = SCRAPES.get(target.service)
        if command is None:
            found[source] = Unreachable(f"{target.service} serves no metrics")
        else:
            found[source] = scrape(target.api, target.container, command)
    return found


def two_scrapes(
    targets: Mapping[str, Target], seconds: float
) -> tuple[dict[str, str | Unreachable], dict[str, str | Unreachable], float]:
    """A scrape, `seconds` of waiting, another: (before, after, the seconds between them).

    Both rounds ask the sources in the same order, so each source's two scrapes lie one round's
    start apart."""
    started = time.monotonic()
    before = scrape_all(targets)
    time.sleep(max(seconds - (time.monotonic() - started), 0.0))
    second = time.monotonic()
    after = scrape_all(targets)
    return before, after, second - started
