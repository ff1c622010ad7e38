"""HTTPS settings (STACK_HTTPS and friends) and what each mode adds to the stack."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from tls_material import NOW, write_pair

from stackctl.errors import CertificateRefused, SettingsError
from stackctl.stack.workspace import load_workspace
from stackctl.tls.prepare import prepare_https
from stackctl.tls.settings import LETS_ENCRYPT, ONE_YEAR, load_https_settings

ROOT = Path(__file__).resolve().parents[2]


def test_plain_http_is_the_default(tmp_path: Path) -> None:
    https = load_https_settings(tmp_path, {})
    assert https.mode == "off"
    assert https.hsts_max_age == ONE_YEAR
    assert https.acme_directory == LETS_ENCRYPT


def test_host_names_are_a_comma_or_space_separated_list(tmp_path: Path) -> None:
    https = load_https_settings(
        tmp_path, {"HTTPS_HOSTS": "Gallery.Example.com, www.gallery.example.com"}
    )
    assert https.hosts == ("gallery.example.com", "www.gallery.example.com")


def test_a_bad_host_name_is_refused_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^setting HTTPS_HOSTS=.*'gal_lery' is not a host"):
        load_https_settings(tmp_path, {"HTTPS_HOSTS": "ok.example.com,gal_lery"})


def test_an_unknown_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^setting STACK_HTTPS='on' is invalid"):
        load_https_settings(tmp_path, {"STACK_HTTPS": "on"})


def test_acme_needs_host_names(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^STACK_HTTPS=acme needs HTTPS_HOSTS"):
        load_https_settings(tmp_path, {"STACK_HTTPS": "acme"})


def test_acme_refuses_a_wildcard_http01_cannot_validate(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"\*.example.com cannot be validated by HTTP-01"):
        load_https_settings(tmp_path, {"STACK_HTTPS": "acme", "HTTPS_HOSTS": "*.example.com"})


def test_an_eab_key_without_its_id_is_refused_without_showing_it(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="ACME_EAB_KID and ACME_EAB_HMAC_KEY go together") as e:
        load_https_settings(tmp_path, {"ACME_EAB_HMAC_KEY": "very-secret"})
    assert "very-secret" not in str(e.value)


def test_lb_needs_the_balancers_addresses(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="STACK_HTTPS=lb needs TRUSTED_LB_ADDRESSES"):
        load_https_settings(tmp_path, {"STACK_HTTPS": "lb"})


def test_lb_addresses_must_be_addresses(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"'slb\.example\.com' is not an address or CIDR range"):
        load_https_settings(
            tmp_path, {"STACK_HTTPS": "lb", "TRUSTED_LB_ADDRESSES": "slb.example.com"}
        )


def test_files_needs_both_files(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="STACK_HTTPS=files needs TLS_CERT_FILE"):
        load_https_settings(tmp_path, {"STACK_HTTPS": "files", "TLS_CERT_FILE": "c.pem"})


def test_plain_http_adds_nothing_to_the_stack() -> None:
    nginx = load_workspace(ROOT, environ={}, mode="production").project.services["nginx"]
    assert [p.target for p in nginx.ports] == [80]
    assert "HTTPS_MODE" not in nginx.environment


def test_local_mode_publishes_443_and_mounts_the_projects_certificate(tmp_path: Path) -> None:
    found = load_workspace(
        ROOT, environ={"STACK_HTTPS": "local", "NGINX_HTTPS_PORT": "9443"}, mode="production"
    )
    nginx = found.project.services["nginx"]
    assert [(p.published, p.target) for p in nginx.ports] == [(8080, 80), (9443, 443)]
    assert nginx.environment["HTTPS_MODE"] == "local"
    assert nginx.environment["HTTPS_REDIRECT_PORT"] == ":9443"
    assert [(m.source, m.target, m.read_only) for m in nginx.volumes] == [
        (str(ROOT / ".stack" / "https"), "/etc/nginx/tls", True)
    ]
    assert found.project.services["web"].environment["SESSION_COOKIE_SECURE"] == "true"


def test_files_mode_gives_nginx_the_pair_as_secrets(tmp_path: Path) -> None:
    cert, key = write_pair(tmp_path)
    found = load_workspace(
        ROOT,
        environ={"STACK_HTTPS": "files", "TLS_CERT_FILE": str(cert), "TLS_KEY_FILE": str(key)},
        mode="production",
    )
    nginx = found.project.services["nginx"]
    assert [s.source for s in nginx.secrets] == ["tls_cert", "tls_key"]
    assert nginx.environment["TLS_CERT_FILE"] == "/run/secrets/tls_cert"
    assert found.project.secrets["tls_cert"].file == cert


def test_acme_mode_adds_certbot_sharing_the_webroot_and_certificates_with_nginx() -> None:
    found = load_workspace(
        ROOT,
        environ={
            "STACK_HTTPS": "acme",
            "HTTPS_HOSTS": "gallery.example.com",
            "ACME_DIRECTORY": "https://acme.test/directory",
            "NGINX_HTTPS_PORT": "443",
        },
        mode="production",
    )
    nginx, certbot = found.project.services["nginx"], found.project.services["certbot"]
    assert certbot.environment["HTTPS_HOSTS"] == "gallery.example.com"
    assert certbot.environment["ACME_DIRECTORY"] == "https://acme.test/directory"
    assert nginx.environment["HTTPS_REDIRECT_PORT"] == ""
    shared = {m.source for m in nginx.volumes} & {m.source for m in certbot.volumes}
    assert len(shared) == 2
    assert all(m.read_only for m in nginx.volumes)


def test_lb_mode_passes_the_trusted_addresses_and_publishes_no_443() -> None:
    found = load_workspace(
        ROOT,
        environ={"STACK_HTTPS": "lb", "TRUSTED_LB_ADDRESSES": "100.64.0.0/10"},
        mode="production",
    )
    nginx = found.project.services["nginx"]
    assert nginx.environment["TRUSTED_LB_ADDRESSES"] == "100.64.0.0/10"
    assert [p.target for p in nginx.ports] == [80]


def test_local_mode_makes_the_ca_and_says_which_certificate_each_host_has(
    tmp_path: Path,
) -> None:
    https = load_https_settings(
        tmp_path,
        {"STACK_HTTPS": "local", "HTTPS_HOSTS": "gallery.test", "STACK_CA_DIR": "ca"},
    )
    rows = prepare_https(https, tmp_path, NOW)
    assert [row.host for row in rows] == ["gallery.test", "localhost", "127.0.0.1", "::1"]
    assert rows[0].source == f"local CA {tmp_path / 'ca' / 'rootCA.pem'}"
    assert (tmp_path / ".stack" / "https" / "fullchain.pem").is_file()


def test_files_mode_refuses_a_pair_before_anything_moves(tmp_path: Path) -> None:
    cert, key = write_pair(tmp_path, not_after=NOW - dt.timedelta(days=1))
    https = load_https_settings(
        tmp_path, {"STACK_HTTPS": "files", "TLS_CERT_FILE": str(cert), "TLS_KEY_FILE": str(key)}
    )
    with pytest.raises(CertificateRefused, match="expired"):
        prepare_https(https, tmp_path, NOW)
