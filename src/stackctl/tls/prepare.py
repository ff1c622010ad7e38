"""Before `invoke up` moves anything in an HTTPS mode: the certificate each host name will have.

local: the machine's CA and this project's server certificate, made or renewed here; files: the
given chain and key checked (refused in one line); acme: obtained by the certbot service once
nginx answers the challenge; lb: the load balancer's own.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from stackctl.errors import SettingsError
from stackctl.tls.certcheck import HostCertificate, check_certificate_files, host_rows
from stackctl.tls.localca import LOOPBACK_NAMES, ensure_local_ca, ensure_server_certificate
from stackctl.tls.overrides import local_cert_dir
from stackctl.tls.settings import HttpsSettings


def prepare_https(
    https: HttpsSettings, project_dir: Path, now: dt.datetime
) -> list[HostCertificate]:
    """Make or check what the mode needs; the rows of "which certificate each host will have"."""
    if https.mode == "off":
        return []
    if https.mode == "local":
        ca = ensure_local_ca(https.ca_dir, now)
        found = ensure_server_certificate(ca, https.hosts, local_cert_dir(project_dir), now)
        hosts = list(dict.fromkeys([*https.hosts, *LOOPBACK_NAMES]))
        return host_rows(hosts, f"local CA {ca.root_file}", found)
    if https.mode == "files":
        if https.cert_file is None or https.key_file is None:  # settings refuse this already
            raise SettingsError("STACK_HTTPS=files needs TLS_CERT_FILE and TLS_KEY_FILE")
        found = check_certificate_files(https.cert_file, https.key_file, https.hosts, now)
        return host_rows(https.hosts or found.names, f"file {https.cert_file}", found)
    if https.mode == "acme":
        return host_rows(https.hosts, f"ACME {https.acme_directory} (HTTP-01)", None)
    return host_rows(https.hosts or ["*"], "the load balancer's certificate", None)
