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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
import requests
from cryptography import x509
from rich.console import Console

from stackctl.deploy.appdef import AppDefinition, load_app
from stackctl.deploy.hosts import connect_host
from stackctl.deploy.httpsmode import app_overrides
from stackctl.deploy.release import ReleaseImages, release_environment
from stackctl.deploy.settings import DeploySettings
from stackctl.deploy.ssh.run import certificates, deploy
from stackctl.tls.settings import HttpsSettings
from support.acme_hosts import (
    TEST_CA,
    AcmeHosts,
    from_test_ca,
    https_app,
    https_settings_for,
    started_acme_hosts,
    wait_until,
)
from support.chromium import chromium, log_in_upload_and_see_thumbnail
from support.deploy_hosts import (
    ADMIN_PASSWORD,
    APP,
    OLD_WELCOME,
    ROOT,
    TEST_OVERRIDE,
    SimulatedHost,
    build_release_images,
    compose_environ,
    deploy_settings,
    wait_reachable,
)
from support.given_chain import write_given_chain
from support.https_load import HttpsLoad, none_failed, under_load
from support.loopback import resolve_to_loopback
from support.served_tls import served_certificate
from support.sslyze_check import sslyze_intermediate

pytestmark = [
    pytest.mark.engine,
    pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning"),
]


@pytest.fixture(scope="module")
def acme_hosts(
    local: docker.DockerClient,
    host_image: None,
    public_key: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[AcmeHosts]:
    """The ACME server and two hosts on a network of the module's own, each host as its name."""
    with started_acme_hosts(local, public_key, tmp_path_factory.mktemp("https-deploy")) as hosts:
        yield hosts


@pytest.fixture
def names_resolve_to_loopback(acme_hosts: AcmeHosts, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hosts' names are 127.0.0.1 for this process (each host has its own published port),
    as DNS records would point them at the hosts."""
    resolve_to_loopback(monkeypatch, acme_hosts.names)


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
    said = deploy_and_say(local, settings, app, images)
    try:
        for host, name in acme_hosts.pairs():
            wait_until(
                functools.partial(from_test_ca, host, name), 120, f"{name} to serve its certificate"
            )
    except AssertionError as failed:
        raise AssertionError(f"{failed}\n{said}\n{what_hosts_said(settings)}") from None
    serials = {
        name: served_certificate(host.https_port, name).serial_number
        for host, name in acme_hosts.pairs()
    }
    return Deployed(said, serials), images, key_dir


def deploy_and_say(
    local: docker.DockerClient,
    settings: DeploySettings,
    app: AppDefinition,
    images: ReleaseImages,
) -> str:
    """A deploy of `images` with `settings`, as `invoke deploy` runs it; what it printed."""
    output = io.StringIO()
    deploy(
        local,
        settings,
        app,
        images,
        release_environment(settings, environ={}),
        Console(file=output, width=200),
    )
    return output.getvalue()


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


def test_the_deployed_proxy_passes_sslyzes_mozilla_intermediate_check(
    acme_hosts: AcmeHosts, first_deploy: tuple[Deployed, ReleaseImages, Path]
) -> None:
    """sslyze against a deployed host's proxy with its ACME certificate, trusting only the
    test CA's root: TLS 1.2/1.3, the intermediate ciphers and curves, the chain."""
    host, name = acme_hosts.pairs()[0]
    scan = sslyze_intermediate(host.https_port, acme_hosts.root, name)
    assert scan.returncode == 0, scan.stdout[-2000:]
    assert "OK - Compliant." in scan.stdout


def test_a_browser_logs_in_to_a_deployed_host_over_https_and_sees_its_thumbnail(
    acme_hosts: AcmeHosts,
    first_deploy: tuple[Deployed, ReleaseImages, Path],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Chromium against the first host by its name, on ports 80 and 443 as a user types them
    (mapped to what the host publishes on 127.0.0.1, as DNS would point the name at the host):
    the production-config app behind its ACME certificate. The login typed as plain HTTP is sent
    to HTTPS before any form is shown; logged in, an upload gets the worker's thumbnail. A
    login posted over plain HTTP gets the 301 and no session cookie: never half-logged-in."""
    monkeypatch.setenv("SE_AVOID_STATS", "true")
    host, name = acme_hosts.pairs()[0]
    plain = requests.post(
        f"http://127.0.0.1:{host.http_port}/login",
        headers={"Host": name},
        data={"username": "admin", "password": ADMIN_PASSWORD},
        allow_redirects=False,
        timeout=10,
    )
    assert plain.status_code == 301
    assert plain.headers["Location"] == f"https://{name}/login"
    assert "Set-Cookie" not in plain.headers
    rules = [
        f"MAP {name}:80 127.0.0.1:{host.http_port}",
        f"MAP {name}:443 127.0.0.1:{host.https_port}",
    ]
    with chromium(rules, served_certificate(host.https_port, name)) as driver:
        log_in_upload_and_see_thumbnail(
            driver, f"http://{name}/login", f"https://{name}/login", ADMIN_PASSWORD, tmp_path
        )


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

    said = deploy_and_say(local, settings, app, images)

    assert f"{APP}-certbot" not in said  # kept as it ran: no new order
    for host, name in acme_hosts.pairs():
        where = host.address.split("@")[1]
        assert f"{where}: proxy started on" in said
        response = requests.get(
            f"https://{name}:{host.https_port}/main/", verify=acme_hosts.root, timeout=10
        )
        assert response.headers["Strict-Transport-Security"] == "max-age=600"
        assert served_certificate(host.https_port, name).serial_number == deployed.serials[name]


def deploy_in_mode(
    local: docker.DockerClient,
    host: SimulatedHost,
    key_dir: Path,
    images: ReleaseImages,
    https: HttpsSettings,
) -> str:
    """A deploy of the module's release to `host` alone in `https`'s mode; what it printed."""
    settings = deploy_settings([host], key_dir, https=https)
    files, values = app_overrides(settings.https, ROOT)
    app = load_app(
        ROOT / "compose.yaml",
        {**compose_environ(key_dir), **values},
        project_name=APP,
        overrides=[TEST_OVERRIDE, *files],
    )
    return deploy_and_say(local, settings, app, images)


def back_to_acme(
    local: docker.DockerClient, acme_hosts: AcmeHosts, key_dir: Path, images: ReleaseImages
) -> None:
    """The module's hosts in acme mode again, whatever the order its tests run in: their
    certificates are kept."""
    acme = https_settings_for(acme_hosts, key_dir)
    deploy_and_say(local, acme, https_app(acme, acme_hosts, key_dir), images)


# --- files mode: a given chain -----------------------------------------------------------------


def test_files_mode_serves_the_given_chain_keeps_its_key_out_and_rotates_it_under_load(
    local: docker.DockerClient,
    acme_hosts: AcmeHosts,
    first_deploy: tuple[Deployed, ReleaseImages, Path],
    names_resolve_to_loopback: None,
    tmp_path: Path,
) -> None:
    """A given chain served, its key in no setting, log or output; then a changed one deployed
    while the host serves a bounded keep-alive HTTPS load (a client trusting both roots): the
    proxy is kept, its files written over, nginx reloads onto the new chain, no request fails."""
    _, images, key_dir = first_deploy
    (host, name), *_ = acme_hosts.pairs()
    root, chain, key, serial = write_given_chain(acme_hosts.folder, name)
    https = HttpsSettings(mode="files", hosts=(name,), cert_file=chain, key_file=key)
    settings = deploy_settings([host], key_dir, https=https)
    try:
        said = deploy_in_mode(local, host, key_dir, images, https)

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
        assert secret not in said

        # A changed certificate under load: the kept proxy's files written over, a reload.
        (tmp_path / "second").mkdir()
        root2, chain2, key2, serial2 = write_given_chain(tmp_path / "second", name)
        both = tmp_path / "both-roots.pem"
        both.write_bytes(root.read_bytes() + root2.read_bytes())
        url = f"https://{name}:{host.https_port}/main/"
        load = HttpsLoad(both, url, requests.get(url, verify=both, timeout=10).text)
        rotated = https.model_copy(update={"cert_file": chain2, "key_file": key2})
        outputs: list[str] = []
        under_load(
            [load],
            lambda: outputs.append(deploy_in_mode(local, host, key_dir, images, rotated)),
            lambda: served_certificate(host.https_port, name).serial_number == serial2,
            f"{name} to serve the rotated certificate",
            workers_each=4,
        )
        print(f"files rotation under load: {none_failed([load], [url])}")
        (said,) = outputs
        where = host.address.split("@")[1]
        assert f"{where}: proxy's certificate files replaced" in said
        assert "proxy started on" not in said
        assert key2.read_text().splitlines()[1] not in said
    finally:
        back_to_acme(local, acme_hosts, key_dir, images)


# --- lb mode: a load balancer terminates TLS ---------------------------------------------------


def host_subnets(local: docker.DockerClient, host: SimulatedHost) -> tuple[str, ...]:
    """The networks the host is on: where this test's connections to its ports come from, as a
    balancer's would from its own range."""
    host.container.reload()
    names = host.container.attrs["NetworkSettings"]["Networks"]
    return tuple(str(local.networks.get(n).attrs["IPAM"]["Config"][0]["Subnet"]) for n in names)


def test_lb_mode_believes_x_forwarded_proto_from_the_balancer_s_addresses_only(
    local: docker.DockerClient,
    acme_hosts: AcmeHosts,
    first_deploy: tuple[Deployed, ReleaseImages, Path],
    names_resolve_to_loopback: None,
) -> None:
    """Behind a balancer that terminates TLS: its `X-Forwarded-Proto: https` reaches the app
    (HSTS, a Secure session cookie); plain HTTP, or the same header from an address outside
    TRUSTED_LB_ADDRESSES, gets the 301; nothing answers on 443."""
    _, images, key_dir = first_deploy
    (host, name), *_ = acme_hosts.pairs()
    forwarded = {"X-Forwarded-Proto": "https", "Host": name}
    try:
        trusted = HttpsSettings(mode="lb", trusted_lb_addresses=host_subnets(local, host))
        deploy_in_mode(local, host, key_dir, images, trusted)
        response = requests.get(f"{host.url}/main/", headers=forwarded, timeout=10)
        assert OLD_WELCOME in response.text
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
        login = requests.get(
            f"{host.url}/login", headers=forwarded, allow_redirects=False, timeout=10
        )
        assert login.status_code == 200  # the app saw https
        assert "Secure" in login.headers["Set-Cookie"]
        assert "HttpOnly" in login.headers["Set-Cookie"]
        plain = requests.get(
            f"{host.url}/main/", headers={"Host": name}, allow_redirects=False, timeout=10
        )
        assert plain.status_code == 301
        assert plain.headers["Location"] == f"https://{name}/main/"
        assert "Set-Cookie" not in plain.headers
        with pytest.raises(requests.ConnectionError):
            requests.get(f"https://{name}:{host.https_port}/main/", verify=False, timeout=5)  # noqa: S501

        # The header from an address the balancer does not have is not believed.
        elsewhere = HttpsSettings(mode="lb", trusted_lb_addresses=("100.64.0.0/10",))
        deploy_in_mode(local, host, key_dir, images, elsewhere)
        spoofed = requests.get(
            f"{host.url}/login", headers=forwarded, allow_redirects=False, timeout=10
        )
        assert spoofed.status_code == 301
        assert "Set-Cookie" not in spoofed.headers
    finally:
        back_to_acme(local, acme_hosts, key_dir, images)


def serves_another(host: SimulatedHost, name: str, serial: int) -> bool:
    return served_certificate(host.https_port, name).serial_number != serial


def test_deploy_certs_lists_each_host_s_certificate_and_renews_it_on_demand_under_load(
    acme_hosts: AcmeHosts,
    first_deploy: tuple[Deployed, ReleaseImages, Path],
    names_resolve_to_loopback: None,
) -> None:
    """`deploy.certs`, then `deploy.certs --renew` while the first host serves a bounded
    keep-alive HTTPS load (at least 2,000 requests, 500 of them once the renewed certificate is
    served): none fails. A request sent on a kept-alive connection that an old nginx worker
    closed at the reload is sent again once, as HTTP/1.1 lets a client, and counted."""
    deployed, _, key_dir = first_deploy
    settings = https_settings_for(acme_hosts, key_dir)
    listed = io.StringIO()
    certificates(settings, Console(file=listed, width=300))
    output = io.StringIO()
    (loaded_host, loaded_name), *_ = acme_hosts.pairs()
    url = f"https://{loaded_name}:{loaded_host.https_port}/main/"
    served = requests.get(url, verify=acme_hosts.root, timeout=10).text
    load = HttpsLoad(acme_hosts.root, url, served)
    under_load(
        [load],
        lambda: certificates(settings, Console(file=output, width=300), renew=True),
        functools.partial(serves_another, loaded_host, loaded_name, deployed.serials[loaded_name]),
        f"{loaded_name} to serve the renewed certificate",
        workers_each=4,
    )
    print(f"renewal under load: {none_failed([load], [url])}")

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
