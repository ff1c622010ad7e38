"""`invoke doctor` says which certificate each host name will have, where from, when it ends."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tls_material import write_pair

from stackctl.doctor.doctor import check_https
from stackctl.tls.settings import HttpsSettings, load_https_settings


def given_files_for_gallery(tmp_path: Path, cert: Path, key: Path) -> HttpsSettings:
    """HTTPS for gallery.example.com from the certificate and key files given."""
    return load_https_settings(
        tmp_path,
        {
            "STACK_HTTPS": "files",
            "HTTPS_HOSTS": "gallery.example.com",
            "TLS_CERT_FILE": str(cert),
            "TLS_KEY_FILE": str(key),
        },
    )


def test_plain_http_is_one_line_saying_how_to_serve_https(tmp_path: Path) -> None:
    (check,) = check_https(load_https_settings(tmp_path, {}), tmp_path)
    assert (check.name, check.status) == ("https", "ok")
    assert check.detail.startswith("off: plain HTTP")


def test_a_given_certificate_is_shown_per_host_with_its_expiry(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    cert, key = write_pair(tmp_path, ["gallery.example.com"], not_after=now + dt.timedelta(days=50))
    https = given_files_for_gallery(tmp_path, cert, key)
    (check,) = check_https(https, tmp_path)
    assert (check.name, check.status) == ("https gallery.example.com", "ok")
    assert f"file {cert}, issued by Test CA, expires " in check.detail
    assert check.detail.endswith("(in 49 days)")  # 50 days less the moments since `now`


def test_a_certificate_that_would_be_refused_blocks_up(tmp_path: Path) -> None:
    cert, key = write_pair(tmp_path, ["other.example.com"])
    https = given_files_for_gallery(tmp_path, cert, key)
    (check,) = check_https(https, tmp_path)
    assert (check.status, check.blocks_up) == ("fail", True)
    assert "does not cover gallery.example.com" in check.detail


def test_the_local_mode_before_its_first_up_makes_nothing(tmp_path: Path) -> None:
    https = load_https_settings(tmp_path, {"STACK_HTTPS": "local", "STACK_CA_DIR": "ca"})
    checks = check_https(https, tmp_path)
    assert [c.name for c in checks] == ["https localhost", "https 127.0.0.1", "https ::1"]
    assert checks[0].detail.endswith("issued by the next `invoke up`")
    assert not (tmp_path / "ca").exists()


def test_acme_names_the_directory_the_certificate_will_come_from(tmp_path: Path) -> None:
    https = load_https_settings(
        tmp_path, {"STACK_HTTPS": "acme", "HTTPS_HOSTS": "gallery.example.com"}
    )
    (check,) = check_https(https, tmp_path)
    assert check.detail == (
        "gallery.example.com: ACME https://acme-v02.api.letsencrypt.org/directory"
        " (HTTP-01, certbot)"
    )
