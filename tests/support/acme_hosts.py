"""Simulated ECS hosts that get certificates from a local ACME server (Debian's Caddy,
`acme_server`): the server and the hosts on a network of their own, the server as acme.test and
each host as its own name (hostN.gallery.test), which the server resolves to that host and
validates there by HTTP-01. Used by the HTTPS deploy tests and the first-deploy benchmark."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import docker
import requests
import yaml

from stackctl.deploy.appdef import AppDefinition, load_app
from stackctl.deploy.httpsmode import app_overrides
from stackctl.deploy.settings import DeploySettings
from stackctl.settings import load_settings
from stackctl.tls.settings import HttpsSettings
from support.deploy_hosts import (
    APP,
    ROOT,
    TEST_OVERRIDE,
    SimulatedHost,
    compose_environ,
    deploy_settings,
    remove_host,
    start_host,
)
from support.served_tls import served_certificate

ACME_SERVER = ROOT / "tests" / "stackctl" / "acme_server"
ACME_HOST = "acme.test"
TEST_CA = "stackctl test ACME CA"
# Caddy's acme_server issues 12-hour certificates: due 1 hour before their end, a certificate is
# kept across a redeploy as a 90-day one is with certbot's 30 days.
RENEW_BEFORE = "1 hour"


@dataclass
class AcmeHosts:
    hosts: list[SimulatedHost]
    names: list[str]
    root: Path
    server_address: str
    folder: Path

    def pairs(self) -> list[tuple[SimulatedHost, str]]:
        return list(zip(self.hosts, self.names, strict=True))


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        try:
            if condition():
                return
        except (OSError, requests.RequestException):
            pass  # not answering yet
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {seconds:.0f}s")


@dataclass
class AcmeServer:
    root: Path
    """the test CA's root certificate (PEM), which clients trust"""
    address: str
    """the server's address on the network it was started on"""


@contextmanager
def started_acme_server(
    local: docker.DockerClient, network: docker.models.networks.Network, folder: Path, prefix: str
) -> Iterator[AcmeServer]:
    """The ACME server on `network` as acme.test; removed after (its image too)."""
    base = load_settings(ROOT, {"STACK_MODE": "production"}).python_base_image
    tag = f"{prefix}/acme-server:test"
    local.images.build(
        path=str(ACME_SERVER), tag=tag, buildargs={"BASE_IMAGE": base}, rm=True, forcerm=True
    )
    server = None
    try:
        server = local.containers.run(tag, name=f"{prefix}-acme", detach=True)
        network.connect(server, aliases=[ACME_HOST])
        root = folder / "acme-root.pem"

        def root_written() -> bool:
            found = server.exec_run(["cat", "/data/caddy/pki/authorities/local/root.crt"])
            root.write_bytes(found.output)
            return found.exit_code == 0

        wait_until(root_written, 60, "the ACME server's root certificate")
        server.reload()
        address = server.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]
        yield AcmeServer(root, address)
    finally:
        if server is not None:
            server.remove(force=True)
        local.images.remove(tag)


@contextmanager
def started_acme_hosts(
    local: docker.DockerClient, public_key: str, folder: Path, count: int = 2
) -> Iterator[AcmeHosts]:
    """The ACME server and `count` HTTPS hosts on a network of their own; all removed after."""
    prefix = f"httpsdeploy-{uuid.uuid4().hex[:8]}"
    network = local.networks.create(prefix)
    started: list[SimulatedHost] = []
    try:
        with started_acme_server(local, network, folder, prefix) as server:
            names = [f"host{i}.gallery.test" for i in range(1, count + 1)]
            for name in names:
                host = start_host(local, public_key, https=True, prefix=f"{prefix}-host")
                started.append(host)
                network.connect(host.container, aliases=[name])
            yield AcmeHosts(started, names, server.root, server.address, folder)
    finally:
        for host in started:
            remove_host(local, host)
        network.remove()


def https_app(settings: DeploySettings, acme_hosts: AcmeHosts, key_dir: Path) -> AppDefinition:
    """compose.yaml with the deploy tests' override, the acme mode's own override (as `invoke
    deploy` merges it) and this one: each host's name, and acme.test for certbot."""
    override = acme_hosts.folder / "compose.https-hosts.yaml"
    override.write_text(
        yaml.safe_dump(
            {
                "x-deploy": {
                    "https-hosts": {host.address: [name] for host, name in acme_hosts.pairs()}
                },
                "services": {
                    "certbot": {"extra_hosts": [f"{ACME_HOST}:{acme_hosts.server_address}"]}
                },
            }
        )
    )
    files, values = app_overrides(settings.https, ROOT)
    return load_app(
        ROOT / "compose.yaml",
        {**compose_environ(key_dir), **values, "ACME_RETRY_SECONDS": "2"},
        project_name=APP,
        overrides=[TEST_OVERRIDE, *files, override],
    )


def https_settings_for(acme_hosts: AcmeHosts, key_dir: Path, **more: object) -> DeploySettings:
    https = HttpsSettings(
        mode="acme",
        acme_directory=f"https://{ACME_HOST}/acme/local/directory",
        acme_ca_bundle=acme_hosts.root,
        acme_renew_before=RENEW_BEFORE,
        **more,  # type: ignore[arg-type]
    )
    return deploy_settings(acme_hosts.hosts, key_dir, https=https, batch_size=2)


def from_test_ca(host: SimulatedHost, name: str) -> bool:
    return TEST_CA in served_certificate(host.https_port, name).issuer.rfc4514_string()
