"""The stack over HTTPS against the real Docker engine: the local CA of `invoke up`, then
automatic certificates from a local ACME server (Debian's Caddy, `acme_server`), obtained on the
first up, served over HTTP/2, renewed under load without a failed request, kept across a
recreated proxy.

One stack walks through the story in file order (bringing a stack up costs tens of seconds).
The test client resolves gallery.test to 127.0.0.1, where the stack's ports are published; the
ACME server reaches nginx as gallery.test on a network the test makes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import ssl
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import pytest
import requests
from cryptography import x509
from rich.console import Console

from stackctl.engine import connect
from stackctl.stack.stack import Stack
from stackctl.stack.workspace import load_workspace
from stackctl.tls.localca import ensure_local_ca, ensure_server_certificate
from stackctl.tls.prepare import prepare_https
from support.chromium import chromium, log_in_upload_and_see_thumbnail
from support.https_load import HttpsLoad, none_failed, under_load
from support.loopback import free_port, resolve_to_loopback
from support.served_tls import served_certificate
from support.sslyze_check import sslyze_intermediate
from support.stack_copy import copy_project
from support.stacks import WELCOME, remove_project_images

pytestmark = pytest.mark.engine

HOST = "gallery.test"
ACME_HOST = "acme.test"
ACME_SERVER = Path(__file__).parent / "acme_server"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
# Caddy's acme_server issues 12-hour certificates: due 1 hour before their end, a certificate is
# kept across a redeploy as a 90-day one is with certbot's 30 days.
RENEW_BEFORE = "1 hour"


@dataclass
class HttpsStack:
    directory: Path
    environ: dict[str, str]
    client: docker.DockerClient
    network: str = ""
    acme_root: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def http_port(self) -> int:
        return int(self.environ["NGINX_PORT"])

    @property
    def https_port(self) -> int:
        return int(self.environ["NGINX_HTTPS_PORT"])

    def workspace(self) -> Any:
        return load_workspace(
            self.directory, environ={**self.environ, **self.extra}, mode="production"
        )

    def stack(self) -> Stack:
        found = self.workspace()
        return Stack(connect(found.settings), found.project, found.settings, Console(quiet=True))

    def up(self) -> None:
        found = self.workspace()
        prepare_https(found.https, self.directory, dt.datetime.now(dt.timezone.utc))
        self.stack().up()

    def container(self, service: str) -> Any:
        (found,) = self.stack().containers(service)
        return self.client.containers.get(found.id)


@pytest.fixture(scope="module")
def https_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpsStack]:
    directory = tmp_path_factory.mktemp("https-stack")
    environ = {
        **os.environ,
        **copy_project(directory),
        "COMPOSE_PROJECT_NAME": f"https-test-{uuid.uuid4().hex[:8]}",
        "NGINX_HTTPS_PORT": str(free_port()),
        "STACK_CA_DIR": str(directory / "local-ca"),
    }
    client = docker.from_env()
    found = HttpsStack(directory, environ, client)
    yield found
    stack = found.stack()
    stack.down(volumes=True)
    remove_project_images(stack)
    client.close()


@pytest.fixture
def resolves_to_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """gallery.test is 127.0.0.1 for this process, as a DNS record would make it."""
    resolve_to_loopback(monkeypatch, [HOST])


def negotiated_protocol(port: int, root: Path, server_name: str) -> str | None:
    context = ssl.create_default_context(cafile=str(root))
    context.set_alpn_protocols(["h2", "http/1.1"])
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        return tls.selected_alpn_protocol()


def wait_until(condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"waited {seconds:.0f} s for {what}")


# --- local HTTPS for `invoke up` -------------------------------------------------------------


def test_local_mode_serves_main_over_https_trusting_only_the_local_root(
    https_stack: HttpsStack,
) -> None:
    https_stack.extra = {"STACK_HTTPS": "local", "HTTPS_HOSTS": HOST}
    https_stack.up()
    root = Path(https_stack.environ["STACK_CA_DIR"]) / "rootCA.pem"
    response = requests.get(
        f"https://localhost:{https_stack.https_port}/main/", verify=root, timeout=10
    )
    assert response.text == WELCOME
    # Self-signed develop mode: no HSTS, or the browser would pin localhost for a year.
    assert "Strict-Transport-Security" not in response.headers


def test_local_mode_speaks_http2_on_443(https_stack: HttpsStack) -> None:
    root = Path(https_stack.environ["STACK_CA_DIR"]) / "rootCA.pem"
    assert negotiated_protocol(https_stack.https_port, root, "localhost") == "h2"


def test_local_mode_redirects_plain_http_to_the_published_https_port(
    https_stack: HttpsStack,
) -> None:
    response = requests.get(
        f"http://localhost:{https_stack.http_port}/main/?a=1", allow_redirects=False, timeout=10
    )
    assert response.status_code == 301
    assert response.headers["Location"] == f"https://localhost:{https_stack.https_port}/main/?a=1"


def test_local_mode_logs_in_with_a_secure_cookie_over_https_only(https_stack: HttpsStack) -> None:
    root = Path(https_stack.environ["STACK_CA_DIR"]) / "rootCA.pem"
    base = f"https://localhost:{https_stack.https_port}"
    with requests.Session() as browser:
        page = browser.get(f"{base}/login", verify=root, timeout=10).text
        token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        response = browser.post(
            f"{base}/login",
            data={"username": "admin", "password": "admin", "csrf_token": token},
            verify=root,
            allow_redirects=False,
            timeout=30,
        )
    assert response.status_code == 303
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_local_mode_passes_sslyzes_mozilla_intermediate_check(https_stack: HttpsStack) -> None:
    root = Path(https_stack.environ["STACK_CA_DIR"]) / "rootCA.pem"
    scan = sslyze_intermediate(https_stack.https_port, root, "localhost")
    assert scan.returncode == 0, scan.stdout[-2000:]
    assert "OK - Compliant." in scan.stdout


@pytest.mark.parametrize(
    ("environment", "refusal"),
    [
        ({"HTTPS_MODE": "on"}, "HTTPS_MODE=on is not one of off, files, local, acme, lb"),
        (
            {"HTTPS_MODE": "files"},
            "HTTPS_MODE=files: /etc/nginx/tls/fullchain.pem is missing or empty",
        ),
        ({"HTTPS_MODE": "lb"}, "HTTPS_MODE=lb needs TRUSTED_LB_ADDRESSES"),
        (
            {"HTTPS_MODE": "lb", "TRUSTED_LB_ADDRESSES": "slb.example.com"},
            "TRUSTED_LB_ADDRESSES: slb.example.com is not an address or CIDR range",
        ),
        ({"HTTPS_MODE": "acme", "HSTS_MAX_AGE": "1y"}, "HSTS_MAX_AGE=1y is not a number"),
    ],
    ids=["mode", "no-certificate", "lb-without-addresses", "lb-name", "hsts"],
)
def test_the_proxy_image_refuses_a_bad_https_setting_in_one_line(
    https_stack: HttpsStack, environment: dict[str, str], refusal: str
) -> None:
    image = https_stack.container("nginx").image.id
    proxy = https_stack.client.containers.run(image, environment=environment, detach=True)
    try:
        assert proxy.wait(timeout=60)["StatusCode"] == 64
        lines = proxy.logs(stdout=False, stderr=True).decode().strip().splitlines()
    finally:
        proxy.remove(force=True)
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"stack-nginx-entrypoint: {refusal}")


@pytest.fixture
def browser(https_stack: HttpsStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Headless Debian chromium that resolves gallery.test to 127.0.0.1 and trusts the stack's
    server key."""
    monkeypatch.setenv("SE_AVOID_STATS", "true")
    leaf = x509.load_pem_x509_certificates(
        (https_stack.directory / ".stack" / "https" / "fullchain.pem").read_bytes()
    )[0]
    with chromium([f"MAP {HOST} 127.0.0.1"], leaf) as driver:
        yield driver


def test_a_browser_logs_in_over_https_on_a_real_host_name_and_sees_its_thumbnail(
    https_stack: HttpsStack, browser: Any, tmp_path: Path
) -> None:
    # Typed as plain HTTP: nginx sends the browser to HTTPS before any form is shown.
    log_in_upload_and_see_thumbnail(
        browser,
        f"http://{HOST}:{https_stack.http_port}/login",
        f"https://{HOST}:{https_stack.https_port}/login",
        "admin",
        tmp_path,
    )


# --- certificate files given as secrets -------------------------------------------------------


def issue_into(https_stack: HttpsStack, cert: Path, key: Path) -> int:
    """A certificate for gallery.test from the local CA, written into the given files in place
    (the files are bind-mounted: a rename would leave nginx the old ones); its serial."""
    now = dt.datetime.now(dt.timezone.utc)
    ca = ensure_local_ca(Path(https_stack.environ["STACK_CA_DIR"]), now)
    fresh = https_stack.directory / f"issued-{uuid.uuid4().hex[:6]}"
    ensure_server_certificate(ca, [HOST], fresh, now)
    cert.write_bytes((fresh / "fullchain.pem").read_bytes())
    key.write_bytes((fresh / "privkey.pem").read_bytes())
    leaf = x509.load_pem_x509_certificates(cert.read_bytes())[0]
    return leaf.serial_number


def test_files_mode_serves_the_given_certificate_with_hsts(
    https_stack: HttpsStack, resolves_to_loopback: None
) -> None:
    cert, key = https_stack.directory / "site.crt", https_stack.directory / "site.key"
    serial = issue_into(https_stack, cert, key)
    https_stack.extra = {
        "STACK_HTTPS": "files",
        "HTTPS_HOSTS": HOST,
        "TLS_CERT_FILE": str(cert),
        "TLS_KEY_FILE": str(key),
    }
    https_stack.up()
    root = Path(https_stack.environ["STACK_CA_DIR"]) / "rootCA.pem"
    response = requests.get(
        f"https://{HOST}:{https_stack.https_port}/main/", verify=root, timeout=10
    )
    assert response.text == WELCOME
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert served_certificate(https_stack.https_port, HOST).serial_number == serial


def test_files_mode_rolls_a_changed_certificate_out_with_a_reload(
    https_stack: HttpsStack,
) -> None:
    cert, key = https_stack.directory / "site.crt", https_stack.directory / "site.key"
    nginx_before = https_stack.container("nginx").id
    serial = issue_into(https_stack, cert, key)
    wait_until(
        lambda: served_certificate(https_stack.https_port, HOST).serial_number == serial,
        60,
        "nginx to serve the changed certificate",
    )
    assert https_stack.container("nginx").id == nginx_before  # reloaded, not recreated


# --- behind a load balancer that terminates TLS ---------------------------------------------


def project_subnet(https_stack: HttpsStack) -> str:
    """Where the published port's connections come from (Docker's proxy, the gateway)."""
    name = f"{https_stack.environ['COMPOSE_PROJECT_NAME']}_default"
    network = https_stack.client.networks.get(name)
    return str(network.attrs["IPAM"]["Config"][0]["Subnet"])


def test_lb_mode_passes_a_trusted_balancers_https_to_the_app(https_stack: HttpsStack) -> None:
    https_stack.extra = {"STACK_HTTPS": "lb", "TRUSTED_LB_ADDRESSES": project_subnet(https_stack)}
    https_stack.up()
    base = f"http://127.0.0.1:{https_stack.http_port}"
    forwarded = {"X-Forwarded-Proto": "https"}
    response = requests.get(f"{base}/main/", headers=forwarded, timeout=10)
    assert response.text == WELCOME
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    login = requests.get(f"{base}/login", headers=forwarded, allow_redirects=False, timeout=10)
    assert login.status_code == 200  # the app saw https: no redirect, a Secure cookie
    assert "Secure" in login.headers["Set-Cookie"]


def test_lb_mode_redirects_the_balancers_plain_http(https_stack: HttpsStack) -> None:
    response = requests.get(
        f"http://127.0.0.1:{https_stack.http_port}/main/", allow_redirects=False, timeout=10
    )
    assert response.status_code == 301
    assert response.headers["Location"] == "https://127.0.0.1/main/"


def test_lb_mode_believes_no_one_else(https_stack: HttpsStack) -> None:
    https_stack.extra = {"STACK_HTTPS": "lb", "TRUSTED_LB_ADDRESSES": "192.0.2.0/24"}
    https_stack.up()
    response = requests.get(
        f"http://127.0.0.1:{https_stack.http_port}/main/",
        headers={"X-Forwarded-Proto": "https"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 301


# --- automatic certificates (ACME, HTTP-01) -----------------------------------------------------


@pytest.fixture(scope="module")
def acme_server(https_stack: HttpsStack) -> Iterator[Path]:
    """Caddy's ACME CA on a network of the test's own, reachable as acme.test; its root."""
    client = https_stack.client
    name = https_stack.environ["COMPOSE_PROJECT_NAME"]
    base = https_stack.workspace().settings.python_base_image
    # forcerm: the legacy builder's intermediate containers go even if the build fails.
    image, _ = client.images.build(
        path=str(ACME_SERVER),
        tag=f"{name}/acme-server:test",
        buildargs={"BASE_IMAGE": base},
        forcerm=True,
    )
    network = client.networks.create(f"{name}-acme")
    server = client.containers.run(
        image.id, name=f"{name}-acme-server", detach=True, network=network.name
    )
    network.disconnect(server)
    network.connect(server, aliases=[ACME_HOST])
    https_stack.network = network.name
    root_file = https_stack.directory / "acme-root.pem"

    def root_written() -> bool:
        found = server.exec_run(["cat", "/data/caddy/pki/authorities/local/root.crt"])
        if found.exit_code != 0:
            return False
        root_file.write_bytes(found.output)
        return True

    try:
        wait_until(root_written, 60, "the ACME server's root certificate")
        yield root_file
    finally:
        server.remove(force=True)
        for container in network.reload() or network.containers:
            network.disconnect(container, force=True)
        network.remove()
        client.images.remove(image.id, force=True)


def join_acme_network(https_stack: HttpsStack) -> None:
    """nginx as gallery.test (the ACME server validates there), certbot to reach acme.test."""
    network = https_stack.client.networks.get(https_stack.network)
    network.connect(https_stack.container("nginx").id, aliases=[HOST])
    network.connect(https_stack.container("certbot").id)


def test_first_acme_up_obtains_a_certificate_and_serves_main_over_https(
    https_stack: HttpsStack, acme_server: Path, resolves_to_loopback: None
) -> None:
    https_stack.extra = {
        "STACK_HTTPS": "acme",
        "HTTPS_HOSTS": HOST,
        "ACME_DIRECTORY": f"https://{ACME_HOST}/acme/local/directory",
        "ACME_CA_BUNDLE": str(acme_server),
        "ACME_RENEW_BEFORE": RENEW_BEFORE,
        "ACME_RETRY_SECONDS": "1",
    }
    https_stack.up()
    join_acme_network(https_stack)
    wait_until(
        lambda: (
            "stackctl test ACME CA"
            in served_certificate(https_stack.https_port, HOST).issuer.rfc4514_string()
        ),
        120,
        "nginx to serve the ACME certificate",
    )
    response = requests.get(
        f"https://{HOST}:{https_stack.https_port}/main/", verify=acme_server, timeout=10
    )
    assert response.text == WELCOME
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert negotiated_protocol(https_stack.https_port, acme_server, HOST) == "h2"


def test_the_acme_proxy_passes_sslyzes_mozilla_intermediate_check(
    https_stack: HttpsStack, acme_server: Path
) -> None:
    scan = sslyze_intermediate(https_stack.https_port, acme_server, HOST)
    assert scan.returncode == 0, scan.stdout[-2000:]
    assert "OK - Compliant." in scan.stdout


def test_plain_http_gets_a_301_to_https(
    https_stack: HttpsStack, resolves_to_loopback: None
) -> None:
    response = requests.get(
        f"http://{HOST}:{https_stack.http_port}/main/", allow_redirects=False, timeout=10
    )
    assert response.status_code == 301
    assert response.headers["Location"] == f"https://{HOST}:{https_stack.https_port}/main/"


def test_port_80_answers_only_the_challenge_the_health_check_and_redirects(
    https_stack: HttpsStack,
) -> None:
    base = f"http://127.0.0.1:{https_stack.http_port}"
    assert requests.get(f"{base}/nginx-health", timeout=10).text == "ok\n"
    challenge = requests.get(f"{base}/.well-known/acme-challenge/unknown", timeout=10)
    assert challenge.status_code == 404
    assert "X-Request-ID" not in challenge.headers  # nginx's own 404: the app never saw it
    login = requests.post(
        f"{base}/login", data={"password": "admin"}, allow_redirects=False, timeout=10
    )
    assert login.status_code == 301
    assert "Set-Cookie" not in login.headers


def test_forced_renewal_under_load_fails_no_request(
    https_stack: HttpsStack,
    acme_server: Path,
    resolves_to_loopback: None,
) -> None:
    before = served_certificate(https_stack.https_port, HOST).serial_number
    load = HttpsLoad(acme_server, f"https://{HOST}:{https_stack.https_port}/main/", WELCOME)

    def renew() -> None:
        renewal = https_stack.container("certbot").exec_run(
            ["sh", "/usr/local/bin/stack-certbot", "renew", "--force-renewal"]
        )
        assert renewal.exit_code == 0, renewal.output.decode()[-500:]

    under_load(
        [load],
        renew,
        lambda: served_certificate(https_stack.https_port, HOST).serial_number != before,
        "nginx to serve the renewed certificate",
        workers_each=4,
        within=60,
    )
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "https-renewal-load.json").write_text(
        json.dumps(
            {"requests": load.sent, "after_renewal": load.after_renewal, "resent": load.resent}
        )
    )
    none_failed([load], [HOST])


def test_a_recreated_proxy_and_acme_client_keep_the_certificate(
    https_stack: HttpsStack, acme_server: Path, resolves_to_loopback: None
) -> None:
    before = served_certificate(https_stack.https_port, HOST).serial_number
    for service in ("certbot", "nginx"):
        https_stack.container(service).remove(force=True)
    https_stack.up()
    join_acme_network(https_stack)  # certbot asks the ACME server's directory even to keep
    wait_until(
        lambda: (
            requests.get(
                f"https://{HOST}:{https_stack.https_port}/main/", verify=acme_server, timeout=10
            ).text
            == WELCOME
        ),
        60,
        "the recreated nginx to serve /main/",
    )
    assert served_certificate(https_stack.https_port, HOST).serial_number == before
    certbot = https_stack.container("certbot")
    wait_until(
        lambda: b"not yet due for renewal" in certbot.logs(),
        60,
        "certbot to keep the certificate",
    )
