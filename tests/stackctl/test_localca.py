"""The machine's local CA for `invoke up` over HTTPS: one root, a server certificate per project."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

from cryptography import x509
from tls_material import NOW

from stackctl.tls.certcheck import check_certificate_files
from stackctl.tls.localca import ensure_local_ca, ensure_server_certificate


def test_the_root_is_made_once_and_its_key_is_private(tmp_path: Path) -> None:
    first = ensure_local_ca(tmp_path / "ca", NOW)
    again = ensure_local_ca(tmp_path / "ca", NOW + dt.timedelta(days=1))
    assert first.certificate == again.certificate
    assert stat.S_IMODE((tmp_path / "ca" / "rootCA-key.pem").stat().st_mode) == 0o600
    constraints = first.certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.value.ca


def test_the_server_certificate_covers_the_hosts_and_the_loopback(tmp_path: Path) -> None:
    ca = ensure_local_ca(tmp_path / "ca", NOW)
    found = ensure_server_certificate(ca, ["gallery.test"], tmp_path / "tls", NOW)
    assert found.names == ("gallery.test", "localhost", "127.0.0.1", "::1")
    chain = x509.load_pem_x509_certificates((tmp_path / "tls" / "fullchain.pem").read_bytes())
    chain[0].verify_directly_issued_by(ca.certificate)
    assert chain[1] == ca.certificate


def test_a_fitting_server_certificate_is_kept(tmp_path: Path) -> None:
    ca = ensure_local_ca(tmp_path / "ca", NOW)
    ensure_server_certificate(ca, ["gallery.test"], tmp_path / "tls", NOW)
    before = (tmp_path / "tls" / "fullchain.pem").read_bytes()
    ensure_server_certificate(ca, ["gallery.test"], tmp_path / "tls", NOW + dt.timedelta(days=9))
    assert (tmp_path / "tls" / "fullchain.pem").read_bytes() == before


def test_a_new_host_name_gets_a_new_server_certificate(tmp_path: Path) -> None:
    ca = ensure_local_ca(tmp_path / "ca", NOW)
    ensure_server_certificate(ca, ["gallery.test"], tmp_path / "tls", NOW)
    found = ensure_server_certificate(ca, ["shop.test"], tmp_path / "tls", NOW)
    assert "shop.test" in found.names


def test_a_server_certificate_near_its_end_is_issued_again(tmp_path: Path) -> None:
    ca = ensure_local_ca(tmp_path / "ca", NOW)
    first = ensure_server_certificate(ca, [], tmp_path / "tls", NOW)
    later = NOW + dt.timedelta(days=380)
    second = ensure_server_certificate(ca, [], tmp_path / "tls", later)
    assert second.not_after > first.not_after
    check_certificate_files(
        tmp_path / "tls" / "fullchain.pem", tmp_path / "tls" / "privkey.pem", [], later
    )


def test_a_new_root_means_a_new_server_certificate(tmp_path: Path) -> None:
    old = ensure_local_ca(tmp_path / "old", NOW)
    ensure_server_certificate(old, [], tmp_path / "tls", NOW)
    new = ensure_local_ca(tmp_path / "new", NOW)
    ensure_server_certificate(new, [], tmp_path / "tls", NOW)
    leaf = x509.load_pem_x509_certificates((tmp_path / "tls" / "fullchain.pem").read_bytes())[0]
    leaf.verify_directly_issued_by(new.certificate)
