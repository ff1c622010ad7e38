"""Throughput through nginx on /main/: the stack as it ships (gunicorn behind nginx, keep-alive
connections to the upstream) against the seed's flow (Flask's development server behind nginx,
HTTP/1.0 to the upstream: a new connection per request), each a copy of the project in production
shape with its own project name and 127.0.0.1 port, both up at once, measured by wrk at 16
connections in windows interleaved round by round. Prints one JSON line:
{"ours": {"rps": ..., "p99_ms": ...}, "seed": {...}, "rounds": N, "seconds": S}.
Every window is bounded by wrk's duration.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_stack import running_copy  # noqa: E402

# The seed's web: Flask's own server (threaded), on the port the stack's health check asks.
SEED_COMMAND = (
    '    command: ["flask", "--app", "gallery.wsgi:app", "run", "--host", "0.0.0.0",'
    ' "--port", "8000"]\n'
)
# What makes nginx keep its upstream connections open: without them it speaks HTTP/1.0 to the
# app and opens a connection per request, as the seed's nginx did.
KEEPALIVE_LINES = (
    "keepalive 32;",
    "keepalive_timeout 60s;",
    "proxy_http_version 1.1;",
    'proxy_set_header Connection "";',
)
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def as_seed(directory: Path) -> None:
    """Turn a copy of the project into the seed's flow (only the copy's files change)."""
    compose = directory / "compose.yaml"
    text = compose.read_text()
    if "\n  web:\n" not in text:
        raise SystemExit("bench_throughput: compose.yaml has no `  web:` service to change")
    compose.write_text(text.replace("\n  web:\n", "\n  web:\n" + SEED_COMMAND, 1))
    template = directory / "containers/nginx/default.conf.template"
    lines = template.read_text().splitlines(keepends=True)
    kept = [line for line in lines if line.strip() not in KEEPALIVE_LINES]
    if len(lines) - len(kept) != len(KEEPALIVE_LINES):
        raise SystemExit(f"bench_throughput: {template.name} no longer has the keep-alive lines")
    template.write_text("".join(kept))


def wrk(url: str, seconds: int) -> tuple[float, float]:
    """(requests per second, p99 latency in ms) of one window."""
    done = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds}s", "--timeout", "5s", "--latency", url],
        check=True,
        capture_output=True,
        text=True,
    )
    rate = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", done.stdout, re.MULTILINE)
    if rate is None or p99 is None or "Non-2xx" in done.stdout or "Socket errors" in done.stdout:
        raise SystemExit(f"bench_throughput: wrk on {url} failed or saw errors:\n{done.stdout}")
    return float(rate.group(1)), float(p99.group(1)) * _UNITS[p99.group(2)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration of one window")
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench_throughput: wrk is not installed: apt-get install -y wrk")
    windows: dict[str, list[tuple[float, float]]] = {"ours": [], "seed": []}
    with contextlib.ExitStack() as stacks:
        bases = {
            "ours": stacks.enter_context(running_copy())[1],
            "seed": stacks.enter_context(running_copy(as_seed))[1],
        }
        for base in bases.values():
            wrk(f"{base}/main/", 2)  # warm both before the first measured window
        for _ in range(options.rounds):
            for name, base in bases.items():
                windows[name].append(wrk(f"{base}/main/", options.seconds))
    result = {
        name: {
            "rps": round(statistics.median(rate for rate, _ in found), 1),
            "p99_ms": round(statistics.median(p99 for _, p99 in found), 2),
        }
        for name, found in windows.items()
    }
    print(json.dumps({**result, "rounds": options.rounds, "seconds": options.seconds}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
