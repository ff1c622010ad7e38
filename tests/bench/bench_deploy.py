"""Benchmark: seconds from `deploy` of a source change to the new version serving on one
simulated ECS host (build included), and failed requests of a bounded load loop meanwhile.

Run as a script (needs a Docker engine and `invoke base`): prints
{"deploy_seconds": ..., "requests": ..., "failed": ...}.
"""

from __future__ import annotations

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

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stackctl"))

import contextlib

from deploy_hosts import (
    ROOT,
    body,
    build_host_image,
    deploy_settings,
    remove_host,
    start_host,
    wait_reachable,
)
from stack_copy import copy_project

from stackctl.deploy.release import ReleaseImages, SourceVersion
from stackctl.deploy.run import deploy
from stackctl.images import build_image, buildargs_for
from stackctl.settings import load_settings

MAX_REQUESTS = 50_000
MAX_SECONDS = 300.0


def build(local: docker.DockerClient, context: Path, app: str, version: str) -> ReleaseImages:
    args = buildargs_for(load_settings(ROOT))
    quiet = Console(quiet=True)
    build_image(
        local,
        context=context,
        dockerfile="containers/web/Dockerfile",
        tag=f"{app}/web:{version}",
        buildargs=args,
        target="runtime",
        labels={},
        console=quiet,
        service="web",
    )
    build_image(
        local,
        context=context,
        dockerfile="containers/nginx/Dockerfile",
        tag=f"{app}/proxy:bench",
        buildargs=args,
        target=None,
        labels={},
        console=quiet,
        service="proxy",
    )
    return ReleaseImages(
        SourceVersion(version, dirty=False), version, f"{app}/web:{version}", f"{app}/proxy:bench"
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
        "SECRET_KEY=bench-secret-0123456789abcdef\nOSS_ACCESS_KEY_ID=i\nOSS_ACCESS_KEY_SECRET=s\n"
        "GALLERY_API_TOKEN=bench-token-0123456789\n"
        "GALLERY_ADMIN_PASSWORD_HASH='scrypt:32768:8:1$bench$00'\n"
    )
    host = start_host(local, f"{key.get_name()} {key.get_base64()}")
    try:
        settings = deploy_settings([host], work)
        wait_reachable(settings)
        from stackctl.deploy.release import release_environment

        env = release_environment(settings, environ={})
        out = Console(quiet=True)
        deploy(local, settings, build(local, project, settings.app, "bench1"), env, out)
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
        images = build(local, project, settings.app, "bench2")
        build_seconds = time.monotonic() - started
        deploy(local, settings, images, env, out)
        deploy_seconds = time.monotonic() - started
        assert "welcome, bench" in body(host.url)
        done.set()
        thread.join(MAX_SECONDS)
        print(
            json.dumps(
                {
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
                local.api.remove_image(f"deploytest/web:{tag}")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
