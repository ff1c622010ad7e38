"""Memory of image work: N parallel near-limit uploads (7000x7000 RGBA PNG, 49 Mpx) through
nginx, on a copy of the stack in production mode (gunicorn 2 workers x 4 threads, Celery worker
with concurrency 2). Prints the peak resident memory (VmHWM) of each web and worker process,
reset just before the uploads, as one JSON line. Bounded: one batch of uploads, 120 s wait.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from PIL import Image

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

from bench_stack import running_copy  # noqa: E402

sys.path.insert(0, str(ROOT / "tests"))  # tests/support (a benchmark runs as a script)
from stackctl.stack.stack import Stack  # noqa: E402
from support.http_upload import post_png  # noqa: E402

SIDE = 7000
APP_COMMANDS = frozenset({"gunicorn", "celery"})


def near_limit_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (SIDE, SIDE), (20, 120, 200, 255)).save(out, "PNG")
    return out.getvalue()


def post(base: str, data: bytes, answers: list[Any]) -> None:
    try:
        answers.append(post_png(base, data, "big.png", timeout=120)[1]["id"])
    except Exception as exc:  # reported in the output, the batch goes on
        answers.append(f"error: {exc}")


def pids(stack: Stack, service: str) -> list[int]:
    found = []
    for container in stack.containers():
        if container.service == service:
            top = stack.client.api.top(container.id, ps_args="-o pid,comm")
            found += [int(pid) for pid, command in top["Processes"] if command in APP_COMMANDS]
    return found


def status_kib(pid: int, field: str) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:  # a process that has ended since
        return 0
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parallel", type=int, default=8)
    options = parser.parse_args()
    data = near_limit_png()
    with running_copy() as (stack, base):
        processes = {"web": pids(stack, "web"), "worker": pids(stack, "worker")}
        before = {s: {p: status_kib(p, "VmRSS") for p in ps} for s, ps in processes.items()}
        for pid in processes["web"] + processes["worker"]:
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM
        answers: list[Any] = []
        started = time.monotonic()
        threads = [
            threading.Thread(target=post, args=(base, data, answers))
            for _ in range(options.parallel)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=180)
        upload_seconds = time.monotonic() - started
        ids = [a for a in answers if not str(a).startswith("error")]
        deadline = time.monotonic() + 120
        ready = 0
        while time.monotonic() < deadline:
            ready = 0
            for image_id in ids:
                with urllib.request.urlopen(f"{base}/api/images/{image_id}") as response:
                    ready += json.load(response)["thumbnail_status"] == "ready"
            if ready == len(ids):
                break
            time.sleep(1)
        thumbnails_seconds = time.monotonic() - started
        peak = {s: {p: status_kib(p, "VmHWM") for p in ps} for s, ps in processes.items()}
    mib = 1024
    print(
        json.dumps(
            {
                "parallel": options.parallel,
                "png_bytes": len(data),
                "uploaded": len(ids),
                "errors": [a for a in answers if str(a).startswith("error")],
                "thumbnails_ready": ready,
                "upload_seconds": round(upload_seconds, 1),
                "all_thumbnails_seconds": round(thumbnails_seconds, 1),
                "rss_before_mib": {s: [v // mib for v in d.values()] for s, d in before.items()},
                "peak_rss_mib": {s: [v // mib for v in d.values()] for s, d in peak.items()},
                "peak_total_mib": {s: sum(d.values()) // mib for s, d in peak.items()},
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
