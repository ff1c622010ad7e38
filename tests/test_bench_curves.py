"""The bench's pure pieces (issue 30): the generated stacks of the stack cost curve, the tables
and charts run.py writes into BENCHMARKS.md, and bench_servers.py's candidate stacks, each a
copy changed only in its own files and still a valid stack. No engine, no network."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from stackctl.stack.workspace import load_workspace
from support.scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "tests" / "bench"


def load(name: str) -> ModuleType:
    # The bench scripts put tests/bench on the path themselves (they run as scripts).
    return load_script(BENCH / f"{name}.py", name, register=True)


def generated_project(tmp_path: Path, count: int) -> object:
    (tmp_path / "compose.yaml").write_text(load("generated_stack").generated_compose(count))
    return load_workspace(tmp_path, environ={}, mode="production").project


# --- generated stacks ----------------------------------------------------------------------


@pytest.mark.parametrize("count", [5, 25, 100])
def test_a_generated_stack_has_as_many_services_as_asked(tmp_path: Path, count: int) -> None:
    project = generated_project(tmp_path, count)
    assert len(project.services) == count  # type: ignore[attr-defined]


def test_generated_services_run_the_offline_base_under_init(tmp_path: Path) -> None:
    project = generated_project(tmp_path, 5)
    for service in project.services.values():  # type: ignore[attr-defined]
        assert service.image == "stackctl/debian:bookworm"
        assert service.init is True


def test_a_generated_service_depends_on_its_counterpart_one_tier_before() -> None:
    spec = yaml.safe_load(load("generated_stack").generated_compose(25, tier_width=10))
    assert "depends_on" not in spec["services"]["svc-009"]
    assert spec["services"]["svc-010"]["depends_on"] == {
        "svc-000": {"condition": "service_started"}
    }
    assert spec["services"]["svc-024"]["depends_on"] == {
        "svc-014": {"condition": "service_started"}
    }


def test_a_stack_of_no_services_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1 service, not 0"):
        load("generated_stack").generated_compose(0)


# --- tables --------------------------------------------------------------------------------


def test_wrk_timeouts_alone_are_counted_and_any_other_socket_error_is_not() -> None:
    throughput = load("bench_throughput")
    timeouts = "  Socket errors: connect 0, read 0, write 0, timeout 2\n"
    assert throughput.only_timeouts(timeouts)
    assert throughput.timeouts_in(timeouts) == 2
    assert not throughput.only_timeouts("  Socket errors: connect 0, read 3, write 0, timeout 2\n")
    assert throughput.timeouts_in("Requests/sec: 10\n") == 0


def test_a_spread_is_the_median_with_the_rounds_range() -> None:
    spread = load("tables").spread
    assert spread([3.0, 1.0, 2.0]) == "2.00 (1.00–3.00)"
    assert spread([2900.0, 3100.0, 3000.0]) == "3000 (2900–3100)"
    assert spread([18.44]) == "18.4"
    assert spread([0.1486]) == "0.149"
    assert spread([]) == "–"


def test_the_servers_table_has_a_row_per_server_and_load_against_the_first() -> None:
    window = {"rps": 0.0, "p50_ms": 1.0, "p99_ms": 10.0, "cpu_ms_per_request": {"web": 0.4}}
    result = {
        "windows": {
            "gunicorn gthread": {"/main/ c16": [{**window, "rps": 1000.0}]},
            "granian": {"/main/ c16": [{**window, "rps": 1500.0, "p99_ms": 5.0, "timeouts": 2}]},
        }
    }
    lines = load("tables").servers_table(result)
    assert lines[0].startswith("| load | server | req/s |")
    assert lines[2] == "| /main/ c16 | gunicorn gthread | 1000 | 1.0 | 10.0 | 0.400 | 1.00× | 0 |"
    assert lines[3] == "| /main/ c16 | granian | 1500 | 1.0 | 5.00 | 0.400 | 1.50× | 2 |"


def test_a_curve_table_has_a_row_per_size_and_ours_over_the_peer() -> None:
    points = {"ours": {5: [1.0, 2.0, 3.0], 25: [4.0]}, "compose v2": {5: [4.0], 25: [8.0]}}
    lines = load("tables").curve_table("services", "s", points)
    assert lines[0] == "| services | ours (s) | compose v2 (s) | ours / compose v2 |"
    assert lines[2] == "| 5 | 2.00 (1.00–3.00) | 4.00 | 0.50× |"
    assert lines[3] == "| 25 | 4.00 | 8.00 | 0.50× |"


def test_a_table_of_measures_side_by_side_has_no_ratio_columns() -> None:
    points = {"sweep (s)": {100: [0.15]}, "page p99 (ms)": {100: [20.0]}}
    lines = load("tables").curve_table("images", "", points, ratios=False)
    assert lines[0] == "| images | sweep (s) | page p99 (ms) |"
    assert lines[2] == "| 100 | 0.150 | 20.0 |"


def test_a_size_one_side_did_not_measure_shows_a_dash() -> None:
    lines = load("tables").curve_table("images", "ms", {"ours": {100: [1.0]}, "seed": {}})
    assert lines[2] == "| 100 | 1.00 | – | – |"


def test_the_load_line_names_the_part_and_both_averages() -> None:
    line = load("tables").load_line("stack curve", [0.5, 1.0, 1.5], [2.0, 1.5, 1.25])
    assert line == (
        "stack curve: load average 0.5 / 1.0 / 1.5 at the start, 2.0 / 1.5 / 1.2 at the end"
        " (1/5/15 min)."
    )


# --- charts --------------------------------------------------------------------------------


def test_a_curve_is_drawn_as_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="matplotlib is the bench group's (nox -s bench)")
    chart = load("charts").draw_curve(
        tmp_path / "charts" / "up.png",
        "up from nothing",
        "services",
        "seconds",
        {"ours": {5: [1.0, 1.2], 25: [3.0]}, "compose v2": {5: [2.0], 25: [6.0]}},
    )
    assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


# --- the serving-path candidates -----------------------------------------------------------


def candidate_copy(tmp_path: Path, name: str) -> Path:
    shutil.copy2(ROOT / "compose.yaml", tmp_path / "compose.yaml")
    shutil.copytree(ROOT / "containers", tmp_path / "containers")
    servers = load("bench_servers")
    found = {server.name: server for server in servers.SERVERS}
    servers.serve_with(found[name])(tmp_path)
    return tmp_path


@pytest.mark.parametrize("name", ["gunicorn gthread", "gunicorn gevent", "granian", "uwsgi"])
def test_every_candidate_builds_the_servers_target_for_web_and_the_worker(
    tmp_path: Path, name: str
) -> None:
    project = load_workspace(candidate_copy(tmp_path, name), environ={}, mode="production").project
    for service in ("web", "worker"):
        assert project.services[service].build.target == "servers"
    dockerfile = (tmp_path / "containers/web/Dockerfile").read_text()
    assert dockerfile.index("AS servers\n") < dockerfile.index("# --- the test venv")


def test_granian_serves_web_and_the_worker_keeps_its_command(tmp_path: Path) -> None:
    project = load_workspace(
        candidate_copy(tmp_path, "granian"), environ={}, mode="production"
    ).project
    assert "granian --interface wsgi" in " ".join(project.services["web"].command)
    assert project.services["worker"].command[0] == "celery"


def test_uwsgi_is_reached_through_uwsgi_pass_with_the_request_id(tmp_path: Path) -> None:
    copy = candidate_copy(tmp_path, "uwsgi")
    template = (copy / "containers/nginx/snippets/app-proxy.conf").read_text()
    assert "uwsgi_pass web_app;" in template
    assert "uwsgi_param HTTP_X_REQUEST_ID $request_id;" in template
    assert "proxy_pass" not in template
    project = load_workspace(copy, environ={}, mode="production").project
    assert project.services["nginx"].environment["NGINX_UPSTREAM"] == "web:8001"


def test_the_shipped_server_is_the_image_own_command(tmp_path: Path) -> None:
    project = load_workspace(
        candidate_copy(tmp_path, "gunicorn gthread"), environ={}, mode="production"
    ).project
    assert project.services["web"].command is None


def test_run_writes_each_curve_as_a_table_and_a_linked_chart(tmp_path: Path) -> None:
    drawn: list[tuple[str, dict[str, dict[int, list[float]]]]] = []

    def draw(path: Path, title: str, size: str, unit: str, points: dict) -> Path:  # type: ignore[type-arg]
        drawn.append((title, points))
        return path

    points = {"ours": {"5": [1.0], "25": [2.0]}, "compose v2": {"5": [2.0], "25": [4.0]}}
    result = {
        "stack": {"points": {"no-op up": points}, "load_before": [1, 1, 1], "load_after": [2, 2, 2]}
    }
    lines = load("run").curves_lines(result, tmp_path / "benchmarks", tmp_path, draw)
    assert "| 25 | 2.00 | 4.00 | 0.50× |" in lines
    assert "![no-op up](benchmarks/stack-no-op-up.png)" in lines
    assert drawn == [
        ("no-op up", {"ours": {5: [1.0], 25: [2.0]}, "compose v2": {5: [2.0], 25: [4.0]}})
    ]
    assert not any("gallery" in line for line in lines)


def test_a_down_whose_network_the_engine_kept_is_counted_for_either_tool() -> None:
    kept_network = load("bench_curves").kept_network
    ours = " ✔ svc-001  removed\n ! network p_default  kept: the engine still counts an endpoint"
    v2 = (
        " Network p_default  Error\nfailed to remove network p_default: Error response from"
        " daemon: error while removing network: network p_default id 59d3 has active endpoints"
    )
    assert kept_network(0, ours)
    assert kept_network(1, v2)
    assert not kept_network(0, " ✔ network p_default  removed")
    assert not kept_network(1, "Error response from daemon: no such image")


def test_kept_networks_are_said_under_the_stack_tables(tmp_path: Path) -> None:
    points = {"ours": {"100": [5.0]}, "compose v2": {"100": [6.0]}}
    result = {
        "stack": {
            "points": {"down": points},
            "rounds": 3,
            "networks_kept": {"compose v2": {"100": 1}},
            "load_before": [1, 1, 1],
            "load_after": [2, 2, 2],
        }
    }
    lines = load("run").curves_lines(result, tmp_path, tmp_path, lambda path, *_: path)
    said = [line for line in lines if "kept the network" in line]
    assert len(said) == 1
    assert said[0].startswith("compose v2: ")
    assert "1 at 100 services of 3 downs" in said[0]


def test_the_deploy_curve_is_two_tables_and_charts_with_the_failed_requests(
    tmp_path: Path,
) -> None:
    drawn: list[str] = []

    def draw(path: Path, title: str, size: str, unit: str, points: dict) -> Path:  # type: ignore[type-arg]
        drawn.append(path.name)
        return path

    def run(change: float, first: float) -> dict[str, object]:
        return {
            "swarm_rolling": {"seconds": change, "requests": 900, "failed": 0},
            "ssh_batches": {"seconds": change * 2, "requests": 1800, "failed": 1},
            "swarm_first_deploy_seconds": first,
            "ssh_first_deploy_seconds": first * 2,
        }

    curve = {
        "runs": {1: run(10.0, 40.0), 6: run(30.0, 120.0)},
        "load_before": [0.5, 0.5, 0.5],
        "load_after": [3.0, 2.0, 1.0],
    }
    lines = load("run").deploy_curve_lines(curve, tmp_path / "benchmarks", tmp_path, draw)
    assert "| 6 | 30.0 | 60.0 | 0.50× |" in lines  # the source change: Swarm over SSH
    assert "| 6 | 120 | 240 | 0.50× |" in lines  # the first deploy
    assert "| 6 | 0 of 900 | 1 of 1800 |" in lines
    assert drawn == ["deploy-source-change.png", "deploy-first-deploy.png"]
    assert "![first deploy of the whole app](benchmarks/deploy-first-deploy.png)" in lines


def test_the_gallery_copy_s_web_reuses_ports_in_time_wait(tmp_path: Path) -> None:
    shutil.copy2(ROOT / "compose.yaml", tmp_path / "compose.yaml")
    load("bench_curves").reusing_ports(tmp_path)
    text = (tmp_path / "compose.yaml").read_text()
    services = yaml.safe_load(text)["services"]
    assert services["web"]["sysctls"] == {"net.ipv4.tcp_tw_reuse": "1"}
    assert not any("sysctls" in spec for name, spec in services.items() if name != "web")


def test_the_curve_parts_run_py_passes_on_are_checked_by_name() -> None:
    run = load("run")
    assert run.curve_parts("stack") == ["stack"]
    assert run.curve_parts(" stack, idle ") == ["stack", "idle"]
    with pytest.raises(SystemExit, match=r"--curve-parts 'stack,servers': choose among stack"):
        run.curve_parts("stack,servers")
    with pytest.raises(SystemExit, match="choose among"):
        run.curve_parts(",")
