"""`invoke deploy.certs`: the certificate each host's proxy serves, read from the file nginx
serves (its TLS_CERT_FILE: the ACME lineage or the given chain), and a forced renewal by the
host's ACME client (nginx reloads gracefully once the files change)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from stackctl.deploy.errors import DeployFailed
from stackctl.deploy.ssh.accessories import accessory_name
from stackctl.deploy.ssh.proxy import proxy_name
from stackctl.engine.execs import run_in
from stackctl.engine.models import inspect_container
from stackctl.errors import CertificateRefused
from stackctl.tls.certcheck import certificate_from_pem

if TYPE_CHECKING:
    import docker

RENEW = ["sh", "/usr/local/bin/stack-certbot", "renew", "--force-renewal"]
ACME_CLIENT = "certbot"


def served_certificate(client: docker.DockerClient, app: str, now: dt.datetime) -> str:
    """One line: the names, issuer, expiry and serial of what the host's proxy serves."""
    from docker.errors import NotFound

    name = proxy_name(app)
    try:
        proxy = inspect_container(client.api, name)
    except NotFound:
        return "no proxy: deploy first"
    env = dict(line.split("=", 1) for line in proxy.env if "=" in line)
    path = env.get("TLS_CERT_FILE")
    if env.get("HTTPS_MODE", "off") in ("off", "lb") or not path:
        return f"HTTPS mode {env.get('HTTPS_MODE', 'off')}: the proxy serves no certificate"
    if not proxy.running:
        return "the proxy is not running"
    found = run_in(client.api, name, ["cat", path])
    if not found.ok:
        return f"no certificate yet at {path} (the ACME client has not obtained one)"
    try:
        certificate = certificate_from_pem(found.output, Path(path))
    except CertificateRefused as exc:
        return str(exc)
    left = certificate.not_after - now
    return (
        f"{', '.join(certificate.names)}: issued by {certificate.issuer}, expires"
        f" {certificate.not_after:%Y-%m-%d %H:%M} UTC (in {left.days} days), serial"
        f" {certificate.serial:x}"
    )


def renew(client: docker.DockerClient, app: str, host: str) -> None:
    """Renew the host's ACME certificate now (the ACME client's own `renew --force-renewal`)."""
    name = accessory_name(app, ACME_CLIENT)
    result = run_in(client.api, name, RENEW)
    if not result.ok:
        tail = result.text.strip().splitlines()[-1:] or ["(no output)"]
        raise DeployFailed(f"host {host}: the renewal failed: {tail[0]}")
