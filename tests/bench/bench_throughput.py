"""Throughput through nginx on /main/: the stack as it ships (gunicorn behind nginx, keep-alive
connections to the upstream) against the seed's flow (Flask's development server behind nginx,
HTTP/1.0 to the upstream: a new connection per request), each a copy of the project in production
shape with its own project name and 127.0.0.1 port, both up at once, measured by wrk at 16
connections in windows interleaved round by round, the side that goes first alternating, with a
short pause before each. Every window is bounded by wrk's duration.

Prints one JSON line: medians {"ours": {"rps", "p99_ms"}, "seed": {...}}, every window
("windows": rps, p50/p99 ms, and where the time went: CPU ms per request of the stack's web and
nginx containers, of wrk, of the engine's port proxy, and of the rest of the machine), the worst
round's ratio ("min_ratio"), and the load average before and after.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_stack import running_copy  # noqa: E402

from stackctl.stack.stack import Stack  # noqa: E402

# The seed's web: Flask's own server (threaded), on the port the stack's health check asks.
SEED_COMMAND = (
    '    command: ["flask", "--app", "gallery.wsgi:app", "run", "--host", "0.0.0.0",'
    ' "--port", "8000"]\n'
)
# What makes nginx keep its upstream connections open: without them it speaks HTTP/1.0 to the
# app and opens a connection per request, as the seed's nginx did.
KEEPALIVE_LINES = (
    "keepalive 32;",
    "keepalive_timeout 4s;",
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
    removed = 0
    # The upstream block's keepalive lines, and the proxy's HTTP/1.1 lines (a snippet every
    # server includes).
    for name in ("default.conf.template", "snippets/app-proxy.conf"):
        template = directory / "containers/nginx" / name
        lines = template.read_text().splitlines(keepends=True)
        kept = [line for line in lines if line.strip() not in KEEPALIVE_LINES]
        removed += len(lines) - len(kept)
        template.write_text("".join(kept))
    if removed != len(KEEPALIVE_LINES):
        raise SystemExit("bench_throughput: containers/nginx no longer has the keep-alive lines")


def cgroup_cpu_seconds(container_id: str) -> float | None:
    """CPU seconds a container has used (cgroup v1 or v2), None where neither file is found."""
    v1 = Path(f"/sys/fs/cgroup/cpuacct/docker/{container_id}/cpuacct.usage")
    if v1.exists():
        return int(v1.read_text()) / 1e9
    v2 = Path(f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/cpu.stat")
    if v2.exists():
        usage = re.search(r"^usage_usec (\d+)$", v2.read_text(), re.MULTILINE)
        return int(usage.group(1)) / 1e6 if usage else None
    return None


def proxy_pids(port: int) -> list[int]:
    """The engine's userland proxy for a published port (it copies every byte wrk sends)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if argv[0].endswith(b"docker-proxy") and str(port).encode() in argv:
                found.append(int(entry.name))
    return found


def process_cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def machine_busy_seconds() -> float:
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK")


class Meters:
    """CPU counters of one stack's path: its web and nginx containers, wrk and the port proxy."""

    def __init__(self, stack: Stack, port: int) -> None:
        self.stack = stack
        self.containers = {
            service: [container.id for container in stack.containers(service)]
            for service in ("web", "nginx")
        }
        self.proxies = proxy_pids(port)

    def read(self) -> dict[str, float]:
        wrk = resource.getrusage(resource.RUSAGE_CHILDREN)
        values = {
            "wrk": wrk.ru_utime + wrk.ru_stime,
            "port proxy": process_cpu_seconds(self.proxies),
            "machine": machine_busy_seconds(),
        }
        for service, ids in self.containers.items():
            used = [cgroup_cpu_seconds(container_id) for container_id in ids]
            if ids and all(value is not None for value in used):
                values[service] = sum(value for value in used if value is not None)
        return values


def window(
    url: str, seconds: int, meters: Meters, connections: int = 16, *, timeouts_count: bool = False
) -> dict[str, Any]:
    """One wrk window: rate, p50/p99 in ms, and CPU ms per request by part of the path.

    Any error ends the bench, except, with `timeouts_count`, requests that took over wrk's 5 s:
    a server comparison records them (`timeouts`) as a result of that server under that load."""
    before = meters.read()
    done = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "--latency", url],
        check=True,
        capture_output=True,
        text=True,
    )
    after = meters.read()
    rate = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$", done.stdout, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", done.stdout, re.MULTILINE)
    requests = re.search(r"^\s+(\d+) requests in", done.stdout, re.MULTILINE)
    if (
        rate is None
        or p50 is None
        or p99 is None
        or requests is None
        or "Non-2xx" in done.stdout
        or ("Socket errors" in done.stdout and not (timeouts_count and only_timeouts(done.stdout)))
    ):
        raise SystemExit(f"bench_throughput: wrk on {url} failed or saw errors:\n{done.stdout}")
    count = int(requests.group(1))
    used = {name: after[name] - before[name] for name in after if name in before}
    rest = used.pop("machine") - sum(used.values())
    cpu = {name: round(1000 * value / count, 3) for name, value in {**used, "rest": rest}.items()}
    return {
        "rps": float(rate.group(1)),
        "p50_ms": round(float(p50.group(1)) * _UNITS[p50.group(2)], 2),
        "p99_ms": round(float(p99.group(1)) * _UNITS[p99.group(2)], 2),
        "cpu_ms_per_request": cpu,
        "load1": round(os.getloadavg()[0], 2),
        "timeouts": timeouts_in(done.stdout),
    }


def timeouts_in(output: str) -> int:
    found = re.search(r"Socket errors: .*timeout (\d+)", output)
    return int(found.group(1)) if found else 0


def only_timeouts(output: str) -> bool:
    """Whether wrk's socket errors are all timeouts (no connect, read or write error)."""
    found = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout", output)
    return found is not None and found.groups() == ("0", "0", "0")


def window_arguments(parser: argparse.ArgumentParser, first: str, second: str) -> None:
    """--seconds, --rounds, --settle and --project-prefix, as every part that measures two
    stacks in interleaved wrk windows takes them; `first` and `second` name the two sides."""
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration of one window")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--settle", type=float, default=2.0, help="seconds of pause before each window"
    )
    parser.add_argument(
        "--project-prefix",
        default=None,
        help=f"name the two stacks PREFIX-{first} and PREFIX-{second}",
    )


@contextlib.contextmanager
def others_paused(meters: Mapping[str, Meters], measured: str) -> Iterator[None]:
    """Every other side's containers paused (the cgroup freezer) while `measured` is: their idle
    work (health checks, the Celery worker, Redis, fakeoss) takes no CPU from the stack
    measured, which then has the machine as it would alone in production."""
    paused: list[tuple[Stack, str]] = []
    try:
        for name, meter in meters.items():
            if name == measured:
                continue
            for container in meter.stack.containers():
                meter.stack.api.pause(container.id)
                paused.append((meter.stack, container.id))
        yield
    finally:
        for stack, container_id in paused:
            stack.api.unpause(container_id)


def interleaved_windows(
    urls: dict[str, str], meters: dict[str, Meters], rounds: int, seconds: int, settle: float
) -> dict[str, list[dict[str, Any]]]:
    """Each side's URL warmed with a short window, then `rounds` rounds of one window a side:
    every side's windows, in `urls`' order of sides."""
    for name, url in urls.items():
        window(url, 2, meters[name])  # warm both before the first measured one
    windows: dict[str, list[dict[str, Any]]] = {name: [] for name in urls}
    for number in range(rounds):
        # Which side goes first alternates, round by round: a window pays for what the one
        # before it left behind (dockerd still storing the seed's per-request log lines,
        # sockets closing). In a fixed order, two builds of our stack measured with the
        # seed's windows: whichever always came right after the seed's lost 25-30% of its
        # rate (0.73x one way round, 1.29x the other). The pause lets some of it settle.
        names = list(urls) if number % 2 == 0 else list(reversed(urls))
        for name in names:
            with others_paused(meters, name):
                time.sleep(settle)
                windows[name].append(window(urls[name], seconds, meters[name]))
    return windows


def medians(windows: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, float]]:
    """Each side's median rate and p99 latency over its windows."""
    return {
        name: {
            "rps": round(statistics.median(float(w["rps"]) for w in found), 1),
            "p99_ms": round(statistics.median(float(w["p99_ms"]) for w in found), 2),
        }
        for name, found in windows.items()
    }


def run_facts(
    rounds: int, seconds: int, load_before: Sequence[float], load_after: Sequence[float]
) -> dict[str, Any]:
    """What each part's JSON line ends with: its rounds and window length, the load average
    before and after, and when it ran."""
    return {
        "rounds": rounds,
        "seconds": seconds,
        "load_before": [round(value, 2) for value in load_before],
        "load_after": [round(value, 2) for value in load_after],
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    window_arguments(parser, "ours", "seed")
    parser.add_argument(
        "--port-base", type=int, default=0, help="nginx ports BASE and BASE+1 (default: free ones)"
    )
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench_throughput: wrk is not installed: apt-get install -y wrk")
    load_before = os.getloadavg()
    with contextlib.ExitStack() as stacks:
        meters: dict[str, Meters] = {}
        urls: dict[str, str] = {}
        for number, (name, prepare) in enumerate((("ours", None), ("seed", as_seed))):
            project = f"{options.project_prefix}-{name}" if options.project_prefix else None
            port = options.port_base + number if options.port_base else None
            stack, base = stacks.enter_context(running_copy(prepare, project, port))
            urls[name] = f"{base}/main/"
            meters[name] = Meters(stack, int(base.rsplit(":", 1)[1]))
        windows = interleaved_windows(urls, meters, options.rounds, options.seconds, options.settle)
        load_after = os.getloadavg()
    result = medians(windows)
    ratios = [
        float(ours["rps"]) / float(seed["rps"])
        for ours, seed in zip(windows["ours"], windows["seed"], strict=True)
    ]
    print(
        json.dumps(
            {
                **result,
                "min_ratio": round(min(ratios), 2),
                "windows": windows,
                **run_facts(options.rounds, options.seconds, load_before, load_after),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
