"""The bench session: every figure a ratio against a baseline measured in the same run.

Stack figures compare `invoke` with docker compose v2 (`docker compose up -d --wait`, which waits
for health as `invoke up` does; .ci/install-compose-v2 installs it) and Debian's docker-compose
1.29.2 (`docker-compose up -d`, which does not wait), on the same compose.yaml (minus `name:`,
which v1 does not know), each on its own copy of the project, project name and loopback port,
interleaved round by round. Writes BENCHMARKS.md with the machine's load average before and
after. Every loop is bounded.
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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

sys.path.insert(0, str(HERE))  # the bench's own modules (tables, charts)
sys.path.insert(0, str(ROOT / "tests"))  # tests/support (a benchmark runs as a script)
from tables import curve_table, load_line, servers_table  # noqa: E402

from support.stack_copy import copy_project, free_port  # noqa: E402

WELCOME = "welcome to CI/CD world 🌏"


def load_average() -> str:
    return " / ".join(f"{value:.1f}" for value in os.getloadavg()) + " (1/5/15 min)"


LOAD_AT_START = load_average()


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


OURS, V2, V1 = "invoke", "compose v2", "compose v1"
PEER_HEALTH_INTERVAL = "1s"


def make_tools(workdir: Path, prefix: str, ports: list[int]) -> list[Tool]:
    """invoke, docker compose v2 (`up -d --wait`, which waits for health as invoke does) and
    compose v1 (`up -d`, which does not), each on its own copy, project name and port."""
    tools: list[Tool] = []
    compose_file: str | None = None
    for name, port in zip((OURS, V2, V1), ports, strict=True):
        directory = workdir / name.replace(" ", "-")
        directory.mkdir()
        copy_project(directory)
        project = f"{prefix}-{name.replace(' ', '')}"
        # Production mode: images hold the code, as with compose; develop mode comes after.
        env = {
            **os.environ,
            "COMPOSE_PROJECT_NAME": project,
            "NGINX_PORT": str(port),
            "STACK_MODE": "production",
        }
        if name == OURS:
            invoke = [sys.executable, "-m", "invoke"]
            tools.append(
                Tool(name, directory, env, [*invoke, "up"], [*invoke, "up"], [*invoke, "down"])
            )
            continue
        if compose_file is None:
            compose_file = compose_for_peers(directory)
        (directory / "compose.yaml").write_text(compose_file)
        if name == V2:
            dc = ["docker", "compose", "-p", project, "-f", "compose.yaml"]
            up, up_build = [*dc, "up", "-d", "--wait"], [*dc, "up", "-d", "--wait", "--build"]
        else:
            dc = ["docker-compose", "-p", project, "-f", "compose.yaml"]
            up, up_build = [*dc, "up", "-d"], [*dc, "up", "-d", "--build"]
        tools.append(Tool(name, directory, env, up, up_build, [*dc, "down"]))
    return tools


def compose_for_peers(directory: Path) -> str:
    """compose.yaml for both composes: without the top-level `name` (v1 rejects it), with the
    build args stackctl passes (the CA bundle pip needs here) written in, and health checks
    every second (PEER_HEALTH_INTERVAL): `up --wait` and depends_on's service_healthy wait for
    Docker's own first check, an interval after each start, so 1 s is their best setting
    (compose.yaml's 5 s would add 4 s to every level of theirs; ours runs the check itself)."""
    from stackctl.images.buildargs import buildargs_for
    from stackctl.settings import load_settings

    args = buildargs_for(load_settings(directory, os.environ))
    spec = yaml.safe_load((directory / "compose.yaml").read_text())
    spec.pop("name", None)
    for service in spec["services"].values():
        if "build" in service:
            service["build"]["args"] = {**args, **service["build"].get("args", {})}
        if "healthcheck" in service:
            service["healthcheck"]["interval"] = PEER_HEALTH_INTERVAL
    return str(yaml.safe_dump(spec))


def develop_command(tool: Tool, command: list[str]) -> list[str]:
    """The same command on the develop stack (containers/compose.develop.yaml merged over)."""
    if tool.name == OURS:
        return [*command, "--mode", "develop"] if command[-1] == "up" else command
    at = command.index("compose.yaml") + 1
    return [*command[:at], "-f", "containers/compose.develop.yaml", *command[at:]]


def remove_images(*projects: str) -> None:
    """Each copy's images are named after its project; their layers stay in the cache."""
    import docker

    api = docker.from_env().api
    for project in projects:
        for image in api.images():
            for tag in image.get("RepoTags") or []:
                if tag.startswith(f"{project}/"):
                    api.remove_image(tag, force=True)


def web_image(tool: Tool) -> dict[str, object]:
    import docker

    found: dict[str, object] = docker.from_env().api.inspect_image(
        f"{tool.env['COMPOSE_PROJECT_NAME']}/web:latest"
    )
    return found


def layer_ids(image: str) -> set[str]:
    import docker

    return {str(layer["Id"]) for layer in docker.from_env().api.history(image)}


def new_layers_bytes(before: set[str], after: str) -> int:
    """Bytes of the layers image `after` has that were not among `before` (docker history)."""
    import docker

    history = docker.from_env().api.history(after)
    return sum(int(layer["Size"]) for layer in history if layer["Id"] not in before)


def median_of(rounds: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(rounds))


Row = tuple[str, float, float, float]  # measure, invoke, compose v2, compose v1


def stack_rows(rounds: int, prefix: str, ports: list[int]) -> tuple[list[Row], list[str]]:
    """Interleaved: every round runs invoke, v2 and v1 one after the other, so load that comes
    and goes on a shared machine falls on all three alike."""
    rows: list[Row] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        tools = make_tools(Path(tmp), prefix, ports)
        ours = tools[0]
        try:
            for tool in tools:
                tool.until_served(tool.up_build, WELCOME)

            def interleaved(measure: Callable[[Tool, int], float], times: int) -> list[float]:
                taken: dict[str, list[float]] = {tool.name: [] for tool in tools}
                for number in range(times):
                    for tool in tools:
                        taken[tool.name].append(measure(tool, number))
                return [statistics.median(taken[tool.name]) for tool in tools]

            noop = interleaved(lambda tool, n: tool.run(tool.up), rounds * 2)
            rows.append(("no-op up (s)", *noop))

            # invoke up removes the image a rebuild superseded: keep its layers' ids now.
            layers_before = layer_ids(str(web_image(ours)["Id"]))

            def source_change(tool: Tool, number: int) -> float:
                text = f"bench change {number}"
                tool.change_source(text)
                return tool.until_served(tool.up_build, text)

            change = interleaved(source_change, rounds)
            rows.append(("source change (one line in main.py) until served (s)", *change))
            image_after = web_image(ours)
            layer = new_layers_bytes(layers_before, str(image_after["Id"]))
            notes.append(
                f"| a source change's new layers in the web image (kB; goal ≤1000) | "
                f"{layer / 1000:.0f} | 1000 (goal) | – | {layer / 1_000_000:.2f}× |"
            )
            size = int(str(image_after["Size"]))
            notes.append(
                f"| web image size (MB; goal ≤185) | {size / 1e6:.0f} | 185 (goal) | – | "
                f"{size / 180e6:.2f}× |"
            )

            expected = f"bench change {rounds - 1}"
            downs: dict[str, list[float]] = {tool.name: [] for tool in tools}

            def cold(tool: Tool, number: int) -> float:
                downs[tool.name].append(tool.run(tool.down))
                return tool.until_served(tool.up, expected)

            cold_up = interleaved(cold, rounds)
            rows.append(("up from nothing (images there) until served (s)", *cold_up))
            rows.append(
                (
                    "down, production stack (5 services) (s)",
                    *(statistics.median(downs[tool.name]) for tool in tools),
                )
            )

            # The inner loop: develop mode mounts src/, so an edit needs no command at all; the
            # composes have no reload, their figure is their source change's.
            for tool in tools:
                tool.run(develop_command(tool, tool.up))
            if not served(ours.port, expected):
                raise SystemExit("bench: develop mode did not come up")
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
                    "develop: edit served (ours: no command; composes: their source change) (s)",
                    statistics.median(edits),
                    change[1],
                    change[2],
                )
            )

            def develop_down(tool: Tool, number: int) -> float:
                if number:
                    # v1 does not wait for health: every tool's stack serves before it goes down.
                    tool.run(develop_command(tool, tool.up))
                    served(tool.port, f"bench edit {rounds * 2 - 1}" if tool is ours else expected)
                return tool.run(develop_command(tool, tool.down))

            rows.append(
                ("down, develop stack (5 services) (s)", *interleaved(develop_down, rounds))
            )
        finally:
            for tool in tools:
                subprocess.run(
                    tool.down, cwd=tool.directory, env=tool.env, check=False, capture_output=True
                )
            remove_images(*(tool.env["COMPOSE_PROJECT_NAME"] for tool in tools))
    return rows, notes


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
    result: dict[str, Any] = bench_json("bench_deploy.py")
    first = result["first_deploy_seconds"]
    return [
        f"| first deploy of the whole app (web, worker, redis, fakeoss) to a fresh host "
        f"(s; goal ≤120) | {first:.1f} | 120 (goal) | {first / 120:.2f}× |",
        f"| deploy of a source change (web + worker) until served, one host (s; goal ≤30) | "
        f"{result['deploy_seconds']:.1f} | 30 (goal) | {result['deploy_seconds'] / 30:.2f}× |",
        f"| failed requests during that deploy (of {result['requests']}) | {result['failed']} | "
        "0 (goal) | – |",
    ]


def swarm_rows(result: dict[str, Any] | None = None) -> list[str]:
    """A source change to 3 hosts: Swarm's rolling update of 3 replicas beside the SSH deploy in
    batches of one (the baseline), both until every host serves it (bench_swarm.py; `result`:
    the deploy curve's own 3-host run, not measured twice)."""
    if result is None:
        result = bench_json("bench_swarm.py", "--hosts", "3")
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
    result: dict[str, Any] = bench_json("bench_page.py")
    main_rate = result["main"]
    return [
        f"| {name} with 100 images, 16 connections through nginx (req/s; goal ≥200; baseline "
        f"/main/) | {result[key]:.0f} | {main_rate:.0f} | {result[key] / main_rate:.2f}× |"
        for key, name in (("page", "gallery page /"), ("listing", "listing /api/images?limit=100"))
    ]


def bench_json(script: str, *args: str) -> dict[str, object]:
    """The JSON a part's script prints last; its own progress and errors pass through to stderr
    (a failed part says why, not only its exit status)."""
    done = subprocess.run(
        [sys.executable, str(HERE / script), *args], check=True, stdout=subprocess.PIPE, text=True
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def throughput_rows(project_prefix: str, port_base: int) -> list[str]:
    """/main/ through nginx at 16 connections (wrk): the stack as it ships against the seed's
    flow (Flask's dev server behind nginx, HTTP/1.0 upstream), windows interleaved."""
    args = ["--project-prefix", f"{project_prefix}-tput"]
    if port_base:
        args += ["--port-base", str(port_base + 3)]
    result = bench_json("bench_throughput.py", *args)
    ours, seed, windows = result["ours"], result["seed"], result["windows"]
    assert isinstance(ours, dict)
    assert isinstance(seed, dict)
    assert isinstance(windows, dict)
    rates = " / ".join(
        f"{mine['rps']:.0f}:{theirs['rps']:.0f}"
        for mine, theirs in zip(windows["ours"], windows["seed"], strict=True)
    )
    web = statistics.median(w["cpu_ms_per_request"].get("web", 0) for w in windows["ours"])
    return [
        "| /main/ through nginx, 16 connections (req/s; goal ≥5× the seed's flow: Flask dev server"
        f" behind nginx, HTTP/1.0 upstream) | {ours['rps']:.0f} | {seed['rps']:.0f} |"
        f" {ours['rps'] / seed['rps']:.2f}× |",
        f"| worst round of that load (goal ≥5× in every window; ours:seed req/s per round {rates})"
        f" | | | {result['min_ratio']}× |",
        f"| p99 latency of that load (ms; goal ≤10; baseline the seed's flow) | {ours['p99_ms']}"
        f" | {seed['p99_ms']} | {ours['p99_ms'] / seed['p99_ms']:.2f}× |",
        f"| CPU per request in web (gunicorn + Flask) under that load (ms; median window) | {web}"
        " | | |",
    ]


def metrics_rows(project_prefix: str, port_base: int) -> list[str]:
    """/main/ through nginx at 16 connections (wrk) with the gallery's metrics on (as shipped)
    and off (METRICS_ENABLED=false), windows interleaved."""
    args = ["--project-prefix", f"{project_prefix}-metrics"]
    if port_base:
        args += ["--port-base", str(port_base + 5)]
    result = bench_json("bench_metrics.py", *args)
    on, off = result["on"], result["off"]
    assert isinstance(on, dict)
    assert isinstance(off, dict)
    return [
        "| /main/ through nginx with metrics, 16 connections (req/s; goal ≤5% lost; baseline"
        f" metrics off) | {on['rps']:.0f} | {off['rps']:.0f} | {on['rps'] / off['rps']:.2f}× |",
        f"| p99 latency of that load with metrics (ms; baseline metrics off) | {on['p99_ms']}"
        f" | {off['p99_ms']} | {on['p99_ms'] / off['p99_ms']:.2f}× |",
    ]


def https_rows(project_prefix: str) -> list[str]:
    """/main/ through nginx at 16 connections (wrk) over HTTPS (TLS, keep-alive) beside plain
    HTTP, windows interleaved."""
    result = bench_json("bench_https.py", "--project-prefix", f"{project_prefix}-https")
    https, http = result["https"], result["http"]
    assert isinstance(https, dict)
    assert isinstance(http, dict)
    return [
        "| /main/ through nginx over HTTPS (TLS 1.3, keep-alive), 16 connections (req/s;"
        f" baseline plain HTTP) | {https['rps']:.0f} | {http['rps']:.0f} |"
        f" {https['rps'] / http['rps']:.2f}× |",
        f"| p99 latency of that load over HTTPS (ms; baseline plain HTTP) | {https['p99_ms']}"
        f" | {http['p99_ms']} | {https['p99_ms'] / http['p99_ms']:.2f}× |",
    ]


def https_deploy_rows() -> list[str]:
    """The first deploy with a certificate obtained on the way (acme, a local ACME server)
    against the same first deploy on plain HTTP, each to a fresh host (bench_https_deploy.py)."""
    result = bench_json("bench_https_deploy.py")
    https, plain = result["https_seconds"], result["plain_seconds"]
    assert isinstance(https, float)
    assert isinstance(plain, float)
    return [
        "| first deploy of the whole app to a fresh host with its certificate obtained by ACME"
        f" (HTTP-01, local ACME server) until served over HTTPS (s; baseline the same deploy on"
        f" plain HTTP) | {https:.1f} | {plain:.1f} | {https / plain:.2f}× |",
        "| of which: from the deploy's end until the certificate was served (s) |"
        f" {result['issued_after_deploy_seconds']} | – | – |",
    ]


def compose_load_rows() -> list[str]:
    """A 5.8 MB compose.yaml read by stackctl against PyYAML's CSafeLoader, and the hostile
    files the tests refuse."""
    result = bench_json("bench_compose_load.py")
    ours, base = float(result["ours_cpu_s"]), float(result["csafeloader_cpu_s"])  # type: ignore[arg-type]
    slowest = float(result["hostile_slowest_s"])  # type: ignore[arg-type]
    return [
        f"| a {result['megabytes']} MB compose.yaml read (CPU s; goal ≤1; baseline PyYAML's"
        f" CSafeLoader) | {ours:.2f} | {base:.2f} | {ours / base:.2f}× |",
        f"| slowest of {result['hostile_files']} hostile files (alias bomb 10^10, 1,000-deep,"
        f" 50 MB, binary...) until its one-line refusal (s; goal ≤1) | {slowest:.3f} | 1 (goal)"
        f" | {slowest:.3f}× |",
    ]


def servers_section(project_prefix: str, seconds: int, images: int, rounds: int) -> list[str]:
    """The serving path, chosen by measurement (bench_servers.py): every candidate WSGI server
    behind the same nginx, windows interleaved, at 16 and 64 connections on three paths."""
    result = bench_json(
        "bench_servers.py",
        "--project-prefix",
        f"{project_prefix}-servers",
        "--seconds",
        str(seconds),
        "--images",
        str(images),
        "--rounds",
        str(rounds),
    )
    guarantees = result["guarantees"]
    assert isinstance(guarantees, dict)
    checked = "; ".join(
        f"{name}: request id {'yes' if found['request id'] else 'NO'},"
        f" web stopped in {found['web stop s']} s,"
        f" web resident {found['web resident MiB after the load']} MiB after the load"
        for name, found in guarantees.items()
    )
    return [
        "",
        f"### The serving path: candidate servers side by side ({images} images; medians of"
        f" {result['rounds']} windows of {seconds} s, min-max in brackets)",
        "",
        load_line("This part", result["load_before"], result["load_after"]),  # type: ignore[arg-type]
        "",
        *servers_table(result),
        "",
        "Guarantees checked per server (X-Request-ID: nginx's id back through the app; the"
        " stop: `docker stop` of web with nginx's idle connections open):",
        f"{checked}.",
    ]


CURVE_PARTS = ("stack", "gallery", "idle")


def curve_parts(text: str) -> list[str]:
    """--curve-parts as bench_curves.py's parts, refusing an unknown one by name."""
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [part for part in chosen if part not in CURVE_PARTS]
    if unknown or not chosen:
        raise SystemExit(
            f"run.py: --curve-parts {text!r}: choose among {', '.join(CURVE_PARTS)}"
            " (comma-separated)"
        )
    return chosen


def curves_section(
    project_prefix: str,
    services: str,
    images: str,
    rounds: int,
    charts: Path,
    root: Path,
    parts: Sequence[str] = CURVE_PARTS,
) -> list[str]:
    """The cost curves (bench_curves.py): each measure a table and a PNG chart in `charts`,
    linked relative to `root` (the folder of the BENCHMARKS.md being written); `parts` picks
    bench_curves.py's parts."""
    result = bench_json(
        "bench_curves.py",
        "--project-prefix",
        f"{project_prefix}-curves",
        "--services",
        services,
        "--images",
        images,
        "--rounds",
        str(rounds),
        *[argument for part in parts for argument in ("--part", part)],
    )
    return curves_lines(result, charts, root)


def chart_link(path: Path, title: str, root: Path) -> str:
    """A chart as BENCHMARKS.md shows it: linked relative to `root`, the file's folder."""
    return f"![{title}]({Path(os.path.relpath(path, root)).as_posix()})"


def deploy_curve(counts: list[int]) -> dict[str, Any]:
    """bench_swarm.py at each host count, one after another, with the load average around."""
    load_before = os.getloadavg()
    runs = {count: bench_json("bench_swarm.py", "--hosts", str(count)) for count in counts}
    return {"runs": runs, "load_before": load_before, "load_after": os.getloadavg()}


def deploy_curve_lines(
    curve: dict[str, Any], charts: Path, root: Path, draw: Callable[..., Path] | None = None
) -> list[str]:
    """The deploy curve as tables (a source change until every host serves it, the first
    deploy, the failed requests meanwhile) and charts, Swarm beside SSH in batches of one."""
    if draw is None:
        from charts import draw_curve as draw
    runs: dict[int, dict[str, Any]] = curve["runs"]
    counts = ", ".join(str(count) for count in runs)
    lines = [
        "",
        f"#### Deploys as the hosts grow: {counts} simulated ECS hosts, Swarm and SSH",
        "",
        load_line("This part", curve["load_before"], curve["load_after"]),
        "",
        "One run per point (a point is minutes of Docker-in-Docker work); the load goes through"
        " the first host's port during each source change.",
    ]

    def at_each_count(key: str, part: str | None = None) -> dict[int, list[float]]:
        """One point per host count: run[key], or run[part][key]."""
        return {n: [(r[part] if part else r)[key]] for n, r in runs.items()}

    # (chart file, title, points)
    measures = (
        (
            "deploy-source-change",
            "source change until every host serves it",
            {
                "Swarm rolling update": at_each_count("seconds", "swarm_rolling"),
                "SSH, batches of one": at_each_count("seconds", "ssh_batches"),
            },
        ),
        (
            "deploy-first-deploy",
            "first deploy of the whole app",
            {
                "Swarm": at_each_count("swarm_first_deploy_seconds"),
                "SSH, batches of one": at_each_count("ssh_first_deploy_seconds"),
            },
        ),
    )
    for name, title, points in measures:
        lines += ["", f"{title} (s):", "", *curve_table("hosts", "s", points)]
        path = draw(charts / f"{name}.png", title, "hosts", "seconds", points)
        lines.extend(["", chart_link(path, title, root)])
    lines += [
        "",
        "| hosts | failed requests during the Swarm update | during the SSH deploy |",
        "|---|---|---|",
    ]
    for count, run in runs.items():
        swarm, ssh = run["swarm_rolling"], run["ssh_batches"]
        lines.append(
            f"| {count} | {swarm['failed']} of {swarm['requests']}"
            f" | {ssh['failed']} of {ssh['requests']} |"
        )
    return lines


# The gallery curve's charts: file name, title, value axis, and the measures drawn together.
GALLERY_CHARTS = (
    (
        "latency",
        "gallery page and API latency, 16 connections",
        "ms",
        ("page p50 (ms)", "page p99 (ms)", "API p50 (ms)", "API p99 (ms)"),
    ),
    ("rate", "gallery page and API rate", "req/s", ("page rate (req/s)", "API rate (req/s)")),
    ("maintenance", "rebuild-index and sweep", "s", ("rebuild-index (s)", "sweep (s)")),
    (
        "redis-memory",
        "Redis memory per image",
        "bytes",
        ("Redis memory per image (bytes)",),
    ),
)


def curves_lines(
    result: dict[str, Any], charts: Path, root: Path, draw: Callable[..., Path] | None = None
) -> list[str]:
    """bench_curves.py's JSON as BENCHMARKS.md's tables, each curve also drawn into `charts` by
    `draw` (charts.draw_curve: path, title, size label, value label, points) and linked relative
    to `root`, BENCHMARKS.md's folder; a part not in `result` is left out."""
    if draw is None:
        from charts import draw_curve as draw

    lines = ["", "### Cost curves"]

    def chart(name: str, title: str, size: str, unit: str, points: dict[str, Any]) -> None:
        assert draw is not None
        lines.extend(
            ["", chart_link(draw(charts / f"{name}.png", title, size, unit, points), title, root)]
        )

    if "stack" in result:
        stack = result["stack"]
        lines += ["", "#### Generated stacks: ours (invoke) against compose v2", ""]
        lines.append(load_line("This part", stack["load_before"], stack["load_after"]))
        for measure, points in stack["points"].items():
            found = {side: {int(k): v for k, v in sizes.items()} for side, sizes in points.items()}
            lines += ["", *curve_table(f"{measure} (services)", "s", found)]
            chart(f"stack-{measure.replace(' ', '-')}", measure, "services", "seconds", found)
        for side, sizes in stack.get("networks_kept", {}).items():
            counted = ", ".join(f"{times} at {size} services" for size, times in sizes.items())
            lines += [
                "",
                f"{side}: the engine kept the network after the containers were removed"
                f" ({counted} of {stack['rounds']} downs; Docker 20.10's stale"
                " endpoint count, moby#43286): the down is counted, the next `up` joins it.",
            ]
    if "gallery" in result:
        gallery = result["gallery"]
        lines += ["", "#### The gallery as it grows", ""]
        lines.append(load_line("This part", gallery["load_before"], gallery["load_after"]))
        measures = {
            measure: {int(k): v for k, v in sizes.items()}
            for measure, sizes in gallery["points"].items()
        }
        lines += ["", *curve_table("images", "", measures, ratios=False)]
        for name, title, unit, chosen in GALLERY_CHARTS:
            found = {measure: measures[measure] for measure in chosen if measure in measures}
            if found:
                chart(f"gallery-{name}", title, "images", unit, found)
    if "idle" in result:
        idle = result["idle"]
        lines += ["", "#### The idle stack: ours against the seed's", ""]
        lines.append(load_line("This part", idle["load_before"], idle["load_after"]))
        lines += ["", "| measure | ours | seed | ours / seed |", "|---|---|---|---|"]
        for measure, sides in idle["points"].items():
            ours, seed = statistics.median(sides["ours"]), statistics.median(sides["seed"])
            ratio = f"{ours / seed:.2f}×" if seed else "–"
            lines.append(f"| {measure}, all containers | {ours:.3g} | {seed:.3g} | {ratio} |")
        memory = idle["points"].get("memory (MiB)")
        if memory:
            shares = {side: statistics.median(values) / 2048 for side, values in memory.items()}
            lines += [
                "",
                f"Of a 2 GiB ECS instance's memory, the idle stack's containers take"
                f" {shares['ours']:.0%} (the seed's {shares['seed']:.0%}); the OS and the engine"
                " come on top.",
            ]
    return lines


NOTES_MARK = "<!-- run.py keeps everything below this line: hand-written notes, earlier runs -->"


def kept_notes(output: Path) -> str:
    """What follows NOTES_MARK in the file being rewritten (the mark included): a run replaces
    its tables, never the explanations and history written below them."""
    if not output.exists():
        return ""
    previous = output.read_text()
    at = previous.find(NOTES_MARK)
    return "" if at < 0 else "\n" + previous[at:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="rounds per stack measurement")
    parser.add_argument("--skip-stack", action="store_true", help="skip the stack benchmarks")
    parser.add_argument("--skip-deploy", action="store_true", help="skip the deploy benchmark")
    parser.add_argument("--skip-swarm", action="store_true", help="skip the Swarm benchmark")
    parser.add_argument("--skip-page", action="store_true", help="skip the gallery page benchmark")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument(
        "--project-prefix", default="bench", help="the three stacks' project names start so"
    )
    parser.add_argument(
        "--port-base", type=int, default=0, help="nginx ports BASE..BASE+2 (default: free ones)"
    )
    parser.add_argument("--skip-fakeoss", action="store_true", help="skip the fakeoss benchmark")
    parser.add_argument(
        "--skip-throughput", action="store_true", help="skip the throughput benchmark (needs wrk)"
    )
    parser.add_argument(
        "--skip-compose-load", action="store_true", help="skip the compose file reading benchmark"
    )
    parser.add_argument(
        "--skip-metrics", action="store_true", help="skip the cost-of-metrics benchmark (wrk)"
    )
    parser.add_argument(
        "--skip-https",
        action="store_true",
        help="skip the cost-of-HTTPS benchmarks (wrk; first deploy with ACME)",
    )
    parser.add_argument(
        "--skip-servers", action="store_true", help="skip the serving-path comparison (wrk)"
    )
    parser.add_argument("--servers-seconds", type=int, default=8, help="one server window (s)")
    parser.add_argument("--skip-curves", action="store_true", help="skip the cost curves")
    parser.add_argument("--curve-services", default="5,25,100", help="generated stack sizes")
    parser.add_argument("--curve-images", default="100,10000,100000", help="gallery sizes")
    parser.add_argument(
        "--curve-parts",
        default=",".join(CURVE_PARTS),
        help="which cost curves to measure (comma-separated: stack, gallery, idle)",
    )
    parser.add_argument(
        "--skip-deploy-curve", action="store_true", help="skip the deploy curve (1/3/6 hosts)"
    )
    parser.add_argument("--curve-hosts", default="1,3,6", help="the deploy curve's host counts")
    parser.add_argument(
        "--charts",
        type=Path,
        default=None,
        help="where the curves' PNGs go (default: benchmarks/ beside --output)",
    )
    options = parser.parse_args()
    chosen_curves = curve_parts(options.curve_parts)  # refused here, not after minutes of runs

    lines = [
        "# Benchmarks",
        "",
        f"Written by `nox -s bench` on {time.strftime('%Y-%m-%d %H:%M')}, "
        f"{os.cpu_count()} cores, load average {LOAD_AT_START} at the start and {{load_at_end}} at "
        f"the end (other work on the machine; the tools run interleaved, round by round, so it "
        f"falls on all alike). Medians of {options.rounds} rounds (no-op: "
        f"{options.rounds * 2}); lower is better for seconds, higher for rates.",
        "",
        "| measure | ours | baseline | ratio (ours / baseline) |",
        "|---|---|---|---|",
    ]
    if not options.skip_stack:
        ports = (
            [options.port_base + n for n in range(3)]
            if options.port_base
            else [free_port() for _ in range(3)]
        )
        rows, notes = stack_rows(options.rounds, options.project_prefix, ports)
        lines[-2:] = [
            "| measure | ours (invoke) | compose v2 (`up -d --wait`) | compose v1 (`up -d`) "
            "| ratio to v2 | ratio to v1 |",
            "|---|---|---|---|---|---|",
        ]
        for name, ours, v2, v1 in rows:
            lines.append(
                f"| {name} | {ours:.2f} | {v2:.2f} | {v1:.2f} | {ours / v2:.2f}× "
                f"| {ours / v1:.2f}× |"
            )
        lines.extend(notes)
        lines.extend(
            ["", "| measure | ours | baseline | ratio (ours / baseline) |", "|---|---|---|---|"]
        )
    if not options.skip_fakeoss:
        name, ours_rate, base = fakeoss_row(60)
        lines.append(
            f"| {name}; baseline raw moto server | {ours_rate:.1f} | {base:.1f} | "
            f"{ours_rate / base:.2f}× |"
        )
    if not options.skip_page:
        lines.extend(page_rows())
    if not options.skip_throughput:
        lines.extend(throughput_rows(options.project_prefix, options.port_base))
    if not options.skip_metrics:
        lines.extend(metrics_rows(options.project_prefix, options.port_base))
    if not options.skip_https:
        lines.extend(https_rows(options.project_prefix))
        lines.extend(https_deploy_rows())
    if not options.skip_compose_load:
        lines.extend(compose_load_rows())
    if not options.skip_deploy:
        lines.extend(deploy_rows())
    charts = options.charts or options.output.resolve().parent / "benchmarks"
    curve = None
    if not options.skip_deploy_curve:
        curve = deploy_curve([int(count) for count in options.curve_hosts.split(",")])
    if not options.skip_swarm:
        lines.extend(swarm_rows(curve["runs"].get(3) if curve else None))
    if not options.skip_servers:
        lines.extend(
            servers_section(options.project_prefix, options.servers_seconds, 100, options.rounds)
        )
    if not options.skip_curves:
        lines.extend(
            curves_section(
                options.project_prefix,
                options.curve_services,
                options.curve_images,
                options.rounds,
                charts,
                options.output.resolve().parent,
                chosen_curves,
            )
        )
    if curve is not None:
        lines.extend(deploy_curve_lines(curve, charts, options.output.resolve().parent))
    text = "\n".join(lines).replace("{load_at_end}", load_average()) + "\n"
    options.output.write_text(text + kept_notes(options.output))
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
