"""What a proxy serves and how the ACME client renews, for both targets' `deploy.certs`: the
certificate read from the very file nginx serves (its TLS_CERT_FILE: the ACME lineage, the given
chain, or on a swarm the node's copy), and certbot's own forced renewal."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from stackctl.engine.execs import run_in
from stackctl.engine.models import Container, inspect_container
from stackctl.errors import CertificateRefused
from stackctl.tls.certcheck import certificate_from_pem

if TYPE_CHECKING:
    import docker

RENEW = ["sh", "/usr/local/bin/stack-certbot", "renew", "--force-renewal"]


def certificate_file(proxy: Container) -> str | None:
    """The file the proxy serves its certificate from (TLS_CERT_FILE), None in a mode that
    serves none (off, lb)."""
    env = proxy.environment
    if env.get("HTTPS_MODE", "off") in ("off", "lb"):
        return None
    return env.get("TLS_CERT_FILE") or None


def served_by(client: docker.DockerClient, name: str, now: dt.datetime) -> str:
    """One line about the certificate the proxy container `name` serves (its TLS_CERT_FILE)."""
    from docker.errors import NotFound

    try:
        proxy = inspect_container(client.api, name)
    except NotFound:
        return "no proxy: deploy first"
    path = certificate_file(proxy)
    if path is None:
        mode = proxy.environment.get("HTTPS_MODE", "off")
        return f"HTTPS mode {mode}: the proxy serves no certificate"
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
