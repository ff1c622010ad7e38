"""HTTPS on the SSH deploy's hosts, read without an engine (`deploy/https.py`): the mode from the
local stack's settings, the mode's own override merged over compose.yaml, each host's names, and
the refusals before anything moves, one line each."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from stackctl.deploy.appdef import AppDefinition, load_app
from stackctl.deploy.https import (
    accessory_environment,
    check_https,
    check_swarm_https,
    depends_on_proxy,
    describe,
)
from stackctl.deploy.httpsmode import app_overrides, load_deploy_https
from stackctl.deploy.secrets import secret_files
from stackctl.deploy.settings import DeploySettings, load_deploy_settings
from stackctl.deploy.ssh.proxy import definition, proxy_request
from stackctl.errors import CertificateRefused, ComposeError, SettingsError
from stackctl.tls.settings import HttpsSettings

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.timezone.utc)
HOSTS = "root@web1.example.com,root@web2.example.com"


def write_pair(
    folder: Path,
    names: tuple[str, ...] = ("gallery.example.com",),
    *,
    not_after: dt.datetime = NOW + dt.timedelta(days=89),
) -> tuple[Path, Path]:
    """A self-signed chain and its key, as a bought certificate's files would be."""
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bought CA")]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(not_after)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert, private = folder / "gallery.pem", folder / "gallery.key"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert, private


def settings_with(**environ: str) -> DeploySettings:
    return load_deploy_settings(ROOT, environ={"DEPLOY_HOSTS": HOSTS, **environ})


def app_for(settings: DeploySettings, *more: Path) -> AppDefinition:
    """compose.yaml with the mode's override, as `invoke deploy` reads it for the hosts."""
    files, values = app_overrides(settings.https, ROOT)
    return load_app(
        ROOT / "compose.yaml",
        values,
        overrides=[*files, *more],
        hosts=settings.hosts,
    )


def per_host_names(tmp_path: Path) -> Path:
    override = tmp_path / "compose.names.yaml"
    override.write_text(
        yaml.safe_dump(
            {
                "x-deploy": {
                    "https-hosts": {
                        "root@web1.example.com": ["web1.example.com"],
                        "root@web2.example.com": ["web2.example.com"],
                    }
                }
            }
        )
    )
    return override


# --- the mode -------------------------------------------------------------------------------


def test_the_deploy_s_mode_is_stack_https_unless_deploy_https_chooses_another() -> None:
    assert load_deploy_https(ROOT, {"STACK_HTTPS": "acme"}, {}).mode == "acme"
    chosen = load_deploy_https(ROOT, {"STACK_HTTPS": "acme"}, {"DEPLOY_HTTPS": "lb"})
    assert chosen.mode == "lb"


def test_the_local_ca_mode_is_refused_for_a_deploy_naming_what_to_set() -> None:
    with pytest.raises(SettingsError) as refused:
        load_deploy_https(ROOT, {"STACK_HTTPS": "local"}, {})
    assert str(refused.value).startswith(
        "STACK_HTTPS=local is `invoke up`'s own CA, which no visitor trusts: set DEPLOY_HTTPS="
    )


def test_port_443_is_published_on_443_by_default_and_redirects_name_no_port() -> None:
    settings = settings_with(STACK_HTTPS="acme", HTTPS_HOSTS="gallery.example.com")
    assert settings.https_port == settings.https.https_port == 443
    _, values = app_overrides(settings.https, ROOT)
    assert values["STACK_HTTPS_REDIRECT_PORT"] == ""


# --- the app definition ------------------------------------------------------------------------


def test_acme_mode_adds_certbot_as_an_accessory_started_once_the_proxy_runs() -> None:
    settings = settings_with(STACK_HTTPS="acme", HTTPS_HOSTS="gallery.example.com")
    app = app_for(settings)
    assert [a.service for a in app.accessories] == ["redis", "certbot"]
    assert depends_on_proxy(app, "certbot")
    assert not depends_on_proxy(app, "redis")
    assert app.spec("web").environment["SESSION_COOKIE_SECURE"] == "true"


def test_the_acme_proxy_publishes_443_and_mounts_the_certificates_volume() -> None:
    settings = settings_with(STACK_HTTPS="acme", HTTPS_HOSTS="gallery.example.com")
    app = app_for(settings)
    request = proxy_request(settings, app.spec("nginx"), "aliecs/nginx:abc", "aliecs-web-v2:8000")
    assert request.host["port_bindings"] == {80: ("0.0.0.0", 80), 443: ("0.0.0.0", 443)}
    mounts = {m["Target"]: (m["Source"], m["ReadOnly"]) for m in request.host["mounts"]}
    assert mounts["/etc/letsencrypt"] == ("aliecs_letsencrypt", True)
    assert request.options["environment"]["HTTPS_MODE"] == "acme"


def test_the_plain_proxy_publishes_port_80_only() -> None:
    settings = settings_with()
    app = app_for(settings)
    request = proxy_request(settings, app.spec("nginx"), "aliecs/nginx:abc", "aliecs-web-v2:8000")
    assert request.host["port_bindings"] == {80: ("0.0.0.0", 80)}
    assert [a.service for a in app.accessories] == ["redis"]


def test_a_proxy_s_definition_changes_with_its_settings_not_with_the_release_it_serves() -> None:
    settings = settings_with(STACK_HTTPS="acme", HTTPS_HOSTS="gallery.example.com")
    app = app_for(settings)
    spec = app.spec("nginx")
    v1 = definition(
        proxy_request(settings, spec, "aliecs/nginx:abc", "aliecs-web-v1:8000"), spec, []
    )
    v2 = definition(
        proxy_request(settings, spec, "aliecs/nginx:abc", "aliecs-web-v2:8000"), spec, []
    )
    shorter = settings_with(
        STACK_HTTPS="acme", HTTPS_HOSTS="gallery.example.com", HSTS_MAX_AGE="600"
    )
    other = app_for(shorter).spec("nginx")
    hsts = definition(
        proxy_request(shorter, other, "aliecs/nginx:abc", "aliecs-web-v2:8000"), other, []
    )
    assert v1 == v2 != hsts


def test_each_host_s_acme_client_orders_that_host_s_names(tmp_path: Path) -> None:
    settings = settings_with(STACK_HTTPS="acme", HTTPS_HOSTS="gallery.example.com")
    app = app_for(settings, per_host_names(tmp_path))
    first, second = settings.hosts
    assert accessory_environment(settings, app, first, "certbot") == {
        "HTTPS_HOSTS": "gallery.example.com,web1.example.com"
    }
    assert accessory_environment(settings, app, second, "certbot") == {
        "HTTPS_HOSTS": "gallery.example.com,web2.example.com"
    }
    assert accessory_environment(settings, app, first, "redis") == {}


def test_x_deploy_https_hosts_names_only_deploy_hosts(tmp_path: Path) -> None:
    override = tmp_path / "compose.names.yaml"
    override.write_text(yaml.safe_dump({"x-deploy": {"https-hosts": {"root@elsewhere": ["a.b"]}}}))
    settings = settings_with(STACK_HTTPS="acme", HTTPS_HOSTS="gallery.example.com")
    with pytest.raises(ComposeError, match=r"x-deploy.https-hosts.root@elsewhere: host "):
        app_for(settings, override)


def test_x_deploy_https_hosts_refuses_what_is_no_host_name(tmp_path: Path) -> None:
    override = tmp_path / "compose.names.yaml"
    override.write_text(yaml.safe_dump({"x-deploy": {"https-hosts": ["gallery example"]}}))
    with pytest.raises(
        ComposeError, match=r'https-hosts\[0\]: "gallery example" is not a host name'
    ):
        app_for(settings_with(), override)


# --- refusals before anything moves ---------------------------------------------------------


def test_acme_without_host_names_is_refused_naming_the_setting() -> None:
    settings = settings_with(STACK_HTTPS="acme")
    with pytest.raises(SettingsError) as refused:
        check_https(settings, app_for(settings), NOW)
    message = str(refused.value)
    assert message.startswith("HTTPS_HOSTS is empty and x-deploy.https-hosts names none for")
    assert "\n" not in message


def test_per_host_names_alone_satisfy_acme(tmp_path: Path) -> None:
    settings = settings_with(STACK_HTTPS="acme")
    hosts = check_https(settings, app_for(settings, per_host_names(tmp_path)), NOW)
    assert [(h.host, [r.host for r in h.rows]) for h in hosts] == [
        ("web1.example.com:22", ["web1.example.com"]),
        ("web2.example.com:22", ["web2.example.com"]),
    ]


def test_acme_refuses_a_wildcard_http_01_cannot_validate() -> None:
    settings = settings_with(STACK_HTTPS="acme", HTTPS_HOSTS="*.example.com")
    with pytest.raises(SettingsError, match=r"\*\.example\.com cannot be validated by HTTP-01"):
        check_https(settings, app_for(settings), NOW)


def files_settings(cert: Path, key: Path, hosts: str = "gallery.example.com") -> DeploySettings:
    return settings_with(
        STACK_HTTPS="files", HTTPS_HOSTS=hosts, TLS_CERT_FILE=str(cert), TLS_KEY_FILE=str(key)
    )


def test_files_mode_refuses_a_key_of_another_certificate(tmp_path: Path) -> None:
    cert, _ = write_pair(tmp_path / "a")
    _, other = write_pair(tmp_path / "b")
    settings = files_settings(cert, other)
    with pytest.raises(CertificateRefused) as refused:
        check_https(settings, app_for(settings), NOW)
    assert str(refused.value).startswith(f"{other}: this key does not match the certificate")


def test_files_mode_refuses_an_expired_certificate(tmp_path: Path) -> None:
    cert, key = write_pair(tmp_path, not_after=NOW - dt.timedelta(hours=1))
    settings = files_settings(cert, key)
    with pytest.raises(CertificateRefused, match=r"expired on 2026-12-06 11:00 UTC: renew it"):
        check_https(settings, app_for(settings), NOW)


def test_files_mode_refuses_a_certificate_not_covering_a_host_name(tmp_path: Path) -> None:
    cert, key = write_pair(tmp_path)
    settings = files_settings(cert, key, "gallery.example.com,shop.example.com")
    with pytest.raises(CertificateRefused, match=r"does not cover shop.example.com \(it covers"):
        check_https(settings, app_for(settings), NOW)


def test_files_mode_ships_the_chain_and_key_as_the_proxy_s_secret_files(tmp_path: Path) -> None:
    cert, key = write_pair(tmp_path)
    settings = files_settings(cert, key)
    app = app_for(settings)
    spec = app.spec("nginx")
    shipped = {s.file_name: s.content for s in secret_files(app.project, spec)}
    assert shipped == {"tls_cert": cert.read_bytes(), "tls_key": key.read_bytes()}
    request = proxy_request(settings, spec, "aliecs/nginx:abc", "aliecs-web-v2:8000", "s-vol")
    assert request.options["environment"]["TLS_KEY_FILE"] == "/run/secrets/tls_key"
    assert key.read_text() not in repr(request)
    # Which files, not what they hold: a rotated certificate keeps the proxy (its files are
    # written over and nginx reloads), a mode without them is another proxy.
    assert definition(request, spec, list(shipped)) == definition(
        request, spec, ["tls_key", "tls_cert"]
    )
    assert definition(request, spec, list(shipped)) != definition(request, spec, [])


# --- what the dry run and the doctor say -------------------------------------------------------


def test_the_dry_run_says_the_mode_and_each_host_s_certificate_source(tmp_path: Path) -> None:
    settings = settings_with(
        STACK_HTTPS="acme",
        HTTPS_HOSTS="gallery.example.com",
        ACME_DIRECTORY="https://acme.example/dir",
    )
    lines = describe(settings, app_for(settings, per_host_names(tmp_path)), NOW)
    assert lines[0].startswith("HTTPS: acme (443 on 0.0.0.0:443, 0.0.0.0:80 answering only")
    assert (
        "  web2.example.com:22: web2.example.com: ACME https://acme.example/dir"
        " (HTTP-01, certbot)" in lines
    )


def test_the_dry_run_of_files_mode_names_the_file_and_its_expiry(tmp_path: Path) -> None:
    cert, key = write_pair(tmp_path)
    settings = files_settings(cert, key)
    lines = describe(settings, app_for(settings), NOW)
    assert lines[1] == (
        f"  web1.example.com:22: gallery.example.com: file {cert}, issued by Bought CA,"
        " expires 2027-03-05 12:00 UTC (in 89 days)"
    )


def test_the_plain_mode_says_so() -> None:
    settings = settings_with()
    assert describe(settings, app_for(settings), NOW) == [
        "HTTPS: off (plain HTTP on port 80; STACK_HTTPS=acme|files|lb serves HTTPS)"
    ]


def test_https_settings_given_directly_take_the_deploy_s_https_port() -> None:
    settings = load_deploy_settings(
        ROOT,
        environ={"DEPLOY_HOSTS": HOSTS, "DEPLOY_HTTPS_PORT": "8443"},
        overrides={"https": HttpsSettings(mode="acme", hosts=("gallery.example.com",))},
    )
    assert settings.https.https_port == 8443


def test_lb_mode_s_proxy_believes_the_balancer_only_and_publishes_port_80_only() -> None:
    settings = settings_with(STACK_HTTPS="lb", TRUSTED_LB_ADDRESSES="100.64.0.0/10")
    app = app_for(settings)
    request = proxy_request(settings, app.spec("nginx"), "aliecs/nginx:abc", "aliecs-web-v2:8000")
    assert request.host["port_bindings"] == {80: ("0.0.0.0", 80)}
    assert request.options["environment"]["TRUSTED_LB_ADDRESSES"] == "100.64.0.0/10"
    assert [h.rows[0].source for h in check_https(settings, app, NOW)] == [
        "the load balancer's certificate",
        "the load balancer's certificate",
    ]


def test_lb_mode_without_the_balancer_s_addresses_is_refused_naming_the_setting() -> None:
    with pytest.raises(ComposeError, match=r"set TRUSTED_LB_ADDRESSES"):
        app_for(settings_with(STACK_HTTPS="lb"))


# --- through invoke ----------------------------------------------------------------------------


def invoke(monkeypatch: pytest.MonkeyPatch, *args: str, **environ: str) -> None:
    from invoke import Program

    from support.tasks_module import load_tasks

    for name, value in {"DEPLOY_HOSTS": HOSTS, **environ}.items():
        monkeypatch.setenv(name, value)
    Program(namespace=load_tasks().ns).run(["invoke", *args])


def test_invoke_deploy_dry_run_says_the_https_mode_and_each_host_s_names(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    invoke(
        monkeypatch,
        "deploy",
        "--dry-run",
        STACK_HTTPS="acme",
        HTTPS_HOSTS="gallery.example.com",
        DEPLOY_TARGET="hosts",
    )
    said = " ".join(capsys.readouterr().out.split())  # the console wraps at its width
    assert "HTTPS: acme (443 on 0.0.0.0:443" in said
    assert "web1.example.com:22: gallery.example.com: ACME https://acme-v02." in said


# --- the Swarm target: one certificate on every node -------------------------------------------


def test_a_swarm_serves_the_given_certificate_on_every_node(tmp_path: Path) -> None:
    cert, key = write_pair(tmp_path)
    settings = settings_with(
        STACK_HTTPS="files",
        HTTPS_HOSTS="gallery.example.com",
        TLS_CERT_FILE=str(cert),
        TLS_KEY_FILE=str(key),
    )
    app = app_for(settings)
    (found,) = check_swarm_https(settings, app, NOW)
    assert found.host == "every node"
    lines = describe(settings, app, NOW, check=check_swarm_https)
    assert lines[0].startswith("HTTPS: files (443 on 0.0.0.0:443")
    assert lines[1].startswith(f"  every node: gallery.example.com: file {cert}")


def test_a_swarm_refuses_per_host_certificates_in_one_line(tmp_path: Path) -> None:
    cert, key = write_pair(tmp_path, ("gallery.example.com", "web1.example.com"))
    settings = settings_with(
        STACK_HTTPS="files",
        HTTPS_HOSTS="gallery.example.com",
        TLS_CERT_FILE=str(cert),
        TLS_KEY_FILE=str(key),
    )
    with pytest.raises(SettingsError) as refused:
        check_swarm_https(settings, app_for(settings, per_host_names(tmp_path)), NOW)
    assert "every node serves the same certificate: list the names" in str(refused.value)


def test_a_swarm_refuses_a_certificate_that_cannot_serve_before_anything_moves(
    tmp_path: Path,
) -> None:
    cert, key = write_pair(tmp_path, not_after=NOW - dt.timedelta(days=1))
    settings = settings_with(
        STACK_HTTPS="files",
        HTTPS_HOSTS="gallery.example.com",
        TLS_CERT_FILE=str(cert),
        TLS_KEY_FILE=str(key),
    )
    with pytest.raises(CertificateRefused, match="expired"):
        check_swarm_https(settings, app_for(settings), NOW)


def test_a_swarm_orders_one_certificate_for_the_names_every_node_serves() -> None:
    settings = settings_with(STACK_HTTPS="acme", HTTPS_HOSTS="gallery.example.com")
    app = app_for(settings)
    lines = describe(settings, app, NOW, check=check_swarm_https)
    assert lines[0].startswith("HTTPS: acme (443 on 0.0.0.0:443")
    assert lines[1].startswith("  every node: gallery.example.com: ACME https://acme-v02.")


def test_a_swarm_in_acme_mode_without_names_is_one_line() -> None:
    settings = settings_with(STACK_HTTPS="acme")
    with pytest.raises(SettingsError) as refused:
        check_swarm_https(settings, app_for(settings), NOW)
    assert str(refused.value) == (
        "HTTPS_HOSTS is empty and x-deploy.https-hosts names none: STACK_HTTPS=acme needs the"
        " host names its certificate covers (HTTPS_HOSTS=www.example.com)"
    )


def test_a_swarm_behind_a_load_balancer_needs_no_certificate() -> None:
    settings = settings_with(STACK_HTTPS="lb", TRUSTED_LB_ADDRESSES="100.64.0.0/10")
    app = app_for(settings)
    (found,) = check_swarm_https(settings, app, NOW)
    assert [r.describe(NOW) for r in found.rows] == ["*: the load balancer's certificate"]


def test_doctor_host_says_the_mode_and_each_host_name_s_certificate_source(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from stackctl.deploy.ssh.target import https_checks

    settings = settings_with(STACK_HTTPS="acme")
    run: Any = SimpleNamespace(settings=settings, app=app_for(settings, per_host_names(tmp_path)))
    checks = https_checks(run)
    assert [(c.name, c.status) for c in checks] == [
        ("https", "ok"),
        ("https on web1.example.com:22", "ok"),
        ("https on web2.example.com:22", "ok"),
    ]
    assert checks[2].detail.startswith("web2.example.com: ACME https://acme-v02.")


def test_doctor_host_fails_the_https_check_with_the_refusal(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from stackctl.deploy.ssh.target import https_checks

    cert, key = write_pair(tmp_path, not_after=NOW - dt.timedelta(hours=1))
    settings = files_settings(cert, key)
    run: Any = SimpleNamespace(settings=settings, app=app_for(settings))
    (check,) = https_checks(run)
    assert (check.name, check.status) == ("https", "fail")
    assert "the certificate expired on" in check.detail
