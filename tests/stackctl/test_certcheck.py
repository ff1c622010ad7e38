"""Certificate files are checked before anything is served with them: one line per refusal."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from tls_material import NOW, new_key, write_pair

from stackctl.errors import CertificateRefused
from stackctl.tls.certcheck import (
    HostCertificate,
    check_certificate_files,
    name_matches,
    read_certificate,
)


def test_a_good_pair_gives_the_certificate_nginx_will_serve(tmp_path: Path) -> None:
    cert, key = write_pair(tmp_path, ["gallery.example.com", "www.gallery.example.com"])
    found = check_certificate_files(cert, key, ["gallery.example.com"], NOW)
    assert found.names == ("gallery.example.com", "www.gallery.example.com")
    assert found.issuer == "Test CA"
    assert found.expires_in(NOW) == dt.timedelta(days=89)


def test_a_key_of_another_certificate_is_refused_naming_the_key_file(tmp_path: Path) -> None:
    cert, _ = write_pair(tmp_path / "a")
    _, other_key = write_pair(tmp_path / "b")
    with pytest.raises(CertificateRefused) as refused:
        check_certificate_files(cert, other_key, ["gallery.example.com"], NOW)
    message = str(refused.value)
    assert message.startswith(f"{other_key}: this key does not match the certificate {cert}")
    assert "\n" not in message


def test_an_expired_certificate_is_refused_with_its_end_and_what_to_do(tmp_path: Path) -> None:
    cert, key = write_pair(tmp_path, not_after=NOW - dt.timedelta(hours=1))
    with pytest.raises(CertificateRefused, match=r"expired on 2026-12-06 11:00 UTC: renew it"):
        check_certificate_files(cert, key, ["gallery.example.com"], NOW)


def test_a_certificate_not_yet_valid_is_refused(tmp_path: Path) -> None:
    cert, key = write_pair(tmp_path, not_before=NOW + dt.timedelta(days=1))
    with pytest.raises(CertificateRefused, match="not valid before 2026-12-07"):
        check_certificate_files(cert, key, ["gallery.example.com"], NOW)


def test_a_host_name_the_certificate_does_not_cover_is_refused_by_name(tmp_path: Path) -> None:
    cert, key = write_pair(tmp_path, ["gallery.example.com"])
    with pytest.raises(CertificateRefused) as refused:
        check_certificate_files(cert, key, ["gallery.example.com", "shop.example.com"], NOW)
    assert str(refused.value) == (
        f"{cert}: the certificate does not cover shop.example.com (it covers gallery.example.com):"
        " give one issued for every host name, or change the host names"
    )


def test_a_wildcard_covers_one_label_only() -> None:
    assert name_matches("*.example.com", "gallery.example.com")
    assert name_matches("*.EXAMPLE.com", "Gallery.example.com.")
    assert not name_matches("*.example.com", "example.com")
    assert not name_matches("*.example.com", "a.gallery.example.com")


def test_a_file_that_is_not_pem_is_refused_naming_it(tmp_path: Path) -> None:
    bogus = tmp_path / "cert.pem"
    bogus.write_text("not a certificate")
    _, key = write_pair(tmp_path / "pair")
    with pytest.raises(CertificateRefused, match=rf"^{bogus}: no PEM certificate in it"):
        check_certificate_files(bogus, key, [], NOW)


def test_a_missing_key_file_is_refused_naming_it(tmp_path: Path) -> None:
    cert, _ = write_pair(tmp_path)
    with pytest.raises(CertificateRefused, match=r"cannot read the private key"):
        check_certificate_files(cert, tmp_path / "absent.pem", [], NOW)


def test_an_encrypted_key_is_refused_with_how_to_decrypt_it(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    key = new_key()
    cert, key_path = write_pair(tmp_path, key=key)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pass"),
        )
    )
    with pytest.raises(CertificateRefused, match="encrypted: give it without a passphrase"):
        check_certificate_files(cert, key_path, [], NOW)


def test_the_summary_says_which_certificate_a_host_has_where_from_and_when_it_ends(
    tmp_path: Path,
) -> None:
    cert, _ = write_pair(tmp_path, not_after=NOW + dt.timedelta(days=40))
    row = HostCertificate("gallery.example.com", f"file {cert}", read_certificate(cert))
    assert row.describe(NOW) == (
        f"gallery.example.com: file {cert}, issued by Test CA,"
        " expires 2027-01-15 12:00 UTC (in 40 days)"
    )


def test_the_summary_of_a_certificate_not_obtained_yet_names_its_source() -> None:
    row = HostCertificate("gallery.example.com", "ACME https://acme.test/dir (HTTP-01)", None)
    assert row.describe(NOW) == "gallery.example.com: ACME https://acme.test/dir (HTTP-01)"
