"""The serving path, chosen by measurement (issue 30): the same app behind the same nginx, served
by each candidate WSGI server, side by side in one run.

Each candidate is a copy of the project in production shape (its own project name and 127.0.0.1
port), all up at once, built from one variant of the web image: the shipped `runtime` target plus
a `servers` stage (written into the copy's Dockerfile only) holding granian, pyuwsgi and gevent.
The candidates, each tuned for 2 cores as today's server is (2 processes, 4 threads or their
equivalent):

- `gunicorn gthread`: as it ships (containers/web/gunicorn.conf.py: 2 workers x 4 threads);
- `gunicorn gevent`: the same config, `--worker-class gevent`, 2 workers x 100 connections;
- `granian`: `--interface wsgi`, 2 workers x 4 blocking threads, its HTTP/1 server;
- `uwsgi`: 2 processes x 4 threads behind nginx's `uwsgi_pass` (its binary protocol on :8001;
  web's health check keeps HTTP on :8000, an `--http-socket`).

The servers other than gunicorn run the app's metrics in prometheus_client's multiprocess mode
too (a folder on /dev/shm, as gunicorn.conf.py makes), so each pays the same per-request cost.

wrk (2 threads, HTTP/1.1 keep-alive) runs windows of --seconds at 16 and 64 connections on
`/main/`, the gallery page `/` and the listing `/api/images?limit=100` once --images pictures are
uploaded and thumbnailed in each copy; rounds interleave every candidate, the order rotating
round by round, a pause before each window, the other candidates' stacks paused during it (so
each is measured as if alone on the machine). Every window is bounded by wrk's duration, every
wait by a deadline. Prints one JSON line: per candidate, path and connections every window (rate,
p50/p99, CPU ms per request by part of the path) and the load average before and after;
`servers_table` (tables.py) turns it into BENCHMARKS.md's table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

from bench_stack import remove_project_images, running_copy  # noqa: E402
from bench_throughput import Meters, others_paused, run_facts, window  # noqa: E402

from stackctl.stack.stack import Stack  # noqa: E402
from support.http_upload import png, post_png  # noqa: E402

# Built on the shipped runtime stage: pip is back for the install (slim-venv took it out), and the
# three servers land in the same /opt/venv. The copy's Dockerfile gets it right before the test
# stages, so building it never builds those.
SERVERS_STAGE = """
# --- bench_servers.py: the shipped runtime plus the candidate WSGI servers (bench only) ---
FROM runtime-venv AS servers-venv
ARG PIP_CERT_PEM=
RUN python -m ensurepip --default-pip >/dev/null \\
 && sh /usr/local/bin/with-build-ca python -m pip install --no-compile \\
        "granian>=1.6,<3" "pyuwsgi>=2.0.28,<2.1" "gevent>=24.2,<26"

FROM runtime AS servers
COPY --from=servers-venv /opt/venv /opt/venv

"""
TEST_STAGES_MARK = "# --- the test venv"
# The same folder gunicorn.conf.py makes for prometheus_client's multiprocess mode.
METRICS_DIR = "/dev/shm/gallery-metrics"


@dataclass(frozen=True)
class Server:
    """One candidate: the web service's command, and whether nginx speaks uwsgi to it."""

    name: str
    command: tuple[str, ...] | None  # None: the image's own (gunicorn gthread)
    uwsgi_protocol: bool = False


def in_metrics_dir(*command: str) -> tuple[str, ...]:
    shell = f"mkdir -p {METRICS_DIR} && PROMETHEUS_MULTIPROC_DIR={METRICS_DIR} exec "
    return ("sh", "-c", shell + shlex.join(command))


SERVERS = (
    Server("gunicorn gthread", None),
    Server(
        "gunicorn gevent",
        (
            "gunicorn",
            "--config",
            "/app/gunicorn.conf.py",
            "--worker-class",
            "gevent",
            "--worker-connections",
            "100",
            "gallery.wsgi:app",
        ),
    ),
    Server(
        "granian",
        in_metrics_dir(
            "granian",
            "--interface",
            "wsgi",
            "--host",
            "0.0.0.0",
            "--port",
            "8000",
            "--workers",
            "2",
            "--blocking-threads",
            "4",
            "--http",
            "1",
            "--no-ws",
            "gallery.wsgi:app",
        ),
    ),
    Server(
        "uwsgi",
        in_metrics_dir(
            "uwsgi",
            "--master",
            "--module",
            "gallery.wsgi:app",
            "--uwsgi-socket",
            "0.0.0.0:8001",
            "--http-socket",
            "0.0.0.0:8000",
            "--processes",
            "2",
            "--threads",
            "4",
            "--enable-threads",
            "--single-interpreter",
            # SIGTERM (docker stop, a deploy's cutover) finishes the requests in flight and
            # exits: uWSGI 2.0's own SIGTERM is a brutal reload, and --die-on-term a brutal stop.
            "--hook-master-start",
            "unix_signal:15 gracefully_kill_them_all",
            # ...within 1 s, as gunicorn's graceful_timeout.
            "--worker-reload-mercy",
            "1",
            "--need-app",
            "--disable-logging",
            "--buffer-size",
            "16384",
            "--harakiri",
            "60",
        ),
        uwsgi_protocol=True,
    ),
)

# nginx's proxy lines (containers/nginx/snippets/app-proxy.conf, included in `location /` of
# every HTTPS mode's site), and what replaces them for uwsgi: the same request id, forwarded
# headers, buffering and timeouts, through uwsgi_pass. nginx keeps no upstream connection open
# with uwsgi (only HTTP and FastCGI have keep-alive): a connect per request is part of what this
# candidate costs.
PROXY_SNIPPET = "containers/nginx/snippets/app-proxy.conf"
PROXY_BLOCK = """proxy_request_buffering on;
proxy_buffering on;
# The request id reaches the app (and its logs) and comes back in X-Request-ID.
proxy_set_header X-Request-ID $request_id;
proxy_pass http://web_app;
proxy_http_version 1.1;
proxy_set_header Connection "";
proxy_set_header Host $http_host;
proxy_set_header X-Real-IP $remote_addr;
proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
# Set, never passed on: a client's own X-Forwarded-Proto never reaches the app.
proxy_set_header X-Forwarded-Proto $stack_proto;
# A connect inside the host's (or the Swarm's) network answers in milliseconds or never: an
# address gone with its container (a Swarm task the proxy has not re-resolved yet) costs 2 s before
# nginx tries the next one, not 5 s each.
proxy_connect_timeout 2s;
proxy_send_timeout 30s;
proxy_read_timeout 60s;
"""
UWSGI_BLOCK = """uwsgi_request_buffering on;
uwsgi_buffering on;
include uwsgi_params;
uwsgi_param HTTP_X_REQUEST_ID $request_id;
uwsgi_param HTTP_X_REAL_IP $remote_addr;
uwsgi_param HTTP_X_FORWARDED_FOR $proxy_add_x_forwarded_for;
uwsgi_param HTTP_X_FORWARDED_PROTO $stack_proto;
uwsgi_pass web_app;
uwsgi_connect_timeout 2s;
uwsgi_send_timeout 30s;
uwsgi_read_timeout 60s;
"""
NGINX_ENVIRONMENT_LINE = '      UPSTREAM_RECHECK_SECONDS: "1"\n'


def replace_once(path: Path, old: str, new: str, what: str) -> None:
    text = path.read_text()
    if text.count(old) != 1:
        raise SystemExit(f"bench_servers: {path.name} no longer has {what} (exactly once)")
    path.write_text(text.replace(old, new, 1))


def with_servers_image(directory: Path) -> None:
    """The copy's web and worker build the `servers` target (the shipped image plus the
    candidates), so every candidate runs the same image."""
    replace_once(
        directory / "containers/web/Dockerfile",
        TEST_STAGES_MARK,
        SERVERS_STAGE + TEST_STAGES_MARK,
        "the test stages' mark",
    )
    compose = directory / "compose.yaml"
    text = compose.read_text()
    if text.count("target: runtime") != 2:
        raise SystemExit("bench_servers: compose.yaml's web and worker no longer build `runtime`")
    compose.write_text(text.replace("target: runtime", "target: servers"))


def serve_with(server: Server) -> Callable[[Path], None]:
    """What turns a copy of the project into this candidate's stack (only the copy changes)."""

    def prepare(directory: Path) -> None:
        with_servers_image(directory)
        if server.command is not None:
            replace_once(
                directory / "compose.yaml",
                "\n  web:\n",
                f"\n  web:\n    command: {json.dumps(list(server.command))}\n",
                "a `  web:` service",
            )
        if server.uwsgi_protocol:
            replace_once(
                directory / PROXY_SNIPPET,
                PROXY_BLOCK,
                UWSGI_BLOCK,
                "the proxy block",
            )
            replace_once(
                directory / "compose.yaml",
                NGINX_ENVIRONMENT_LINE,
                NGINX_ENVIRONMENT_LINE + "      NGINX_UPSTREAM: web:8001\n",
                "nginx's UPSTREAM_RECHECK_SECONDS",
            )

    return prepare


PATHS = {"/main/": "/main/", "gallery page": "/", "listing": "/api/images?limit=100"}


def fill(base: str, images: int, deadline_seconds: float = 600) -> None:
    """Upload `images` pictures through the API and wait until their thumbnails are made (the
    worker must not share the CPU with the measurement)."""
    for number in range(images):
        status, _ = post_png(base, png(colour=(number % 256, 60, 90)), f"s{number}.png")
        if status != 201:
            raise SystemExit(f"bench_servers: upload {number} to {base} answered {status}")
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{base}/api/images?limit=100", timeout=10) as answer:
            listed = json.load(answer)["images"]
        if all(image["thumbnail_status"] == "ready" for image in listed):
            return
        time.sleep(1)
    raise SystemExit(f"bench_servers: thumbnails at {base} not ready within {deadline_seconds} s")


def web_resident_mib(stack: Stack) -> float:
    """The memory budget's measure: the web container's resident memory (cgroup anon/rss)."""
    from bench_curves import resident_bytes

    found = [resident_bytes(container.id) or 0 for container in stack.containers("web")]
    return round(sum(found) / 2**20, 1)


def stop_seconds(stack: Stack) -> float:
    """A prompt stop: `docker stop` of web (SIGTERM, 10 s grace) with nginx's idle kept-alive
    connections to it still open, as on every `down` and every recreate."""
    started = time.perf_counter()
    for container in stack.containers("web"):
        stack.client.api.stop(container.id, timeout=10)
    return round(time.perf_counter() - started, 2)


def request_id_sent(base: str) -> bool:
    """The request id guarantee, checked once per candidate: X-Request-ID comes back."""
    with urllib.request.urlopen(f"{base}/main/", timeout=5) as answer:
        return len(answer.headers.get("X-Request-ID", "")) == 32


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=8, help="wrk duration of one window")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", default="16,64", help="comma-separated wrk -c values")
    parser.add_argument("--images", type=int, default=100, help="pictures in each copy")
    parser.add_argument("--settle", type=float, default=1.0, help="pause before each window (s)")
    parser.add_argument(
        "--servers",
        default=",".join(server.name for server in SERVERS),
        help="comma-separated candidates (default: all)",
    )
    parser.add_argument("--project-prefix", default="bench-servers")
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench_servers: wrk is not installed: apt-get install -y wrk")
    chosen = [name.strip() for name in options.servers.split(",") if name.strip()]
    known = {server.name: server for server in SERVERS}
    unknown = [name for name in chosen if name not in known]
    if unknown:
        raise SystemExit(f"bench_servers: unknown --servers {unknown}; known: {sorted(known)}")
    connections = [int(value) for value in options.connections.split(",")]
    load_before = os.getloadavg()
    windows: dict[str, dict[str, list[dict[str, Any]]]] = {name: {} for name in chosen}
    guarantees: dict[str, dict[str, Any]] = {}
    projects = [f"{options.project_prefix}-{number}" for number in range(len(chosen))]
    with contextlib.ExitStack() as stacks:
        stacks.callback(remove_project_images, *projects)
        meters: dict[str, Meters] = {}
        bases: dict[str, str] = {}
        running: dict[str, Stack] = {}
        for name, project in zip(chosen, projects, strict=True):
            stack, base = stacks.enter_context(running_copy(serve_with(known[name]), project))
            bases[name], running[name] = base, stack
            meters[name] = Meters(stack, int(base.rsplit(":", 1)[1]))
            fill(base, options.images)
            guarantees[name] = {"request id": request_id_sent(base)}
        for name, base in bases.items():  # warm every candidate before the first measured window
            window(f"{base}/main/", 2, meters[name])
        for number in range(options.rounds):
            order = chosen[number % len(chosen) :] + chosen[: number % len(chosen)]
            for label, path in PATHS.items():
                for count in connections:
                    for name in order:
                        with others_paused(meters, name):
                            time.sleep(options.settle)
                            found = window(
                                f"{bases[name]}{path}",
                                options.seconds,
                                meters[name],
                                count,
                                timeouts_count=True,
                            )
                        windows[name].setdefault(f"{label} c{count}", []).append(found)
        load_after = os.getloadavg()
        for name, stack in running.items():
            guarantees[name]["web resident MiB after the load"] = web_resident_mib(stack)
            guarantees[name]["web stop s"] = stop_seconds(stack)
    print(
        json.dumps(
            {
                "windows": windows,
                "guarantees": guarantees,
                "images": options.images,
                **run_facts(options.rounds, options.seconds, load_before, load_after),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
