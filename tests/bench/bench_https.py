"""The cost of HTTPS: /main/ through nginx over HTTPS (TLS 1.3, HTTP/1.1 keep-alive: wrk's
connections are made once per window, so this is the steady cost of encrypting, not of
handshakes) against plain HTTP, each a copy of the project in production shape with its own
project name and 127.0.0.1 ports, both up at once, measured by wrk at 16 connections in windows
interleaved round by round (the side that goes first alternating), as bench_throughput.py
measures the stack against the seed. The HTTPS copy runs STACK_HTTPS=local (the local CA, in a
folder of its own): the same nginx TLS settings as every HTTPS mode (containers/nginx/snippets/
tls.conf.template), only the certificate's source differs. Every window is bounded by wrk's
duration.

Prints one JSON line: medians {"https": {"rps", "p99_ms"}, "http": {...}}, every window (rps,
p50/p99 ms, CPU ms per request by part of the path), and the load average before and after.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import ssl
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bench_stack import running_copy  # noqa: E402
from bench_throughput import (  # noqa: E402
    Meters,
    interleaved_windows,
    medians,
    run_facts,
    window_arguments,
)

from support.loopback import free_port  # noqa: E402


def answers_over_https(url: str, root: Path, seconds: float = 60) -> None:
    """Wait until the app answers `url` over HTTPS, trusting only the local CA's `root`."""
    context = ssl.create_default_context(cafile=str(root))
    context.check_hostname = False  # 127.0.0.1; the certificate names localhost
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2, context=context):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"bench_https: {url} did not answer within {seconds:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    window_arguments(parser, "https", "http")
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench_https: wrk is not installed: apt-get install -y wrk")
    load_before = os.getloadavg()
    with contextlib.ExitStack() as stacks:
        ca_dir = stacks.enter_context(tempfile.TemporaryDirectory(prefix="bench-https-ca-"))
        https_port = free_port()
        sides = {
            "https": {
                "STACK_HTTPS": "local",
                "NGINX_HTTPS_PORT": str(https_port),
                "STACK_CA_DIR": ca_dir,
            },
            "http": {},
        }
        meters: dict[str, Meters] = {}
        urls: dict[str, str] = {}
        for name, extra in sides.items():
            project = f"{options.project_prefix}-{name}" if options.project_prefix else None
            check = "/nginx-health" if name == "https" else "/healthz"
            stack, base = stacks.enter_context(running_copy(None, project, None, extra, check))
            port = https_port if name == "https" else int(base.rsplit(":", 1)[1])
            urls[name] = f"https://127.0.0.1:{port}/main/" if name == "https" else f"{base}/main/"
            meters[name] = Meters(stack, port)
        answers_over_https(urls["https"], Path(ca_dir) / "rootCA.pem")
        windows = interleaved_windows(urls, meters, options.rounds, options.seconds, options.settle)
        load_after = os.getloadavg()
    result = medians(windows)
    print(
        json.dumps(
            {
                **result,
                "windows": windows,
                **run_facts(options.rounds, options.seconds, load_before, load_after),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
