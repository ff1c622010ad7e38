"""The gallery page and the listing API with many images, through nginx, at 16 connections.

Starts a copy of the stack (its own project name, a free 127.0.0.1 port), uploads --images
pictures through the API, waits for the worker's first sweep (the Redis index is complete), then
runs wrk for --seconds on each URL, interleaved with the baseline `/main/` (a page that reads
nothing). Prints one JSON line. Every loop is bounded in time.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

from bench_stack import running_copy  # noqa: E402

sys.path.insert(0, str(ROOT / "tests"))  # tests/support (a benchmark runs as a script)
from support.http_upload import png, post_png  # noqa: E402


def upload(base: str, number: int) -> None:
    status, _ = post_png(base, png(colour=(number % 256, 30, 30)), f"p{number}.png")
    assert status == 201


def wrk(url: str, seconds: int) -> float:
    done = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds}s", "--timeout", "5s", url],
        check=True,
        capture_output=True,
        text=True,
    )
    match = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    if match is None or "Non-2xx" in done.stdout:
        raise SystemExit(f"bench_page: wrk on {url} failed:\n{done.stdout}")
    return float(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=8, help="wrk duration per URL and round")
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench_page: wrk is not installed: apt-get install -y wrk")
    with running_copy() as (_, base):
        for number in range(options.images):
            upload(base, number)
        # Thumbnails are made first: the worker must not share the CPU with the measurement.
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"{base}/api/images?limit=100", timeout=10) as answer:
                listed = json.load(answer)["images"]
            if all(image["thumbnail_status"] == "ready" for image in listed):
                break
            time.sleep(2)
        urls = {
            "page": f"{base}/",
            "listing": f"{base}/api/images?limit=100",
            "main": f"{base}/main/",
        }
        results: dict[str, list[float]] = {name: [] for name in urls}
        for _ in range(options.rounds):
            for name, url in urls.items():
                results[name].append(wrk(url, options.seconds))
    print(json.dumps({name: statistics.median(values) for name, values in results.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
