"""Benchmark: the first deploy of the whole app to a fresh simulated ECS host with a certificate
obtained on the way (STACK_HTTPS=acme: certbot's HTTP-01 order against a local ACME server,
Debian's Caddy, on the hosts' network), against the same first deploy on plain HTTP to another
fresh host (the baseline). The release images are built once before either is timed (the same
for both: HTTPS adds no image of the app's own), so the rows compare deploy plus issuance with
deploy alone. The HTTPS time ends when the host serves a certificate from the test CA; the plain
one when `deploy` returns (it waits until the host serves /main/).

Run as a script (needs a Docker engine and `invoke base`): prints one JSON line
{"plain_seconds", "https_seconds", "issued_after_deploy_seconds", "load_before", "load_after"}.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import docker
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stackctl.deploy.release import release_environment
from stackctl.deploy.ssh.run import deploy
from support.acme_hosts import (
    from_test_ca,
    https_app,
    https_settings_for,
    started_acme_hosts,
    wait_until,
)
from support.deploy_hosts import (
    APP,
    ROOT,
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

ISSUANCE_SECONDS = 180


def main() -> None:
    warnings.filterwarnings("ignore", module="paramiko")
    load_before = os.getloadavg()
    local = docker.from_env(timeout=600)
    build_host_image(local)
    work = Path(tempfile.mkdtemp(prefix="bench-https-deploy-"))
    public_key = write_key_and_secrets(work)
    out = Console(quiet=True)
    plain_host = start_host(local, public_key, prefix="bench-https-plain")
    try:
        with started_acme_hosts(local, public_key, work, count=1) as acme:
            plain = deploy_settings([plain_host], work)
            https = https_settings_for(acme, work)
            wait_reachable(plain)
            wait_reachable(https)
            plain_app = deploy_app(ROOT, work)
            secure_app = https_app(https, acme, work)
            plain_images = build_release_images(local, plain_app, "benchplain")
            secure_images = build_release_images(local, secure_app, "benchhttps")

            started = time.monotonic()
            deploy(local, plain, plain_app, plain_images, release_environment(plain, {}), out)
            plain_seconds = time.monotonic() - started
            assert "welcome" in body(plain_host.url)

            started = time.monotonic()
            deploy(local, https, secure_app, secure_images, release_environment(https, {}), out)
            deployed = time.monotonic() - started
            (host, name), *_ = acme.pairs()
            wait_until(
                functools.partial(from_test_ca, host, name),
                ISSUANCE_SECONDS,
                f"{name} to serve a certificate from the test CA",
            )
            https_seconds = time.monotonic() - started
    finally:
        remove_host(local, plain_host)
        for tag in ("benchplain", "benchhttps"):
            with contextlib.suppress(docker.errors.APIError):
                local.api.remove_image(f"{APP}/web:{tag}")
        shutil.rmtree(work, ignore_errors=True)
    print(
        json.dumps(
            {
                "plain_seconds": round(plain_seconds, 1),
                "https_seconds": round(https_seconds, 1),
                "issued_after_deploy_seconds": round(https_seconds - deployed, 1),
                "load_before": [round(value, 2) for value in load_before],
                "load_after": [round(value, 2) for value in os.getloadavg()],
            }
        )
    )


if __name__ == "__main__":
    main()
