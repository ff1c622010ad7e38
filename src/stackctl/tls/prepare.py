"""Which certificate each host name will have, before `invoke up` moves anything (`prepare_https`,
which makes what the local mode needs) or when a doctor looks (`planned_certificates`, which
only reads).

local: the machine's CA and this project's server certificate; files: the given chain and key,
checked (refused in one line); acme: obtained by the certbot service once nginx answers the
challenge; lb: the load balancer's own.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from stackctl.errors import CertificateRefused, SettingsError
from stackctl.tls.certcheck import HostCertificate, check_certificate_files, host_rows
from stackctl.tls.localca import (
    LOOPBACK_NAMES,
    ROOT_CERT,
    SERVER_CERT,
    SERVER_KEY,
    ensure_local_ca,
    ensure_server_certificate,
)
from stackctl.tls.overrides import local_cert_dir
from stackctl.tls.settings import HttpsSettings


def prepare_https(
    https: HttpsSettings, project_dir: Path, now: dt.datetime
) -> list[HostCertificate]:
    """Make or check what the mode needs; the rows of "which certificate each host will have"."""
    if https.mode == "local":
        ca = ensure_local_ca(https.ca_dir, now)
        found = ensure_server_certificate(ca, https.hosts, local_cert_dir(project_dir), now)
        return host_rows(_local_hosts(https), f"local CA {ca.root_file}", found)
    return planned_certificates(https, project_dir, now)


def planned_certificates(
    https: HttpsSettings, project_dir: Path, now: dt.datetime
) -> list[HostCertificate]:
    """The same rows without writing anything; CertificateRefused for files that cannot serve."""
    if https.mode == "off":
        return []
    if https.mode == "local":
        directory = local_cert_dir(project_dir)
        source = f"local CA {https.ca_dir / ROOT_CERT}"
        try:
            found = check_certificate_files(
                directory / SERVER_CERT, directory / SERVER_KEY, _local_hosts(https), now
            )
        except CertificateRefused:
            return host_rows(_local_hosts(https), f"{source}, issued by the next `invoke up`", None)
        return host_rows(_local_hosts(https), source, found)
    if https.mode == "files":
        if https.cert_file is None or https.key_file is None:  # settings refuse this already
            raise SettingsError("STACK_HTTPS=files needs TLS_CERT_FILE and TLS_KEY_FILE")
        found = check_certificate_files(https.cert_file, https.key_file, https.hosts, now)
        return host_rows(https.hosts or found.names, f"file {https.cert_file}", found)
    if https.mode == "acme":
        return host_rows(https.hosts, f"ACME {https.acme_directory} (HTTP-01, certbot)", None)
    return host_rows(https.hosts or ["*"], "the load balancer's certificate", None)


def _local_hosts(https: HttpsSettings) -> list[str]:
    return list(dict.fromkeys([*https.hosts, *LOOPBACK_NAMES]))
