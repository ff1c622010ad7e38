"""Cost curves (issue 30): how each operation grows with its work, each point measured, ours and
the peer interleaved where a peer exists. One part per `--part` (repeat it; default all):

- `stack`: generated stacks of --services services (generated_stack.py: the offline base image,
  idle, in tiers), ours (`invoke up` / `invoke down` through tasks.py) against compose v2
  (`docker compose up -d --wait` / `down`), each on its own project: per round and tool, `up`
  from nothing, no-op `up` (twice), `down`; the tools' order alternating round by round.
- `gallery`: one copy of the stack (production shape, the worker stopped so its periodic sweep
  does not run beside the measures), grown to each of --images images: records written through
  the app's own storage code (gallery.catalog, gallery.storage) against the stack's fakeoss by a
  script run in the web container, each with a pre-made thumbnail object (originals are left
  out: neither the page nor the API reads them). At each size: the gallery page `/` and the
  listing `/api/images?limit=100` under wrk (16 connections, keep-alive: p50, p99, rate), Redis
  memory per image (used_memory of the rebuilt index over an emptied database), the time to
  rebuild the index from OSS (`catalog.reconcile()` on an empty index, what `flask gallery
  rebuild-index` runs) and of the sweep (`gallery.tasks.sweep()` on a complete index).
- `idle`: the stack as it ships and the seed's flow (bench_throughput.as_seed), both up and idle:
  every container's resident memory (cgroup: anon/rss) and CPU (cores used over --idle-seconds),
  windows interleaved.

Every loop is bounded in count and time; traffic goes to 127.0.0.1 only. Prints one JSON line:
per part its points and the load average at its start and end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from bench_stack import remove_project_images, running_copy  # noqa: E402
from bench_throughput import Meters, as_seed, cgroup_cpu_seconds, window  # noqa: E402
from generated_stack import BASE_IMAGE, generated_compose  # noqa: E402

from stackctl.stack.stack import Stack  # noqa: E402

COMMAND_SECONDS = 600  # the most one up/down of a generated stack may take before the run stops


def load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


# --- stack ---------------------------------------------------------------------------------


class StackTool:
    """One tool on one generated stack: its folder, project, and up/down commands."""

    def __init__(self, name: str, directory: Path, project: str) -> None:
        self.name, self.directory = name, directory
        self.env = {**os.environ, "COMPOSE_PROJECT_NAME": project, "STACK_MODE": "production"}
        # As a user's venv runs it: with bytecode cached. Where PYTHONDONTWRITEBYTECODE is set
        # (some CI images, this sandbox) every `invoke` compiled stackctl and docker-py again:
        # 1.7 of a 3.7 s no-op up at load 10, measured with cProfile.
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        # downs whose network the engine kept (see kept_network): counted, not fatal.
        self.networks_kept = 0
        if name == "ours":
            invoke = [sys.executable, "-m", "invoke"]
            self.up, self.down = [*invoke, "up"], [*invoke, "down"]
        else:
            compose = ["docker", "compose", "-p", project, "-f", "compose.yaml"]
            self.up, self.down = [*compose, "up", "-d", "--wait"], [*compose, "down"]

    def timed(self, command: list[str]) -> float:
        started = time.perf_counter()
        done = subprocess.run(
            command,
            cwd=self.directory,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=COMMAND_SECONDS,
            check=False,
        )
        taken = time.perf_counter() - started
        if command == self.down and kept_network(done.returncode, done.stdout + done.stderr):
            self.networks_kept += 1
            return taken
        if done.returncode != 0:
            raise SystemExit(
                f"bench_curves: {self.name} `{' '.join(command[-2:])}` failed in"
                f" {self.directory}: {(done.stderr or done.stdout).strip()[-500:]}"
            )
        return taken


def kept_network(returncode: int, output: str) -> bool:
    """Whether a down removed every container but the engine kept the network, saying it still
    has endpoints with none attached: Docker 20.10's stale endpoint count (moby#43286), seen on
    100-service stacks for both tools; only a dockerd restart frees the network. Ours says so and
    succeeds (`! network ... kept`), compose v2 fails on it. The containers are gone either way
    and the next `up` joins the kept network, so the down is measured and counted."""
    if returncode == 0:
        return "kept: the engine still counts an endpoint" in output
    lines = output.strip().splitlines()
    return bool(lines) and "has active endpoints" in lines[-1]


def stack_tools(workdir: Path, count: int, prefix: str) -> list[StackTool]:
    tools = []
    for name in ("ours", "compose v2"):
        directory = workdir / f"{count}-{name.replace(' ', '-')}"
        directory.mkdir()
        (directory / "compose.yaml").write_text(generated_compose(count))
        shutil.copy2(ROOT / "tasks.py", directory / "tasks.py")
        tools.append(StackTool(name, directory, f"{prefix}-{count}-{name.replace(' ', '')}"))
    return tools


def stack_part(sizes: list[int], rounds: int, prefix: str) -> dict[str, Any]:
    if (
        shutil.which("docker") is None
        or subprocess.run(
            ["docker", "compose", "version"], capture_output=True, check=False
        ).returncode
    ):
        raise SystemExit("bench_curves: compose v2 is missing: run .ci/install-compose-v2")
    import docker

    docker.from_env().images.get(BASE_IMAGE)  # raises at once when `invoke base` was not run
    measures = ("up from nothing", "no-op up", "down")
    points: dict[str, dict[str, dict[int, list[float]]]] = {
        measure: {"ours": {}, "compose v2": {}} for measure in measures
    }
    kept: dict[str, dict[int, int]] = {}  # tool -> size -> downs whose network the engine kept
    started = load()
    with tempfile.TemporaryDirectory(prefix="bench-curves-") as tmp:
        for count in sizes:
            tools = stack_tools(Path(tmp), count, prefix)
            try:
                for number in range(rounds):
                    order = tools if number % 2 == 0 else list(reversed(tools))
                    for tool in order:
                        taken = {
                            "up from nothing": [tool.timed(tool.up)],
                            "no-op up": [tool.timed(tool.up), tool.timed(tool.up)],
                            "down": [tool.timed(tool.down)],
                        }
                        for measure, values in taken.items():
                            points[measure][tool.name].setdefault(count, []).extend(values)
                for tool in tools:
                    if tool.networks_kept:
                        kept.setdefault(tool.name, {})[count] = tool.networks_kept
            finally:
                for tool in tools:
                    subprocess.run(
                        tool.down,
                        cwd=tool.directory,
                        env=tool.env,
                        capture_output=True,
                        timeout=COMMAND_SECONDS,
                        check=False,
                    )
    return {
        "points": points,
        "rounds": rounds,
        "networks_kept": kept,
        "load_before": started,
        "load_after": load(),
    }


# --- gallery -------------------------------------------------------------------------------

# Run in the web container (`python -c`): the app's own code against the stack's Redis and
# fakeoss. Prints one JSON line.
GALLERY_SCRIPT = r"""
import json, sys, time
from concurrent.futures import ThreadPoolExecutor
from gallery import create_app
from gallery.clients import clients
from gallery.records import ImageRecord, new_image_id
from gallery.tasks import sweep

app = create_app()
mode = sys.argv[1]
with app.app_context():
    found = clients(app)
    store, catalog = found.store, found.catalog
    if mode == "fill":
        count, thumbnail = int(sys.argv[2]), bytes.fromhex(sys.argv[3])
        size = max(found.settings.THUMBNAIL_SIZES)

        def one(number):
            image_id = new_image_id()
            key = store.thumbnail_key(image_id, size, "webp")
            store.put_bytes(key, thumbnail, content_type="image/webp")
            catalog.save(ImageRecord(
                id=image_id, filename=f"curve-{number}.png", content_type="image/png",
                size=4096, width=640, height=480,
                original_key=store.original_key(image_id, "png"),
                created_at=ImageRecord.now(), thumbnail_status="ready",
                thumbnail_keys={str(size): key}, thumbnail_content_type="image/webp",
            ))

        started = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(one, range(count)))
        print(json.dumps({"seconds": time.perf_counter() - started}))
    elif mode == "rebuild":
        started = time.perf_counter()
        done = catalog.reconcile()
        print(json.dumps({"seconds": time.perf_counter() - started, "added": done.added}))
    elif mode == "sweep":
        started = time.perf_counter()
        result = sweep()
        print(json.dumps({"seconds": time.perf_counter() - started, **result}))
"""


def in_container(container_id: str, command: list[str], seconds: float) -> str:
    """Run `command` in a container of the copy (`docker exec`, bounded); its stdout, or a
    one-line stop."""
    try:
        done = subprocess.run(
            ["docker", "exec", container_id, *command],
            capture_output=True,
            text=True,
            timeout=seconds,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SystemExit(f"bench_curves: {command[:3]} took over {seconds} s") from None
    if done.returncode != 0:
        text = (done.stderr or done.stdout).strip()[-800:]
        raise SystemExit(f"bench_curves: {command[:3]} failed in the copy: {text}")
    return done.stdout


def thumbnail_hex() -> str:
    """A 320x240 WebP, the pre-made thumbnail every record points at."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (320, 240), (40, 90, 160)).save(out, "WEBP")
    return out.getvalue().hex()


# The app's OSS timeout (1.5 s) is for answering a page; the bulk steps (a fill of 90,000
# records with 8 threads, a rebuild reading each) are an operator's tools, and fakeoss stalled
# one request past 1.5 s around 40,000 objects (Python's collector over moto's objects, not
# profiled), which ended the run: they wait as long as `flask gallery rebuild-index` may be given.
BULK_OSS_TIMEOUT = "30"


def app_step(web: str, *args: str) -> dict[str, Any]:
    command = ["env", f"OSS_TIMEOUT={BULK_OSS_TIMEOUT}", "python", "-c", GALLERY_SCRIPT, *args]
    text = in_container(web, command, 3600)
    found: dict[str, Any] = json.loads(text.strip().splitlines()[-1])
    return found


def redis_used_memory(redis_id: str) -> int:
    text = in_container(redis_id, ["redis-cli", "INFO", "memory"], 30)
    match = re.search(r"^used_memory:(\d+)", text, re.MULTILINE)
    if match is None:
        raise SystemExit("bench_curves: redis INFO memory has no used_memory")
    return int(match.group(1))


def only(stack: Stack, service: str) -> str:
    found = [container.id for container in stack.containers(service)]
    if len(found) != 1:
        raise SystemExit(f"bench_curves: the copy has {len(found)} {service} containers, not 1")
    return found[0]


# fakeoss serves with werkzeug, which closes every connection after its answer (real OSS keeps
# them alive, and oss2 reuses them): filling and rebuilding 100,000 records opened a connection
# per request from web and ran out of its ephemeral ports (EADDRNOTAVAIL, 28,000 ports in
# TIME_WAIT for 60 s: about 470 connections a second). The copy's web may reuse a port in
# TIME_WAIT for a new connection (safe with TCP timestamps), as if the fake kept them alive.
REUSE_PORTS = '    sysctls:\n      net.ipv4.tcp_tw_reuse: "1"\n'


def reusing_ports(directory: Path) -> None:
    """The copy's web reuses its ports in TIME_WAIT (only the copy's compose.yaml changes)."""
    compose = directory / "compose.yaml"
    text = compose.read_text()
    if "\n  web:\n" not in text or "sysctls:" in text:
        raise SystemExit("bench_curves: compose.yaml's web cannot take the sysctls line")
    compose.write_text(text.replace("\n  web:\n", "\n  web:\n" + REUSE_PORTS, 1))


def gallery_part(sizes: list[int], seconds: int, rounds: int, prefix: str) -> dict[str, Any]:
    points: dict[str, dict[int, list[float]]] = {}

    def note(measure: str, size: int, value: float) -> None:
        points.setdefault(measure, {}).setdefault(size, []).append(round(value, 4))

    started = load()
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(remove_project_images, f"{prefix}-gallery")
        stack, base = cleanup.enter_context(running_copy(reusing_ports, f"{prefix}-gallery"))
        web, redis_id = only(stack, "web"), only(stack, "redis")
        # The worker's beat runs the sweep on its own schedule: not beside the measures.
        stack.client.api.stop(only(stack, "worker"), timeout=10)
        meters = Meters(stack, int(base.rsplit(":", 1)[1]))
        have, thumbnail = 0, thumbnail_hex()
        for size in sorted(sizes):
            note("fill (s)", size, app_step(web, "fill", str(size - have), thumbnail)["seconds"])
            have = size
            in_container(redis_id, ["redis-cli", "FLUSHDB"], 60)
            empty = redis_used_memory(redis_id)
            rebuilt = app_step(web, "rebuild")
            if rebuilt["added"] != size:
                raise SystemExit(
                    f"bench_curves: rebuild-index added {rebuilt['added']}, not {size}"
                )
            note("rebuild-index (s)", size, rebuilt["seconds"])
            note(
                "Redis memory per image (bytes)", size, (redis_used_memory(redis_id) - empty) / size
            )
            note("sweep (s)", size, app_step(web, "sweep")["seconds"])
            window(f"{base}/main/", 1, meters)  # warm
            for _ in range(rounds):
                for label, path in (("page", "/"), ("API", "/api/images?limit=100")):
                    found = window(f"{base}{path}", seconds, meters)
                    note(f"{label} p50 (ms)", size, found["p50_ms"])
                    note(f"{label} p99 (ms)", size, found["p99_ms"])
                    note(f"{label} rate (req/s)", size, found["rps"])
    return {"points": points, "load_before": started, "load_after": load()}


# --- idle ----------------------------------------------------------------------------------


def resident_bytes(container_id: str) -> int | None:
    """A container's resident memory (anon pages; cgroup v1 `total_rss`, v2 `anon`)."""
    for path, field in (
        (f"/sys/fs/cgroup/memory/docker/{container_id}/memory.stat", "total_rss"),
        (f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/memory.stat", "anon"),
    ):
        with contextlib.suppress(OSError):
            text = Path(path).read_text()
            match = re.search(rf"^{field} (\d+)$", text, re.MULTILINE)
            if match:
                return int(match.group(1))
    return None


@contextlib.contextmanager
def idle_stacks(prefix: str) -> Iterator[dict[str, Stack]]:
    with contextlib.ExitStack() as stacks:
        stacks.callback(remove_project_images, f"{prefix}-idle-ours", f"{prefix}-idle-seed")
        found = {}
        for name, prepare in (("ours", None), ("seed", as_seed)):
            stack, _ = stacks.enter_context(running_copy(prepare, f"{prefix}-idle-{name}"))
            found[name] = stack
        yield found


def idle_part(seconds: float, rounds: int, settle: float, prefix: str) -> dict[str, Any]:
    points: dict[str, dict[str, list[float]]] = {
        "memory (MiB)": {"ours": [], "seed": []},
        "CPU (cores)": {"ours": [], "seed": []},
    }
    started = load()
    with idle_stacks(prefix) as stacks:
        time.sleep(settle)  # the starts' own work done
        for number in range(rounds):
            names = list(stacks) if number % 2 == 0 else list(reversed(stacks))
            for name in names:
                ids = [container.id for container in stacks[name].containers()]
                before = [cgroup_cpu_seconds(container_id) or 0.0 for container_id in ids]
                time.sleep(seconds)
                after = [cgroup_cpu_seconds(container_id) or 0.0 for container_id in ids]
                memory = [resident_bytes(container_id) or 0 for container_id in ids]
                points["CPU (cores)"][name].append(round((sum(after) - sum(before)) / seconds, 4))
                points["memory (MiB)"][name].append(round(sum(memory) / 2**20, 1))
    return {"points": points, "seconds": seconds, "load_before": started, "load_after": load()}


def sizes(text: str) -> list[int]:
    try:
        found = [int(value) for value in text.split(",") if value.strip()]
    except ValueError:
        raise SystemExit(
            f"bench_curves: {text!r} is not a comma-separated list of numbers"
        ) from None
    if not found or min(found) < 1:
        raise SystemExit(f"bench_curves: sizes must be positive numbers, not {text!r}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--part", action="append", choices=("stack", "gallery", "idle"))
    parser.add_argument("--services", default="5,25,100", help="stack sizes (comma-separated)")
    parser.add_argument("--images", default="100,10000,100000", help="gallery sizes")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8, help="wrk window (gallery part)")
    parser.add_argument("--idle-seconds", type=float, default=20, help="one idle window")
    parser.add_argument("--settle", type=float, default=15, help="pause before idle windows")
    parser.add_argument("--project-prefix", default="bench-curves")
    options = parser.parse_args()
    parts = options.part or ["stack", "gallery", "idle"]
    if "gallery" in parts and shutil.which("wrk") is None:
        raise SystemExit("bench_curves: wrk is not installed: apt-get install -y wrk")
    result: dict[str, Any] = {"time": time.strftime("%Y-%m-%d %H:%M:%S")}
    if "stack" in parts:
        result["stack"] = stack_part(
            sizes(options.services), options.rounds, options.project_prefix
        )
    if "gallery" in parts:
        result["gallery"] = gallery_part(
            sizes(options.images), options.seconds, options.rounds, options.project_prefix
        )
    if "idle" in parts:
        result["idle"] = idle_part(
            options.idle_seconds, options.rounds, options.settle, options.project_prefix
        )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
