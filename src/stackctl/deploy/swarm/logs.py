"""`deploy.logs --target swarm`: a service's logs through the manager (Swarm gathers every
task's from its node), each line named by the node's host and the task (`<service>.<slot>`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from stackctl.deploy.logstream import LogSource
from stackctl.deploy.logview import NODE_ID, TASK_ID, LogLine, LogRequest, parse_service_line
from stackctl.engine.models import Task

if TYPE_CHECKING:
    import docker


def task_names(manager: docker.DockerClient, service: str) -> dict[str, str]:
    """task id -> `<service>.<slot>` (what `docker service ps` shows)."""
    named = {}
    for task in (Task(t) for t in manager.api.tasks(filters={"service": service})):
        named[task.id] = f"{service}.{task.slot}" if task.slot else f"{service}.{task.id[:12]}"
    return named


def service_line(
    raw: str, *, hosts: Mapping[str, str], tasks: Mapping[str, str], keep: frozenset[str] | None
) -> LogLine | None:
    """A service log line as a LogLine (`hosts`: node id -> host name); None when its node is
    not one of `keep` (the --host nodes)."""
    at, details, text = parse_service_line(raw)
    node = details.get(NODE_ID, "")
    if keep is not None and node not in keep:
        return None
    task = details.get(TASK_ID, "")
    return LogLine(at, hosts.get(node, node[:12] or "?"), tasks.get(task, task[:12] or "?"), text)


def service_source(
    manager: docker.DockerClient,
    manager_name: str,
    service: str,
    request: LogRequest,
    *,
    hosts: Mapping[str, str],
    keep: frozenset[str] | None,
) -> LogSource:
    tasks = task_names(manager, service)

    def answers() -> bool:
        try:
            manager.ping()
        except Exception:
            return False
        return True

    return LogSource(
        host=manager_name,
        what=service,
        chunks=lambda: manager.api.service_logs(
            service,
            details=True,
            follow=request.follow,
            stdout=True,
            stderr=True,
            timestamps=True,
            since=request.since,
            tail="all" if request.tail is None else request.tail,
            is_tty=False,
        ),
        line=lambda raw: service_line(raw, hosts=hosts, tasks=tasks, keep=keep),
        connected=answers,
    )
