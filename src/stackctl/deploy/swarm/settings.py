"""Swarm-only deploy settings, beside DeploySettings (hosts, SSH, app name, secrets, registry):

DEPLOY_TARGET=swarm            `invoke deploy`, `rollback` and `ps` act on the swarm
DEPLOY_SWARM_REPLICAS=web=3,worker=1
                               replicas per role (default: web one per host, others 1)
DEPLOY_SWARM_LABELS=HOST:key=value,key=value;HOST:key=value
                               node labels set by `swarm.init` (HOST as in DEPLOY_HOSTS)
DEPLOY_SWARM_ADVERTISE_ADDR=eth0
                               address or interface the nodes advertise (default: Docker's)
DEPLOY_SWARM_MANAGERS=1        how many of DEPLOY_HOSTS (the first ones) are managers (3 keeps
                               the swarm steerable when one host is lost)
DEPLOY_SWARM_MONITOR=5         seconds Swarm watches each updated task before going on
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from stackctl.errors import SettingsError


@dataclass(frozen=True)
class SwarmSettings:
    replicas: dict[str, int] = field(default_factory=dict)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    """DEPLOY_HOSTS entry -> node labels"""
    advertise_addr: str | None = None
    managers: int = 1
    monitor: float = 5.0

    def replicas_of(self, service: str, default: int) -> int:
        return self.replicas.get(service, default)


def load_swarm_settings(
    hosts: tuple[str, ...],
    environ: Mapping[str, str] | None = None,
    dotenv: Mapping[str, str] | None = None,
) -> SwarmSettings:
    environ = os.environ if environ is None else environ
    dotenv = dotenv or {}

    def get(name: str) -> str:
        return (environ.get(name) or dotenv.get(name) or "").strip()

    return SwarmSettings(
        replicas=_replicas(get("DEPLOY_SWARM_REPLICAS")),
        labels=_labels(get("DEPLOY_SWARM_LABELS"), hosts),
        advertise_addr=get("DEPLOY_SWARM_ADVERTISE_ADDR") or None,
        managers=_count(get("DEPLOY_SWARM_MANAGERS") or "1", "DEPLOY_SWARM_MANAGERS"),
        monitor=_seconds(get("DEPLOY_SWARM_MONITOR") or "5", "DEPLOY_SWARM_MONITOR"),
    )


def _replicas(text: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        service, _, count = item.partition("=")
        if not service or not count.strip().isdigit():
            raise SettingsError(
                f"DEPLOY_SWARM_REPLICAS: {item!r} is not SERVICE=COUNT (e.g. web=3,worker=1)"
            )
        found[service.strip()] = int(count)
    return found


def _labels(text: str, hosts: tuple[str, ...]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for entry in filter(None, (part.strip() for part in text.split(";"))):
        # The host may hold ':' (a port): its labels start after the last ':' before the first '='.
        head, eq, _ = entry.partition("=")
        host, colon, first_key = head.rpartition(":")
        if not eq or not colon or not host or not first_key:
            raise SettingsError(f"DEPLOY_SWARM_LABELS: {entry!r} is not HOST:key=value[,key=value]")
        if hosts and host not in hosts:
            raise SettingsError(
                f"DEPLOY_SWARM_LABELS: host {host!r} is not in DEPLOY_HOSTS ({', '.join(hosts)})"
            )
        labels = found.setdefault(host, {})
        for pair in entry[len(host) + 1 :].split(","):
            key, eq, value = pair.strip().partition("=")
            if not eq or not key:
                raise SettingsError(f"DEPLOY_SWARM_LABELS: {pair!r} (host {host}) is not key=value")
            labels[key.strip()] = value.strip()
    return found


def _seconds(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1
    if value <= 0:
        raise SettingsError(f"{name}={text!r} is invalid: give a number of seconds above 0")
    return value


def _count(text: str, name: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise SettingsError(f"{name}={text!r} is invalid: give a whole number of at least 1")
    return int(text)
