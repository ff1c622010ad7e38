"""`invoke deploy.certs`: the certificate each host's proxy serves, read from the file nginx
serves (its TLS_CERT_FILE: the ACME lineage or the given chain), and a forced renewal by the
host's ACME client (nginx reloads gracefully once the files change)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from stackctl.deploy.certs import RENEW, served_by
from stackctl.deploy.errors import DeployFailed
from stackctl.deploy.ssh.accessories import accessory_name
from stackctl.deploy.ssh.proxy import proxy_name
from stackctl.engine.execs import run_in

if TYPE_CHECKING:
    import docker

ACME_CLIENT = "certbot"


def served_certificate(client: docker.DockerClient, app: str, now: dt.datetime) -> str:
    """One line: the names, issuer, expiry and serial of what the host's proxy serves."""
    return served_by(client, proxy_name(app), now)


def renew(client: docker.DockerClient, app: str, host: str) -> None:
    """Renew the host's ACME certificate now (the ACME client's own `renew --force-renewal`)."""
    name = accessory_name(app, ACME_CLIENT)
    result = run_in(client.api, name, RENEW)
    if not result.ok:
        tail = result.text.strip().splitlines()[-1:] or ["(no output)"]
        raise DeployFailed(f"host {host}: the renewal failed: {tail[0]}")
