"""The cost of metrics: /main/ through nginx with the gallery's Prometheus metrics on (as it
ships) and off (METRICS_ENABLED=false: no request counted or timed), each a copy of the project
in production shape with its own project name and 127.0.0.1 port, both up at once, measured by
wrk at 16 connections in windows interleaved round by round (the side that goes first
alternating), as bench_throughput.py measures the stack against the seed. Every window is
bounded by wrk's duration.

Prints one JSON line: medians {"on": {"rps", "p99_ms"}, "off": {...}}, the rate lost
("rate_lost_pct", goal ≤5), every window (rps, p50/p99 ms, CPU ms per request by part of the
path), and the load average before and after.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_stack import running_copy  # noqa: E402
from bench_throughput import (  # noqa: E402
    Meters,
    interleaved_windows,
    medians,
    run_facts,
    window_arguments,
)

# In compose.yaml's app environment (web's and the worker's, one YAML anchor).
ENVIRONMENT_LINE = '      TRUSTED_PROXIES: "1"\n'


def without_metrics(directory: Path) -> None:
    """Turn a copy of the project's metrics off (only the copy's compose.yaml changes)."""
    compose = directory / "compose.yaml"
    text = compose.read_text()
    if ENVIRONMENT_LINE not in text:
        raise SystemExit("bench_metrics: compose.yaml's app environment has no TRUSTED_PROXIES")
    compose.write_text(
        text.replace(ENVIRONMENT_LINE, ENVIRONMENT_LINE + '      METRICS_ENABLED: "false"\n', 1)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    window_arguments(parser, "on", "off")
    parser.add_argument(
        "--port-base", type=int, default=0, help="nginx ports BASE and BASE+1 (default: free ones)"
    )
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench_metrics: wrk is not installed: apt-get install -y wrk")
    load_before = os.getloadavg()
    with contextlib.ExitStack() as stacks:
        meters: dict[str, Meters] = {}
        urls: dict[str, str] = {}
        for number, (name, prepare) in enumerate((("on", None), ("off", without_metrics))):
            project = f"{options.project_prefix}-{name}" if options.project_prefix else None
            port = options.port_base + number if options.port_base else None
            stack, base = stacks.enter_context(running_copy(prepare, project, port))
            urls[name] = f"{base}/main/"
            meters[name] = Meters(stack, int(base.rsplit(":", 1)[1]))
        windows = interleaved_windows(urls, meters, options.rounds, options.seconds, options.settle)
        load_after = os.getloadavg()
    result = medians(windows)
    lost = 100 * (1 - result["on"]["rps"] / result["off"]["rps"])
    print(
        json.dumps(
            {
                **result,
                "rate_lost_pct": round(lost, 1),
                "windows": windows,
                **run_facts(options.rounds, options.seconds, load_before, load_after),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
