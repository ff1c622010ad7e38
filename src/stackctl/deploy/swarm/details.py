"""`invoke deploy.details --target swarm`: per node, each task of the app's services that should
run (roles, accessories, the proxy) and each `deploy.exec` one-off running, found through the
manager; health and uptime from the task's container, read on its node. A role's version is the
release of the spec the task runs: mid-update or mid-rollback a node may show the previous one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stackctl.deploy import labels
from stackctl.deploy.details import KINDS, DetailRow, started_seconds, uptime
from stackctl.deploy.swarm.nodes import Swarm
from stackctl.engine.models import Container, Service, ServiceSpec, Task, inspect_container

if TYPE_CHECKING:
    from collections.abc import Mapping


def task_version(kind: str, spec: ServiceSpec, previous: ServiceSpec | None, task: Task) -> str:
    """A role's (or one-off's) release of the spec the task runs, else the image it runs."""
    if kind not in ("role", "exec"):
        return task.image
    if kind == "role" and previous is not None and not task.runs(spec) and task.runs(previous):
        return previous.labels.get(labels.RELEASE, "")
    return spec.labels.get(labels.RELEASE, "")


def task_row(
    service: Service, task: Task, container: Container | None, host: str, now: float
) -> DetailRow:
    """A task's row (pure: `container` is its inspection, None when it has none or its node
    did not answer)."""
    spec = service.spec
    kind = spec.labels.get(labels.KIND, "")
    previous = service.previous_spec
    running = container is not None and container.running
    started = started_seconds(container.started_at) if container is not None else None
    return DetailRow(
        host=host,
        kind=kind,
        service=spec.labels.get(labels.ROLE, service.name),
        container=f"{service.name}.{task.slot}" if task.slot else f"{service.name}.{task.id[:12]}",
        version=task_version(kind, spec, previous, task),
        state=task.state,
        health=container.health if container is not None else "",
        up=uptime(started, now, running),
    )


def swarm_rows(swarm: Swarm, app: str, hosts: Mapping[str, str], now: float) -> list[DetailRow]:
    """Every task the app's services should run (`hosts`: node id -> the host name shown;
    a node not in it is left out), a one-off's only while it runs."""
    rows = []
    for found in swarm.manager.services.list(filters={"label": f"{labels.APP}={app}"}):
        service = Service(found)
        kind = service.spec.labels.get(labels.KIND, "")
        if kind not in KINDS:
            continue
        # A job's task is no longer "desired running" once it ran: a one-off's are all read.
        tasks = service.tasks() if kind == "exec" else service.tasks(running_only=True)
        for task in tasks:
            if task.node_id not in hosts or (kind == "exec" and task.state != "running"):
                continue
            rows.append(task_row(service, task, _inspected(swarm, task), hosts[task.node_id], now))
    return rows


def _inspected(swarm: Swarm, task: Task) -> Container | None:
    """The task's container read on its node (None: not made yet, or gone meanwhile)."""
    address = swarm.address_of(task.node_id)
    if address is None or not task.container_id:
        return None
    try:
        return inspect_container(swarm.clients[address].api, task.container_id)
    except Exception:  # gone meanwhile, or its node stopped answering: the task's word stands
        return None
