"""HTTPS on the hosts of an SSH deploy (README "HTTPS"): the local stack's modes and pieces.

The mode and its facts are the local stack's settings (STACK_HTTPS, HTTPS_HOSTS, ACME_*,
HSTS_MAX_AGE, TRUSTED_LB_ADDRESSES, TLS_CERT_FILE / TLS_KEY_FILE; DEPLOY_HTTPS chooses another
mode for deploys than `invoke up`'s). The app definition takes the mode's own override file
(containers/compose.https-MODE.yaml) merged over compose.yaml, as `invoke up` does: compose.yaml
stays the one definition of the app, and the override adds the proxy's port 443, its TLS
settings and certificate source, and in acme mode the certbot accessory. Each host's certificate
covers its host names: HTTPS_HOSTS (or `x-deploy.https-hosts`) on every host, plus a host's own
(`x-deploy.https-hosts` as a mapping): HTTP-01 validates a name on the one host it resolves to.

On the Swarm target (`check_swarm_https`) the proxy is one global service: every node serves
the same certificate, a given one (files) or an ordered one (acme: one certbot behind every
node's proxy), written on every node by the certsync service and reloaded onto by each proxy
(`swarm/tls.py`), or a load balancer's (lb).

Everything here is checked before anything moves (`check_https`), one line each. The settings
and the override: `deploy/httpsmode.py`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stackctl.errors import SettingsError
from stackctl.tls.certcheck import HostCertificate
from stackctl.tls.prepare import planned_certificates
from stackctl.tls.settings import HttpsSettings, check_mode_needs

if TYPE_CHECKING:
    from stackctl.deploy.appdef import AppDefinition
    from stackctl.deploy.settings import DeploySettings

# What an accessory taking this variable (the ACME client) gets: its host's names.
HOSTS_VARIABLE = "HTTPS_HOSTS"


def names_on(https: HttpsSettings, app: AppDefinition, host: str) -> tuple[str, ...]:
    """The names the certificate of `host` (a DEPLOY_HOSTS entry) covers."""
    shared = https.hosts or app.https_hosts
    return tuple(dict.fromkeys([*shared, *app.https_hosts_by_host.get(host, ())]))


def accessory_environment(
    settings: DeploySettings, app: AppDefinition, host: str, service: str
) -> dict[str, str]:
    """What an accessory gets on `host` besides compose's environment: the ACME client (an
    accessory taking HTTPS_HOSTS) orders this host's names."""
    if settings.https.mode == "off" or HOSTS_VARIABLE not in app.spec(service).environment:
        return {}
    return {HOSTS_VARIABLE: ",".join(names_on(settings.https, app, host))}


def depends_on_proxy(app: AppDefinition, service: str) -> bool:
    """An accessory started once the proxy runs (compose's depends_on names it): the ACME
    client, whose first order needs the proxy answering the challenge."""
    return app.proxy is not None and app.proxy in app.spec(service).depends_on


@dataclass(frozen=True)
class HostHttps:
    """One host's certificates: each name's row (source, and for files the certificate)."""

    host: str
    rows: list[HostCertificate]


def check_https(settings: DeploySettings, app: AppDefinition, now: dt.datetime) -> list[HostHttps]:
    """Each proxied host's certificates, or the refusal (SettingsError, CertificateRefused) of
    what could not serve, before anything moves."""
    https = settings.https
    if https.mode == "off" or app.proxied is None:
        return []
    found = []
    for host, address in zip(settings.hosts, settings.addresses, strict=True):
        if not any(r.proxy_port is not None for r in app.roles_on(host)):
            continue
        names = names_on(https, app, host)
        if https.mode in ("acme", "files") and not names:
            raise SettingsError(
                f"HTTPS_HOSTS is empty and x-deploy.https-hosts names none for {host}:"
                f" STACK_HTTPS={https.mode} needs the host names its certificate covers"
                " (HTTPS_HOSTS=www.example.com for every host)"
            )
        on_host = https.model_copy(update={"hosts": names})
        check_mode_needs(on_host)
        found.append(
            HostHttps(address.name, planned_certificates(on_host, settings.project_dir, now))
        )
    return found


EVERY_NODE = "every node"


def check_swarm_https(
    settings: DeploySettings, app: AppDefinition, now: dt.datetime
) -> list[HostHttps]:
    """The one certificate every node's proxy serves, or the refusal (SettingsError,
    CertificateRefused) of what could not serve, before anything moves."""
    https = settings.https
    if https.mode == "off" or app.proxied is None:
        return []
    if app.https_hosts_by_host:
        raise SettingsError(
            "x-deploy.https-hosts is a mapping (a certificate per host); on a swarm every node"
            " serves the same certificate: list the names (https-hosts: [www.example.com]) or"
            " set HTTPS_HOSTS"
        )
    names = https.hosts or app.https_hosts
    if https.mode in ("files", "acme") and not names:
        raise SettingsError(
            f"HTTPS_HOSTS is empty and x-deploy.https-hosts names none: STACK_HTTPS={https.mode}"
            " needs the host names its certificate covers (HTTPS_HOSTS=www.example.com)"
        )
    on_swarm = https.model_copy(update={"hosts": names})
    check_mode_needs(on_swarm)
    return [HostHttps(EVERY_NODE, planned_certificates(on_swarm, settings.project_dir, now))]


HttpsCheck = Callable[["DeploySettings", "AppDefinition", dt.datetime], list[HostHttps]]


def describe(
    settings: DeploySettings,
    app: AppDefinition,
    now: dt.datetime,
    check: HttpsCheck = check_https,
) -> list[str]:
    """The dry run's and the doctor's words: the mode, where each host's certificate comes from
    (`check`: the target's, `check_swarm_https` for a swarm)."""
    https = settings.https
    if https.mode == "off":
        return ["HTTPS: off (plain HTTP on port 80; STACK_HTTPS=acme|files|lb serves HTTPS)"]
    published = f"{settings.http_host}:{settings.http_port}"
    if https.serves_tls:
        published = (
            f"443 on {settings.http_host}:{settings.https_port}, {published} answering only"
            " the ACME challenge, the health check and a 301"
        )
    if https.mode == "lb":
        published += (
            f", X-Forwarded-Proto believed from {', '.join(https.trusted_lb_addresses)} only"
        )
    lines = [f"HTTPS: {https.mode} ({published}; HSTS max-age {https.hsts_max_age})"]
    for host in check(settings, app, now):
        lines += [f"  {host.host}: {row.describe(now)}" for row in host.rows]
    return lines
