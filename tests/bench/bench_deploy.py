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
import threading
import time
import warnings
from pathlib import Path

import docker
import paramiko
import requests
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stackctl"))

from deploy_hosts import (
    APP,
    body,
    build_host_image,
    deploy_app,
    deploy_settings,
    remove_host,
    start_host,
    wait_reachable,
)
from stack_copy import copy_project

from stackctl.deploy.appdef import AppDefinition
from stackctl.deploy.release import ReleaseImages, SourceVersion, build_release
from stackctl.deploy.run import deploy
from stackctl.settings import load_settings

MAX_REQUESTS = 50_000
MAX_SECONDS = 300.0


def build(local: docker.DockerClient, app: AppDefinition, version: str) -> ReleaseImages:
    stack = load_settings(app.project.project_dir, {"STACK_MODE": "production"})
    return build_release(
        local,
        stack,
        app,
        Console(quiet=True),
        version=version,
        source=SourceVersion(version, dirty=False),
    )


def main() -> None:
    warnings.filterwarnings("ignore", module="paramiko")
    local = docker.from_env(timeout=600)
    build_host_image(local)
    work = Path(tempfile.mkdtemp(prefix="bench-deploy-"))
    project = work / "project"
    project.mkdir()
    copy_project(project)
    key = paramiko.RSAKey.generate(2048)
    key.write_private_key_file(str(work / "id_rsa"))
    (work / "secrets.env").write_text(
        "OSS_ACCESS_KEY_ID=fakeoss-id\nOSS_ACCESS_KEY_SECRET=fakeoss-secret\n"
        "GALLERY_API_TOKEN=bench-token-0123456789\n"
        "GALLERY_ADMIN_PASSWORD_HASH='scrypt:32768:8:1$bench$00'\n"
    )
    (work / "SECRET_KEY").write_text("bench-secret-0123456789abcdef0123456789\n")
    host = start_host(local, f"{key.get_name()} {key.get_base64()}")
    try:
        settings = deploy_settings([host], work)
        wait_reachable(settings)
        from stackctl.deploy.release import release_environment

        env = release_environment(settings, environ={})
        out = Console(quiet=True)
        app = deploy_app(project, work)
        started = time.monotonic()
        deploy(local, settings, app, build(local, app, "bench1"), env, out)
        first_seconds = time.monotonic() - started
        main_py = project / "src/gallery/main.py"
        main_py.write_text(main_py.read_text().replace("welcome to CI/CD world", "welcome, bench"))

        done = threading.Event()
        counts = {"sent": 0, "failed": 0}

        def load() -> None:
            started = time.monotonic()
            while counts["sent"] < MAX_REQUESTS and time.monotonic() - started < MAX_SECONDS:
                if done.is_set() and counts["sent"] >= 2000:
                    break
                counts["sent"] += 1
                try:
                    ok = requests.get(f"{host.url}/main/", timeout=10).status_code == 200
                except requests.RequestException:
                    ok = False
                counts["failed"] += 0 if ok else 1

        thread = threading.Thread(target=load, daemon=True)
        thread.start()
        started = time.monotonic()
        images = build(local, app, "bench2")
        build_seconds = time.monotonic() - started
        deploy(local, settings, app, images, env, out)
        deploy_seconds = time.monotonic() - started
        assert "welcome, bench" in body(host.url)
        done.set()
        thread.join(MAX_SECONDS)
        print(
            json.dumps(
                {
                    "first_deploy_seconds": round(first_seconds, 1),
                    "deploy_seconds": round(deploy_seconds, 1),
                    "build_seconds": round(build_seconds, 1),
                    "requests": counts["sent"],
                    "failed": counts["failed"],
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
