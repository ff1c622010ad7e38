"""The swarm of the configured ECS hosts: every host's engine over SSH (in parallel), a swarm
made or joined (init on the first host, the rest join with the manager's token), node labels.
Each step looks first, so running it again changes nothing."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stackctl.deploy import fanout
from stackctl.deploy.appdef import AppDefinition
from stackctl.deploy.errors import DeployFailed
from stackctl.deploy.settings import DeploySettings, HostAddress
from stackctl.deploy.swarm.settings import SwarmSettings
from stackctl.engine.models import Node, Service, SwarmInfo, Task, join_token, swarm_info

if TYPE_CHECKING:
    import docker

Say = Callable[[str], None]
SWARM_PORT = 2377


@dataclass
class Swarm:
    """The hosts' clients, the node id of each host and the client of a manager."""

    clients: dict[HostAddress, docker.DockerClient]
    node_ids: dict[HostAddress, str]
    manager: docker.DockerClient

    def address_of(self, node_id: str) -> HostAddress | None:
        return next((a for a, n in self.node_ids.items() if n == node_id), None)


def running_tasks(swarm: Swarm, name: str) -> list[tuple[HostAddress, Task]]:
    """Each running task of the service `name` that has a container, with the host it runs on
    (tasks on nodes outside DEPLOY_HOSTS are left out)."""
    # The name filter matches prefixes too (web, web2): the exact one only.
    listed = [Service(s) for s in swarm.manager.services.list(filters={"name": name})]
    found = [s for s in listed if s.name == name]
    tasks = []
    for task in found[0].tasks(running_only=True) if found else []:
        address = swarm.address_of(task.node_id)
        if address is not None and task.container_id:
            tasks.append((address, task))
    return tasks


def accessory_label(app: str, service: str) -> str:
    """The node label pinning an accessory (and its named volumes) to one node."""
    return f"org.aliecs.{app}.{service}"


@contextlib.contextmanager
def connected(settings: DeploySettings) -> Iterator[dict[HostAddress, docker.DockerClient]]:
    """A client per host, all connected at once (`fanout.connected`; joining may be slow)."""
    with fanout.connected(settings, timeout=300) as clients:
        yield clients


def find_swarm(
    settings: DeploySettings, clients: Mapping[HostAddress, docker.DockerClient]
) -> Swarm:
    """The swarm the hosts are in; DeployFailed naming the host that is not (run swarm.init)."""
    infos = {a: swarm_info(c) for a, c in clients.items()}
    outside = [a for a, i in infos.items() if not i.active]
    if outside:
        raise DeployFailed(
            f"host {outside[0].name} is not in a swarm (state"
            f" {infos[outside[0]].local_state or 'unknown'}): run `invoke swarm.init`"
        )
    managers = [a for a, i in infos.items() if i.manager]
    clusters = {infos[a].cluster_id for a in managers}
    if not managers:
        raise DeployFailed(
            "no host of DEPLOY_HOSTS is a swarm manager: run `invoke swarm.init`"
            " or promote one of them"
        )
    if len(clusters) > 1:
        raise DeployFailed(
            f"the hosts are managers of {len(clusters)} different swarms: leave the extra ones"
            " (`docker swarm leave --force` on them) and run `invoke swarm.init`"
        )
    return Swarm(
        clients=dict(clients),
        node_ids={a: i.node_id for a, i in infos.items()},
        manager=clients[managers[0]],
    )


def init_swarm(
    settings: DeploySettings,
    swarm_settings: SwarmSettings,
    app: AppDefinition,
    clients: Mapping[HostAddress, docker.DockerClient],
    say: Say,
) -> Swarm:
    """Make the hosts one swarm: init on the first host (unless a host already manages one),
    join the others as workers (the first DEPLOY_SWARM_MANAGERS as managers), set labels."""
    addresses = list(clients)
    infos: dict[HostAddress, SwarmInfo] = {a: swarm_info(c) for a, c in clients.items()}
    managers = [a for a in addresses if infos[a].manager]
    if managers:
        lead = managers[0]
        say(f"{lead.name}: already a swarm manager")
    else:
        lead = addresses[0]
        if infos[lead].active:
            raise DeployFailed(
                f"host {lead.name} is a worker of a swarm none of DEPLOY_HOSTS manages: run"
                " `docker swarm leave` there, or list a manager first in DEPLOY_HOSTS"
            )
        clients[lead].swarm.init(
            advertise_addr=swarm_settings.advertise_addr, listen_addr=f"0.0.0.0:{SWARM_PORT}"
        )
        say(f"{lead.name}: swarm initialised (manager)")
        infos[lead] = swarm_info(clients[lead])
    manager = clients[lead]
    cluster = infos[lead].cluster_id
    manager_addr = f"{infos[lead].node_addr}:{SWARM_PORT}"
    wanted_managers = set(addresses[: swarm_settings.managers])
    for address in addresses:
        info = infos[address]
        if address == lead:
            continue
        if info.active:
            if info.cluster_id not in (None, cluster) or not _knows(manager, info.node_id):
                raise DeployFailed(
                    f"host {address.name} is in another swarm: run `docker swarm leave --force`"
                    " there, then `invoke swarm.init` again"
                )
            say(f"{address.name}: already in the swarm")
            continue
        as_manager = address in wanted_managers
        clients[address].swarm.join(
            remote_addrs=[manager_addr],
            join_token=join_token(manager, manager=as_manager),
            advertise_addr=swarm_settings.advertise_addr,
            listen_addr=f"0.0.0.0:{SWARM_PORT}",
        )
        say(f"{address.name}: joined as {'manager' if as_manager else 'worker'}")
    swarm = find_swarm(settings, clients)
    for line in set_labels(settings, swarm_settings, app, swarm):
        say(line)
    return swarm


def _knows(manager: docker.DockerClient, node_id: str) -> bool:
    from docker.errors import NotFound

    try:
        manager.nodes.get(node_id)
    except NotFound:
        return False
    return True


def wanted_labels(
    settings: DeploySettings, swarm_settings: SwarmSettings, app: AppDefinition
) -> dict[HostAddress, dict[str, str]]:
    """Per host: DEPLOY_SWARM_LABELS, and the pin of every accessory (its first host, or the
    first of DEPLOY_HOSTS)."""
    by_key = dict(zip(settings.hosts, settings.addresses, strict=True))
    wanted: dict[HostAddress, dict[str, str]] = {a: {} for a in settings.addresses}
    for key, labels in swarm_settings.labels.items():
        wanted[by_key[key]].update(labels)
    for accessory in app.accessories:
        host = accessory_host(settings, app, accessory.service)
        wanted[host][accessory_label(settings.app, accessory.service)] = "true"
    return wanted


def accessory_host(settings: DeploySettings, app: AppDefinition, service: str) -> HostAddress:
    """The host an accessory is pinned to: its first `hosts` entry, or the first of DEPLOY_HOSTS."""
    accessory = app.accessory(service)
    key = accessory.hosts[0] if accessory.hosts else settings.hosts[0]
    return dict(zip(settings.hosts, settings.addresses, strict=True))[key]


def set_labels(
    settings: DeploySettings, swarm_settings: SwarmSettings, app: AppDefinition, swarm: Swarm
) -> list[str]:
    """Add the wanted labels the nodes lack (others' labels are kept); what changed."""
    changed = []
    for address, labels in wanted_labels(settings, swarm_settings, app).items():
        found = swarm.manager.nodes.get(swarm.node_ids[address])
        node = Node.of(found)
        current = node.labels
        if all(current.get(k) == v for k, v in labels.items()):
            continue
        spec = node.spec
        spec["Labels"] = {**current, **labels}
        found.update(spec)
        shown = ", ".join(f"{k}={v}" for k, v in labels.items() if current.get(k) != v)
        changed.append(f"{address.name}: labels {shown}")
    return changed


def node_table(swarm: Swarm) -> dict[str, Node]:
    """node id -> the node (hostname, state, availability, role, labels): from the manager."""
    return {node.id: Node.of(node) for node in swarm.manager.nodes.list()}


def map_parallel(swarm: Swarm, work: Callable[[HostAddress, docker.DockerClient], None]) -> None:
    """`work` on every host at once; the first failure is raised after all have finished."""
    fanout.side_by_side(
        list(swarm.clients.items()), lambda item: work(*item), limit=fanout.MAX_CONNECTING
    )
