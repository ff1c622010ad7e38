"""The Swarm target's acme mode (README "HTTPS"): one certificate, ordered once, on every node.

- certbot (the `certbot` accessory of compose.https-acme.yaml) runs once, pinned to a manager.
  The CA may ask any node for the HTTP-01 challenge, so every node's proxy passes
  /.well-known/acme-challenge/ to it over the app's overlay network (nginx's
  ACME_CHALLENGE_UPSTREAM), where certbot answers itself (standalone). Its lineage stays in its
  `letsencrypt` volume on that node: a redeploy or a recreated certbot places no new order.
- A new certificate becomes Swarm secrets (encrypted in the raft log, like a given one), which
  certbot's deploy hook (containers/certbot/swarm-secrets.py) hands to the global `certsync`
  service through the manager's Engine API: the mounted socket is the one thing certbot is
  trusted with beyond its volume, and why it runs on a manager.
- Each node's new certsync task writes the pair into the node's `tls` volume, where that node's
  proxy reads it and reloads gracefully: no proxy task is replaced, so no request fails.

The deploy owns certsync's spec but not its secrets: it carries over the ones the service has
(certbot's latest), and its fingerprint leaves them out, so a renewal never looks like a change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stackctl.deploy.appdef import AppDefinition
from stackctl.deploy.errors import DeployFailed
from stackctl.deploy.settings import DeploySettings
from stackctl.deploy.swarm.nodes import Swarm, accessory_host, node_table

ACME_CLIENT = "certbot"
CERTSYNC = "certsync"
TLS_VOLUME = "tls"
TLS_DIR = "/etc/nginx/tls"
CHALLENGE_PORT = 80
DOCKER_SOCKET = "/var/run/docker.sock"
CERTSYNC_COMMAND = ("/bin/sh", "/usr/local/bin/stack-certsync")
ON_A_MANAGER = "node.role==manager"


@dataclass(frozen=True)
class SwarmAcme:
    """What the acme mode adds to the specs beside the app definition."""

    names: tuple[str, ...]
    """the host names of the one certificate"""
    certsync_secrets: tuple[Mapping[str, Any], ...] = ()
    """the secrets certsync has now (certbot's latest certificate), carried over"""


def certsync_service(app: str) -> str:
    return f"{app}_{CERTSYNC}"


def client_environment(app: str, acme: SwarmAcme, proxy: str, nodes: int) -> dict[str, str]:
    """certbot's settings on a swarm (containers/certbot/run.sh): the names, standalone behind
    the proxies once every node's passes it the challenge (the CA may ask any), whom to hand a
    certificate to."""
    return {
        "HTTPS_HOSTS": ",".join(acme.names),
        "ACME_SWARM_APP": app,
        "ACME_SWARM_SERVICE": certsync_service(app),
        "ACME_PROXY": f"{proxy}:{CHALLENGE_PORT}",
        "ACME_PROXIES": str(nodes),
    }


def client_mounts() -> list[dict[str, Any]]:
    """The manager's Engine API, through which certbot hands certificates over."""
    return [{"Type": "bind", "Source": DOCKER_SOCKET, "Target": DOCKER_SOCKET}]


def proxy_environment() -> dict[str, str]:
    """The proxy passes the challenge to certbot and serves the certificate of the node's `tls`
    volume."""
    return {
        "ACME_CHALLENGE_UPSTREAM": f"{ACME_CLIENT}:{CHALLENGE_PORT}",
        "TLS_CERT_FILE": f"{TLS_DIR}/current/fullchain.pem",
        "TLS_KEY_FILE": f"{TLS_DIR}/current/privkey.pem",
    }


def tls_mount(app: str, target: str, *, read_only: bool) -> dict[str, Any]:
    return {
        "Type": "volume",
        "Source": f"{app}_{TLS_VOLUME}",
        "Target": target,
        "ReadOnly": read_only,
    }


def client_volumes(app: AppDefinition) -> frozenset[str]:
    """certbot's named volumes: on its node only, so no proxy mounts them on a swarm."""
    return frozenset(m.source for m in app.spec(ACME_CLIENT).volumes if m.source)


def check_on_a_manager(settings: DeploySettings, app: AppDefinition, swarm: Swarm) -> None:
    """certbot's node is a manager (it hands certificates over through its Engine API)."""
    address = accessory_host(settings, app, ACME_CLIENT)
    node = node_table(swarm)[swarm.node_ids[address]]
    if node.role != "manager":
        raise DeployFailed(
            f"certbot is pinned to {address.name}, a swarm worker: it hands each certificate to"
            " the nodes through a manager's Engine API; list a manager first in DEPLOY_HOSTS or"
            " pin it (x-deploy.accessories.certbot.hosts: [a manager])"
        )
