"""The Swarm target's certificates (README "HTTPS"): one certificate on every node, given
(files) or ordered once (acme), rotated with a graceful reload, never a proxy task replaced.

- certsync, a small global service (the proxy's image), holds the certificate as Swarm secrets
  (encrypted in the raft log) and writes it into its node's `tls` volume, where that node's
  proxy reads it (TLS_CERT_FILE) and reloads gracefully when it changes. A changed certificate
  is a new certsync task per node, so no request fails.
- files: the given chain and key are certsync's secrets, the deploy's to set (versioned by
  content: a changed certificate changes certsync's spec).
- acme: certbot (the `certbot` accessory of compose.https-acme.yaml) runs once, pinned to a
  manager. The CA may ask any node for the HTTP-01 challenge, so every node's proxy passes
  /.well-known/acme-challenge/ to it over the app's overlay network (nginx's
  ACME_CHALLENGE_UPSTREAM), where certbot answers itself (standalone). Its lineage stays in its
  `letsencrypt` volume on that node: a redeploy or a recreated certbot places no new order. A
  new certificate becomes Swarm secrets which certbot's deploy hook
  (containers/certbot/swarm-secrets.py) hands to certsync through the manager's Engine API: the
  mounted socket is the one thing certbot is trusted with beyond its volume, and why it runs on
  a manager. The deploy owns certsync's spec but not these secrets: it carries over the ones the
  service has (certbot's latest), and its fingerprint leaves them out, so a renewal never looks
  like a change.
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


# The given chain and key: compose.https-files.yaml's secrets of the proxy.
GIVEN_SECRETS = ("tls_cert", "tls_key")
# What certbot names them (swarm-secrets.py).
ORDERED_SECRETS = ("fullchain.pem", "privkey.pem")


@dataclass(frozen=True)
class SwarmTls:
    """What a TLS-terminating mode (files, acme) adds to the specs beside the app definition."""

    mode: str
    """files or acme"""
    names: tuple[str, ...]
    """the host names of the one certificate"""
    secrets: tuple[Mapping[str, Any], ...] = ()
    """certsync's ContainerSpec.Secrets: the given chain and key (files), or what certbot last
    gave it (acme: carried over, left out of its fingerprint)"""

    @property
    def ordered(self) -> bool:
        return self.mode == "acme"

    def certsync_environment(self) -> list[str]:
        cert, key = ORDERED_SECRETS if self.ordered else GIVEN_SECRETS
        return [f"CERT_SECRET={cert}", f"KEY_SECRET={key}", "TLS_DIR=/certificate"]


def certsync_service(app: str) -> str:
    return f"{app}_{CERTSYNC}"


def client_environment(app: str, acme: SwarmTls, proxy: str, nodes: int) -> dict[str, str]:
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


def proxy_environment(tls: SwarmTls) -> dict[str, str]:
    """The proxy serves the certificate of the node's `tls` volume (and, ordering, passes the
    challenge to certbot)."""
    found = {
        "TLS_CERT_FILE": f"{TLS_DIR}/current/fullchain.pem",
        "TLS_KEY_FILE": f"{TLS_DIR}/current/privkey.pem",
    }
    if tls.ordered:
        found["ACME_CHALLENGE_UPSTREAM"] = f"{ACME_CLIENT}:{CHALLENGE_PORT}"
    return found


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
