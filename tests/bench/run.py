"""The bench session: every figure a ratio against a baseline measured in the same run.

Stack figures compare `invoke up` with Debian's docker-compose 1.29.2 (`docker-compose up -d`) on
the same compose.yaml (minus `name:`, which compose v1 does not know), each on its own copy of
the project, project name and loopback port. Writes BENCHMARKS.md. Every loop is bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "stackctl"))

from stack_copy import copy_project, free_port  # noqa: E402

WELCOME = "welcome to CI/CD world 🌏"


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def served(port: int, expected: str, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            url = f"http://127.0.0.1:{port}/main/"
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.read().decode() == expected:
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


class Tool:
    def __init__(
        self,
        name: str,
        directory: Path,
        env: dict[str, str],
        up: list[str],
        up_build: list[str],
        down: list[str],
    ) -> None:
        self.name, self.directory, self.env = name, directory, env
        self.up, self.up_build, self.down = up, up_build, down
        self.port = int(env["NGINX_PORT"])

    def run(self, command: list[str]) -> float:
        return timed(command, self.directory, self.env)

    def until_served(self, command: list[str], expected: str) -> float:
        started = time.perf_counter()
        self.run(command)
        if not served(self.port, expected):
            raise SystemExit(f"bench: {self.name} did not serve {expected!r} within 60 s")
        return time.perf_counter() - started

    def change_source(self, text: str) -> None:
        main_py = self.directory / "src" / "gallery" / "main.py"
        current = main_py.read_text()
        start = current.index('WELCOME = "') + len('WELCOME = "')
        end = current.index('"', start)
        main_py.write_text(current[:start] + text + current[end:])


def make_tools(workdir: Path) -> tuple[Tool, Tool]:
    ours_dir, compose_dir = workdir / "ours", workdir / "compose"
    ours_dir.mkdir()
    compose_dir.mkdir()
    # Production mode: images hold the code, as with docker-compose; develop mode comes after.
    ours_env = {**os.environ, **copy_project(ours_dir), "STACK_MODE": "production"}
    copy_project(compose_dir)
    compose_env = {
        **os.environ,
        "NGINX_PORT": str(free_port()),
        "COMPOSE_PROJECT_NAME": "benchcompose",
    }
    # compose v1 rejects the top-level `name`; give it the same build args stackctl passes, so
    # both share the engine's layer cache.
    from stackctl.buildargs import buildargs_for
    from stackctl.settings import load_settings

    args = buildargs_for(load_settings(compose_dir, os.environ))
    spec = yaml.safe_load((compose_dir / "compose.yaml").read_text())
    spec.pop("name", None)
    for service in spec["services"].values():
        if "build" in service:
            service["build"]["args"] = {**args, **service["build"].get("args", {})}
    (compose_dir / "compose.yaml").write_text(yaml.safe_dump(spec))
    invoke = [sys.executable, "-m", "invoke"]
    dc = ["docker-compose", "-p", "benchcompose", "-f", "compose.yaml"]
    ours = Tool("invoke", ours_dir, ours_env, [*invoke, "up"], [*invoke, "up"], [*invoke, "down"])
    compose = Tool(
        "docker-compose",
        compose_dir,
        compose_env,
        [*dc, "up", "-d"],
        [*dc, "up", "-d", "--build"],
        [*dc, "down"],
    )
    return ours, compose


def remove_images(*projects: str) -> None:
    """Each copy's images are named after its project; their layers stay in the cache."""
    import docker

    api = docker.from_env().api
    for project in projects:
        for image in api.images():
            for tag in image.get("RepoTags") or []:
                if tag.startswith(f"{project}/"):
                    api.remove_image(tag, force=True)


def median_of(rounds: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(rounds))


def stack_rows(rounds: int) -> list[tuple[str, float, float]]:
    rows: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        ours, compose = make_tools(Path(tmp))
        try:
            for tool in (ours, compose):
                tool.until_served(tool.up_build, WELCOME)
            noop = {t.name: median_of(rounds * 2, lambda t=t: t.run(t.up)) for t in (ours, compose)}
            rows.append(("no-op up", noop["invoke"], noop["docker-compose"]))

            change: dict[str, list[float]] = {"invoke": [], "docker-compose": []}
            for number in range(rounds):
                for tool in (ours, compose):
                    text = f"bench change {number}"
                    tool.change_source(text)
                    change[tool.name].append(tool.until_served(tool.up_build, text))
            rows.append(
                (
                    "source change served",
                    statistics.median(change["invoke"]),
                    statistics.median(change["docker-compose"]),
                )
            )

            cold: dict[str, list[float]] = {"invoke": [], "docker-compose": []}
            for _ in range(rounds):
                for tool in (ours, compose):
                    tool.run(tool.down)
                    expected = f"bench change {rounds - 1}"
                    cold[tool.name].append(tool.until_served(tool.up, expected))
            rows.append(
                (
                    "cold up (images built) until served",
                    statistics.median(cold["invoke"]),
                    statistics.median(cold["docker-compose"]),
                )
            )

            # The inner loop: develop mode mounts src/, so an edit needs no command at all.
            ours.run([*ours.up[:-1], "up", "--mode", "develop"])
            edits: list[float] = []
            for number in range(rounds * 2):
                text = f"bench edit {number}"
                started = time.perf_counter()
                ours.change_source(text)
                if not served(ours.port, text, seconds=30):
                    raise SystemExit("bench: develop mode did not serve an edit within 30 s")
                edits.append(time.perf_counter() - started)
            rows.append(
                (
                    "develop: edit served (ours: no command; baseline: up -d --build)",
                    statistics.median(edits),
                    statistics.median(change["docker-compose"]),
                )
            )

            down = {tool.name: tool.run(tool.down) for tool in (ours, compose)}
            rows.append(
                ("down, develop stack (5 services)", down["invoke"], down["docker-compose"])
            )
        finally:
            for tool in (ours, compose):
                subprocess.run(
                    tool.down, cwd=tool.directory, env=tool.env, check=False, capture_output=True
                )
            remove_images(ours.env["COMPOSE_PROJECT_NAME"], compose.env["COMPOSE_PROJECT_NAME"])
    return rows


def fakeoss_row(rounds: int) -> tuple[str, float, float]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            [
                sys.executable,
                str(HERE / "bench_fakeoss.py"),
                "--rounds",
                str(rounds),
                "--max-seconds",
                "60",
                "--output",
                out.name,
            ],
            check=True,
            capture_output=True,
        )
        result = json.loads(Path(out.name).read_text())
    return (
        "fakeoss 1 MB PUT+GET (objects/s)",
        result["fakeoss_objects_per_s"],
        result["moto_objects_per_s"],
    )


def deploy_rows() -> list[str]:
    """Deploy has no baseline to run beside it here: the goal (30 s, 0 failed) is the yardstick."""
    done = subprocess.run(
        [sys.executable, str(HERE / "bench_deploy.py")], check=True, capture_output=True, text=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    first = result["first_deploy_seconds"]
    return [
        f"| first deploy of the whole app (web, worker, redis, fakeoss) to a fresh host "
        f"(s; goal ≤120) | {first:.1f} | 120 (goal) | {first / 120:.2f}× |",
        f"| deploy of a source change (web + worker) until served, one host (s; goal ≤30) | "
        f"{result['deploy_seconds']:.1f} | 30 (goal) | {result['deploy_seconds'] / 30:.2f}× |",
        f"| failed requests during that deploy (of {result['requests']}) | {result['failed']} | "
        "0 (goal) | – |",
    ]


def swarm_rows() -> list[str]:
    """A source change to 3 hosts: Swarm's rolling update of 3 replicas beside the SSH deploy in
    batches of one (the baseline), both until every host serves it (bench_swarm.py)."""
    done = subprocess.run(
        [sys.executable, str(HERE / "bench_swarm.py")], check=True, capture_output=True, text=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    rolling, batches = result["swarm_rolling"], result["ssh_batches"]
    return [
        f"| source change to 3 hosts until all serve it: Swarm rolling update of 3 replicas"
        f" (s; baseline SSH deploy in 3 batches) | {rolling['seconds']:.1f} |"
        f" {batches['seconds']:.1f} | {rolling['seconds'] / batches['seconds']:.2f}× |",
        f"| failed requests through one host meanwhile (Swarm of {rolling['requests']};"
        f" SSH of {batches['requests']}) | {rolling['failed']} | {batches['failed']} | – |",
        f"| first deploy of the whole app to 3 fresh hosts (s; Swarm; baseline SSH in 3 batches)"
        f" | {result['swarm_first_deploy_seconds']:.1f} | {result['ssh_first_deploy_seconds']:.1f}"
        f" | {result['swarm_first_deploy_seconds'] / result['ssh_first_deploy_seconds']:.2f}× |",
    ]


def page_rows() -> list[str]:
    """The gallery page and listing with 100 images through nginx at 16 connections (wrk);
    the baseline is /main/, which reads nothing, in the same run; the goal is 200 req/s."""
    done = subprocess.run(
        [sys.executable, str(HERE / "bench_page.py")], check=True, capture_output=True, text=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    main_rate = result["main"]
    return [
        f"| {name} with 100 images, 16 connections through nginx (req/s; goal ≥200; baseline "
        f"/main/) | {result[key]:.0f} | {main_rate:.0f} | {result[key] / main_rate:.2f}× |"
        for key, name in (("page", "gallery page /"), ("listing", "listing /api/images?limit=100"))
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="rounds per stack measurement")
    parser.add_argument("--skip-stack", action="store_true", help="skip the stack benchmarks")
    parser.add_argument("--skip-deploy", action="store_true", help="skip the deploy benchmark")
    parser.add_argument("--skip-swarm", action="store_true", help="skip the Swarm benchmark")
    parser.add_argument("--skip-page", action="store_true", help="skip the gallery page benchmark")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    options = parser.parse_args()

    lines = [
        "# Benchmarks",
        "",
        f"Written by `nox -s bench` on {time.strftime('%Y-%m-%d %H:%M')}, "
        f"{os.cpu_count()} cores. Medians of {options.rounds} rounds (no-op: "
        f"{options.rounds * 2}); lower is better for seconds, higher for rates.",
        "",
        "| measure | ours | baseline | ratio (ours / baseline) |",
        "|---|---|---|---|",
    ]
    if not options.skip_stack:
        for name, ours, base in stack_rows(options.rounds):
            lines.append(
                f"| {name} (s; baseline docker-compose 1.29.2) | {ours:.2f} | "
                f"{base:.2f} | {ours / base:.2f}× |"
            )
    name, ours, base = fakeoss_row(60)
    lines.append(
        f"| {name}; baseline raw moto server | {ours:.1f} | {base:.1f} | {ours / base:.2f}× |"
    )
    if not options.skip_page:
        lines.extend(page_rows())
    if not options.skip_deploy:
        lines.extend(deploy_rows())
    if not options.skip_swarm:
        lines.extend(swarm_rows())
    text = "\n".join(lines) + "\n"
    options.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
