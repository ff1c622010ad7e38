"""`invoke deploy` with STACK_HTTPS=acme to two simulated ECS hosts: each host's proxy obtains
its own certificate from a local ACME server (Debian's Caddy, `acme_server`) by HTTP-01, serves
the app over HTTPS, redirects plain HTTP, and keeps the certificate across a redeploy that
recreates the proxy (no new order).

The ACME server sits on a network of the test's own, as acme.test; each host joins it as its own
name (hostN.gallery.test), which the ACME server resolves to that host and validates there. The
test reaches each host only through its ports published on 127.0.0.1, sending the host name as
SNI and Host (its resolver answers 127.0.0.1 for the two names), and trusts only the test CA's
root.
"""

from __future__ import annotations

import functools
import io
import socket
import ssl
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
import requests
import yaml
from cryptography import x509
from rich.console import Console

from stackctl.deploy.appdef import AppDefinition, load_app
from stackctl.deploy.hosts import connect_host
from stackctl.deploy.httpsmode import app_overrides
from stackctl.deploy.release import ReleaseImages, release_environment
from stackctl.deploy.settings import DeploySettings
from stackctl.deploy.ssh.run import certificates, deploy
from stackctl.settings import load_settings
from stackctl.tls.settings import HttpsSettings
from support.deploy_hosts import (
    APP,
    OLD_WELCOME,
    ROOT,
    TEST_OVERRIDE,
    SimulatedHost,
    build_release_images,
    compose_environ,
    deploy_settings,
    remove_host,
    start_host,
    wait_reachable,
)
from support.given_chain import write_given_chain

pytestmark = [
    pytest.mark.engine,
    pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning"),
]

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


@pytest.fixture(scope="module")
def acme_hosts(
    local: docker.DockerClient,
    host_image: None,
    public_key: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[AcmeHosts]:
    """The ACME server and two hosts on a network of the module's own, each host as its name."""
    prefix = f"httpsdeploy-{uuid.uuid4().hex[:8]}"
    folder = tmp_path_factory.mktemp("https-deploy")
    base = load_settings(ROOT, {"STACK_MODE": "production"}).python_base_image
    tag = f"{prefix}/acme-server:test"
    local.images.build(path=str(ACME_SERVER), tag=tag, buildargs={"BASE_IMAGE": base}, rm=True)
    network = local.networks.create(prefix)
    server = hosts = None
    started: list[SimulatedHost] = []
    try:
        server = local.containers.run(tag, name=f"{prefix}-acme", detach=True)
        network.connect(server, aliases=[ACME_HOST])
        names = [f"host{i}.gallery.test" for i in (1, 2)]
        for name in names:
            host = start_host(local, public_key, https=True, prefix=f"{prefix}-host")
            started.append(host)
            network.connect(host.container, aliases=[name])
        root = folder / "acme-root.pem"

        def root_written() -> bool:
            found = server.exec_run(["cat", "/data/caddy/pki/authorities/local/root.crt"])
            root.write_bytes(found.output)
            return found.exit_code == 0

        wait_until(root_written, 60, "the ACME server's root certificate")
        server.reload()
        address = server.attrs["NetworkSettings"]["Networks"][prefix]["IPAddress"]
        hosts = AcmeHosts(started, names, root, address, folder)
        yield hosts
    finally:
        for host in started:
            remove_host(local, host)
        if server is not None:
            server.remove(force=True)
        network.remove()
        local.images.remove(tag)


@pytest.fixture
def names_resolve_to_loopback(acme_hosts: AcmeHosts, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hosts' names are 127.0.0.1 for this process (each host has its own published port),
    as DNS records would point them at the hosts."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host in acme_hosts.names else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def https_app(settings: DeploySettings, acme_hosts: AcmeHosts, key_dir: Path) -> AppDefinition:
    """compose.yaml with the deploy tests' override, the acme mode's own override (as `invoke
    deploy` merges it) and this module's: each host's name, and acme.test for certbot."""
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


def served_certificate(port: int, server_name: str) -> x509.Certificate:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def from_test_ca(host: SimulatedHost, name: str) -> bool:
    return TEST_CA in served_certificate(host.https_port, name).issuer.rfc4514_string()


@dataclass
class Deployed:
    output: str
    serials: dict[str, int]


@pytest.fixture(scope="module")
def first_deploy(
    local: docker.DockerClient, acme_hosts: AcmeHosts, key_dir: Path
) -> tuple[Deployed, ReleaseImages, Path]:
    settings = https_settings_for(acme_hosts, key_dir)
    wait_reachable(settings)
    app = https_app(settings, acme_hosts, key_dir)
    images = build_release_images(local, app, "https1")
    output = io.StringIO()
    deploy(
        local,
        settings,
        app,
        images,
        release_environment(settings, environ={}),
        Console(file=output, width=200),
    )
    try:
        for host, name in acme_hosts.pairs():
            wait_until(
                functools.partial(from_test_ca, host, name), 120, f"{name} to serve its certificate"
            )
    except AssertionError as failed:
        raise AssertionError(
            f"{failed}\n{output.getvalue()}\n{what_hosts_said(settings)}"
        ) from None
    serials = {
        name: served_certificate(host.https_port, name).serial_number
        for host, name in acme_hosts.pairs()
    }
    return Deployed(output.getvalue(), serials), images, key_dir


def what_hosts_said(settings: DeploySettings) -> str:
    """The certbot's and the proxy's last lines on each host (a failed test's evidence)."""
    lines = []
    for address in settings.addresses:
        client = connect_host(address, settings, timeout=10)
        try:
            for container in (f"{APP}-certbot", f"{APP}-proxy"):
                logs = client.api.logs(container, tail=15).decode(errors="replace")
                lines.append(f"--- {address.name} {container}:\n{logs}")
        finally:
            client.close()
    return "\n".join(lines)


def https_settings_for(acme_hosts: AcmeHosts, key_dir: Path, **more: Any) -> DeploySettings:
    https = HttpsSettings(
        mode="acme",
        acme_directory=f"https://{ACME_HOST}/acme/local/directory",
        acme_ca_bundle=acme_hosts.root,
        acme_renew_before=RENEW_BEFORE,
        **more,
    )
    return deploy_settings(acme_hosts.hosts, key_dir, https=https, batch_size=2)


def test_the_first_deploy_obtains_a_certificate_on_every_host_and_serves_main_over_https(
    acme_hosts: AcmeHosts,
    first_deploy: tuple[Deployed, ReleaseImages, Path],
    names_resolve_to_loopback: None,
) -> None:
    deployed, _, _ = first_deploy
    for host, name in acme_hosts.pairs():
        response = requests.get(
            f"https://{name}:{host.https_port}/main/", verify=acme_hosts.root, timeout=10
        )
        assert OLD_WELCOME in response.text
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
        where = host.address.split("@")[1]
        assert f"{where}: proxy started on 0.0.0.0:80 and 0.0.0.0:443 (HTTPS)" in deployed.output
        assert f"{where}: accessory {APP}-certbot created" in deployed.output


def test_each_host_s_certificate_names_that_host(
    acme_hosts: AcmeHosts, first_deploy: tuple[Deployed, ReleaseImages, Path]
) -> None:
    for host, name in acme_hosts.pairs():
        names = (
            served_certificate(host.https_port, name)
            .extensions.get_extension_for_class(x509.SubjectAlternativeName)
            .value.get_values_for_type(x509.DNSName)
        )
        assert names == [name]


def test_plain_http_gets_a_301_to_the_same_name_over_https(
    acme_hosts: AcmeHosts, first_deploy: tuple[Deployed, ReleaseImages, Path]
) -> None:
    for host, name in acme_hosts.pairs():
        response = requests.get(
            f"http://127.0.0.1:{host.http_port}/main/?page=2",
            headers={"Host": name},
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 301
        assert response.headers["Location"] == f"https://{name}/main/?page=2"


def test_a_redeploy_that_recreates_the_proxy_keeps_every_certificate(
    local: docker.DockerClient,
    acme_hosts: AcmeHosts,
    first_deploy: tuple[Deployed, ReleaseImages, Path],
    names_resolve_to_loopback: None,
) -> None:
    deployed, images, key_dir = first_deploy
    # Another HSTS max-age: a new proxy definition, so each host's proxy is recreated.
    settings = https_settings_for(acme_hosts, key_dir, hsts_max_age=600)
    app = https_app(settings, acme_hosts, key_dir)
    output = io.StringIO()

    deploy(
        local,
        settings,
        app,
        images,
        release_environment(settings, environ={}),
        Console(file=output, width=200),
    )

    said = output.getvalue()
    assert f"{APP}-certbot" not in said  # kept as it ran: no new order
    for host, name in acme_hosts.pairs():
        where = host.address.split("@")[1]
        assert f"{where}: proxy started on" in said
        response = requests.get(
            f"https://{name}:{host.https_port}/main/", verify=acme_hosts.root, timeout=10
        )
        assert response.headers["Strict-Transport-Security"] == "max-age=600"
        assert served_certificate(host.https_port, name).serial_number == deployed.serials[name]


# --- files mode: a given chain -----------------------------------------------------------------


def test_files_mode_serves_the_given_chain_and_keeps_its_key_out_of_the_proxy_s_config(
    local: docker.DockerClient,
    acme_hosts: AcmeHosts,
    first_deploy: tuple[Deployed, ReleaseImages, Path],
    names_resolve_to_loopback: None,
) -> None:
    _, images, key_dir = first_deploy
    (host, name), *_ = acme_hosts.pairs()
    root, chain, key, serial = write_given_chain(acme_hosts.folder, name)
    https = HttpsSettings(mode="files", hosts=(name,), cert_file=chain, key_file=key)
    settings = deploy_settings([host], key_dir, https=https)
    files, values = app_overrides(settings.https, ROOT)
    app = load_app(
        ROOT / "compose.yaml",
        {**compose_environ(key_dir), **values},
        project_name=APP,
        overrides=[TEST_OVERRIDE, *files],
    )
    output = io.StringIO()
    try:
        deploy(
            local,
            settings,
            app,
            images,
            release_environment(settings, environ={}),
            Console(file=output, width=200),
        )

        response = requests.get(f"https://{name}:{host.https_port}/main/", verify=root, timeout=10)
        assert OLD_WELCOME in response.text
        assert served_certificate(host.https_port, name).serial_number == serial
        client = connect_host(settings.addresses[0], settings, timeout=10)
        try:
            proxy = client.api.inspect_container(f"{APP}-proxy")
            logs = client.api.logs(f"{APP}-proxy").decode(errors="replace")
        finally:
            client.close()
        secret = key.read_text().splitlines()[1]  # a line of the key's base64
        assert secret not in repr(proxy)
        assert secret not in logs
        assert secret not in output.getvalue()
    finally:
        # Back to acme, whatever the order the module's tests run in: its certificate is kept.
        acme = https_settings_for(acme_hosts, key_dir)
        deploy(
            local,
            acme,
            https_app(acme, acme_hosts, key_dir),
            images,
            release_environment(acme, environ={}),
            Console(file=io.StringIO(), width=200),
        )


def serves_another(host: SimulatedHost, name: str, serial: int) -> bool:
    return served_certificate(host.https_port, name).serial_number != serial


def test_deploy_certs_lists_each_host_s_certificate_and_renews_it_on_demand(
    acme_hosts: AcmeHosts,
    first_deploy: tuple[Deployed, ReleaseImages, Path],
    names_resolve_to_loopback: None,
) -> None:
    deployed, _, key_dir = first_deploy
    settings = https_settings_for(acme_hosts, key_dir)
    listed = io.StringIO()
    certificates(settings, Console(file=listed, width=300))
    output = io.StringIO()

    certificates(settings, Console(file=output, width=300), renew=True)

    for host, name in acme_hosts.pairs():
        where = host.address.split("@")[1]
        first = deployed.serials[name]
        assert f"{where}: {name}: issued by {TEST_CA}" in listed.getvalue()
        assert f"serial {first:x}" in listed.getvalue()
        said = output.getvalue().splitlines()
        renewed = next(line for line in said if line.startswith(f"{where}: renewed: "))
        assert f"{where}: renewed: {name}: issued by {TEST_CA}" in renewed
        assert f"serial {first:x}" not in renewed
        # nginx reloads onto the new files within TLS_RECHECK_SECONDS.
        wait_until(
            functools.partial(serves_another, host, name, first),
            30,
            f"{name} to serve the renewed certificate",
        )
        response = requests.get(
            f"https://{name}:{host.https_port}/main/", verify=acme_hosts.root, timeout=10
        )
        assert OLD_WELCOME in response.text
        # The certificate each host has now, for the module's tests that compare with it.
        deployed.serials[name] = served_certificate(host.https_port, name).serial_number
