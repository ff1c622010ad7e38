"""Benchmark: a fresh simulated ECS host given the whole app (web + worker roles, redis and
fakeoss accessories) by `deploy`, then a source change deployed to it (build included) until
the new version is served, with a bounded load loop counting failed requests meanwhile. Both
builds are the deploy's own (compose.yaml through `invoke up`'s build).

Run as a script (needs a Docker engine and `invoke base`): prints
{"first_deploy_seconds": ..., "deploy_seconds": ..., "requests": ..., "failed": ...}.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import docker
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stackctl"))

from stackctl.deploy.ssh.run import deploy
from support.deploy_hosts import (
    APP,
    Load,
    body,
    build_host_image,
    build_release_images,
    deploy_app,
    deploy_settings,
    remove_host,
    start_host,
    wait_reachable,
    write_key_and_secrets,
)
from support.stack_copy import copy_project

MAX_REQUESTS = 50_000
MAX_SECONDS = 300.0


def main() -> None:
    warnings.filterwarnings("ignore", module="paramiko")
    local = docker.from_env(timeout=600)
    build_host_image(local)
    work = Path(tempfile.mkdtemp(prefix="bench-deploy-"))
    project = work / "project"
    project.mkdir()
    copy_project(project)
    public_key = write_key_and_secrets(work)
    host = start_host(local, public_key)
    try:
        settings = deploy_settings([host], work)
        wait_reachable(settings)
        from stackctl.deploy.release import release_environment

        env = release_environment(settings, environ={})
        out = Console(quiet=True)
        app = deploy_app(project, work)
        started = time.monotonic()
        deploy(local, settings, app, build_release_images(local, app, "bench1"), env, out)
        first_seconds = time.monotonic() - started
        main_py = project / "src/gallery/main.py"
        main_py.write_text(main_py.read_text().replace("welcome to CI/CD world", "welcome, bench"))

        with Load(host.url, at_least=2000, at_most=MAX_REQUESTS, seconds=MAX_SECONDS) as load:
            started = time.monotonic()
            images = build_release_images(local, app, "bench2")
            build_seconds = time.monotonic() - started
            deploy(local, settings, app, images, env, out)
            deploy_seconds = time.monotonic() - started
            assert "welcome, bench" in body(host.url)
        print(
            json.dumps(
                {
                    "first_deploy_seconds": round(first_seconds, 1),
                    "deploy_seconds": round(deploy_seconds, 1),
                    "build_seconds": round(build_seconds, 1),
                    "requests": load.sent,
                    "failed": load.failed,
                }
            )
        )
    finally:
        remove_host(local, host)
        for tag in ("bench1", "bench2"):
            with contextlib.suppress(docker.errors.APIError):
                local.api.remove_image(f"{APP}/web:{tag}")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
