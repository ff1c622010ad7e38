"""Benchmark: a source change rolled out to N simulated ECS hosts (3 by default; `--hosts`), two
ways, its images already built here (timed from the deploy call, image transfer included, until
every host serves the new version), each under a bounded load through the first host's port
counting failed requests:

- Swarm: `deploy --target swarm`, N web replicas on N nodes, Swarm's rolling update (start-first,
  one at a time, each watched DEPLOY_SWARM_MONITOR seconds);
- SSH: `deploy` to N hosts in batches of one (Kamal-style), on N fresh hosts.

run.py runs it at 3 hosts for the Swarm row and at 1, 3 and 6 for the deploy curve. Run as a
script (needs a Docker engine and `invoke base`): prints one JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import docker
import requests
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stackctl"))

from stackctl.deploy.appdef import AppDefinition, load_app
from stackctl.deploy.release import (
    release_environment,
)
from support.deploy_hosts import (
    TEST_LABEL,
    TEST_LABEL_VALUE,
    TEST_OVERRIDE,
    Load,
    SimulatedHost,
    build_host_image,
    build_release_images,
    deploy_settings,
    remove_host,
    start_host,
    wait_reachable,
    write_key_and_secrets,
)
from support.stack_copy import copy_project

APP = "benchswarm"
OLD, NEW = "welcome to CI/CD world", "welcome, swarm bench"
MAX_REQUESTS = 60_000
MAX_SECONDS = 400.0


def app_at(project: Path, work: Path) -> AppDefinition:
    return load_app(
        project / "compose.yaml",
        {"COMPOSE_PROJECT_NAME": APP, "DEPLOY_TEST_SECRETS_DIR": str(work)},
        project_name=APP,
        overrides=[TEST_OVERRIDE],
    )


@contextmanager
def started_hosts(
    local: docker.DockerClient, public_key: str, count: int
) -> Iterator[list[SimulatedHost]]:
    network = local.networks.create(
        f"bench-swarm-{uuid.uuid4().hex[:6]}", labels={TEST_LABEL: TEST_LABEL_VALUE}
    )
    hosts: list[SimulatedHost] = []
    try:
        for _ in range(count):
            hosts.append(start_host(local, public_key, network=network.name, prefix="bench-node"))
        yield hosts
    finally:
        for host in hosts:
            remove_host(local, host)
        network.remove()


def serves(url: str, text: str) -> bool:
    try:
        return text in requests.get(f"{url}/main/", timeout=5).text
    except requests.RequestException:
        return False


def timed_under_load(hosts: list[SimulatedHost], deploy: Callable[[], None]) -> dict[str, float]:
    """Seconds from the deploy call until every host serves NEW; requests and failures."""
    with Load(hosts[0].url, at_least=0, at_most=MAX_REQUESTS, seconds=MAX_SECONDS) as load:
        started = time.monotonic()
        deploy()
        deadline = started + MAX_SECONDS
        while not all(serves(h.url, NEW) for h in hosts):
            if time.monotonic() > deadline:
                raise SystemExit("bench: the new version was not served by every host")
            time.sleep(0.2)
        seconds = time.monotonic() - started
    return {"seconds": round(seconds, 1), "requests": load.sent, "failed": load.failed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=3, help="how many simulated hosts (nodes)")
    count = parser.parse_args().hosts
    warnings.filterwarnings("ignore", module="paramiko")
    from stackctl.deploy.ssh.run import deploy as ssh_deploy
    from stackctl.deploy.swarm import run as swarm_run
    from stackctl.deploy.swarm.settings import SwarmSettings

    local = docker.from_env(timeout=600)
    build_host_image(local)
    work = Path(tempfile.mkdtemp(prefix="bench-swarm-"))
    try:
        public_key = write_key_and_secrets(work)
        project = work / "project"
        project.mkdir()
        copy_project(project)
        app = app_at(project, work)
        v1 = build_release_images(local, app, "bench1")
        main_py = project / "src/gallery/main.py"
        main_py.write_text(main_py.read_text().replace(OLD, NEW))
        v2 = build_release_images(local, app_at(project, work), "bench2")
        quiet = Console(quiet=True)
        swarm = SwarmSettings(replicas={"web": count, "worker": 1}, advertise_addr="eth0")
        result: dict[str, object] = {"hosts": count, "swarm_monitor_seconds": swarm.monitor}

        with started_hosts(local, public_key, count) as hosts:
            settings = deploy_settings(hosts, work, app=APP)
            wait_reachable(settings)
            env = release_environment(settings, environ={})
            swarm_run.init(settings, swarm, app, quiet)
            started = time.monotonic()
            swarm_run.deploy(local, settings, swarm, app, v1, env, quiet)
            result["swarm_first_deploy_seconds"] = round(time.monotonic() - started, 1)
            result["swarm_rolling"] = timed_under_load(
                hosts, lambda: swarm_run.deploy(local, settings, swarm, app, v2, env, quiet)
            )

        with started_hosts(local, public_key, count) as hosts:
            settings = deploy_settings(hosts, work, app=APP, batch_size=1)
            wait_reachable(settings)
            env = release_environment(settings, environ={})
            started = time.monotonic()
            ssh_deploy(local, settings, app, v1, env, quiet)
            result["ssh_first_deploy_seconds"] = round(time.monotonic() - started, 1)
            result["ssh_batches"] = timed_under_load(
                hosts, lambda: ssh_deploy(local, settings, app, v2, env, quiet)
            )
        print(json.dumps(result))
    finally:
        for tag in ("bench1", "bench2"):  # the release tags this run made (web and worker)
            with contextlib.suppress(docker.errors.APIError):
                local.api.remove_image(f"{APP}/web:{tag}")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
