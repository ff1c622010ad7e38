"""`invoke deploy.exec --target swarm`: a command beside the running release on a node, in a
one-off of the role's service, or in a running task's container (`--reuse`).

The one-off is a one-off *service*, not a container: Swarm hands secrets to a service's tasks
only, so a `docker run` on a node could not have them. It is made from the role service's current
spec (`oneoff_spec`): its image, environment, secrets, user, working directory, volumes and overlay
network. Changed from the role's: the command is the user's (after the image's entrypoint, as the
SSH one-off and `docker run IMAGE CMD` run it); no health check (a CLI command serves no HTTP, and
Swarm kills a task its check calls unhealthy); no restart; no DNS alias on the network (nothing
reaches it as `web`; the proxy's upstream is the role service's own tasks); one task run to its end
(`ReplicatedJob`, Engine API 1.41); placed on the chosen node (`node.id==`). Its output is read
from the task's container on that node (a container's followed log ends when the container ends; a
service's followed log waits for more tasks), its exit code is the task's, and the service is
removed as soon as the command ended, whatever ended it, then its container on the node (Swarm
left a finished job task's container behind with its service gone).

A one-off whose deployer died mid-command (a dropped connection, a killed terminal) is not cut
off: its command runs to its end, as the SSH one-off's does (a migration completes). Its finished
service is removed at the start of the next `deploy.exec` or `deploy --target swarm`
(`remove_leftovers`), and one still running after STALE_AFTER is taken as hung and removed then
too (a Swarm job has no deadline of its own). One-offs carry the `exec` kind label on the service
and its container: `docker service ls --filter label=org.aliecs.deploy.kind=exec` on a manager
shows one still there, and `deploy.details` lists one running.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stackctl.deploy import labels
from stackctl.deploy.details import started_seconds
from stackctl.deploy.errors import DeployFailed
from stackctl.deploy.oneoff import ExecRequest
from stackctl.deploy.settings import DeploySettings, HostAddress
from stackctl.deploy.swarm.nodes import Swarm
from stackctl.deploy.swarm.specs import NAMESPACE, service_name
from stackctl.engine.models import (
    Container,
    Service,
    ServiceSpec,
    Task,
    inspect_container,
    listed_containers,
)
from stackctl.engine.services import create_job, one_off_job

if TYPE_CHECKING:
    import docker

Write = Callable[[bytes], None]
Say = Callable[[str], None]
Clock = Callable[[], float]
Sleep = Callable[[float], None]

ENDED = frozenset({"complete", "failed", "shutdown", "rejected", "orphaned", "remove"})
"""Swarm's task states after which nothing more runs."""
SWARM_SERVICE = "com.docker.swarm.service.name"
"""The label Swarm gives a task's container: its service's name."""
RAN = "task: non-zero exit"
"""The start of Swarm's error for a task whose command ran and exited non-zero."""
START_TIMEOUT = 120.0
"""Seconds a one-off may take to start (scheduled, container made): a node that cannot run it
(down, drained) answers in this time with Swarm's reason."""
END_TIMEOUT = 60.0
"""Seconds for Swarm to report the task ended once its container's output ended."""
LEFT_AFTER = 60.0
"""A finished one-off older than this (since its task ended) is another deploy.exec's leftover,
not one whose deployer is reading its exit code this moment."""
STALE_AFTER = 24 * 3600.0
"""A one-off running for longer than this is taken as hung and removed by the next exec/deploy."""
_POLL = 0.5


def oneoff_name(app: str, role: str) -> str:
    return f"{service_name(app, role)}_exec_{uuid.uuid4().hex[:8]}"


def role_service(manager: docker.DockerClient, app: str, role: str) -> Service:
    """The role's service; a one-line DeployFailed when it is not on the swarm."""
    from docker.errors import NotFound

    name = service_name(app, role)
    try:
        return Service(manager.services.get(name))
    except NotFound:
        raise DeployFailed(
            f"service {name} is not on the swarm: deploy first (`invoke deploy --target swarm`)"
        ) from None


def oneoff_spec(
    role_spec: ServiceSpec,
    *,
    name: str,
    app: str,
    role: str,
    command: Sequence[str],
    node_id: str,
    started: float,
) -> ServiceSpec:
    """The one-off job of `role_spec` (the role's current spec, as the engine answers it)
    running `command` once on the node `node_id`, labelled an exec of the role's release with
    its start time (pure; the module's docstring says why each change)."""
    marks = {
        labels.APP: app,
        labels.KIND: "exec",
        labels.ROLE: role,
        labels.RELEASE: role_spec.labels.get(labels.RELEASE, ""),
    }
    return one_off_job(
        role_spec,
        name=name,
        labels={NAMESPACE: app, **marks, labels.EXEC_STARTED: str(int(started))},
        container_labels=marks,
        command=command,
        node_id=node_id,
    )


def ran(task: Task) -> bool:
    """Its command started (running now, or ended with an exit status of its own)."""
    return task.state in ("running", "complete") or task.error.startswith(RAN)


def exit_status(task: Task, *, host: str, role: str, command: Sequence[str]) -> int:
    """The ended task's exit code; a one-line DeployFailed when its command never ran (not in
    the image: Swarm's `executable file not found`) or the task was stopped from outside."""
    shown = " ".join(command)
    reason = " ".join(task.error.split())
    if task.state == "complete":
        return 0
    if task.state == "failed" and reason.startswith(RAN):
        return task.exit_code or 1
    if not ran(task) and task.state in ("failed", "rejected"):
        raise DeployFailed(f"{host}: `{shown}` did not start in {role}: {reason or task.state}")
    raise DeployFailed(
        f"{host}: `{shown}` in {role} ended with no exit status: its task was {task.state}"
        + (f" ({reason})" if reason else "")
        + " (the node stopped, or the one-off was removed meanwhile)"
    )


@dataclass
class Waiter:
    """Polls a one-off's task through the manager."""

    manager: docker.DockerClient
    clock: Clock = time.monotonic
    sleep: Sleep = time.sleep

    def task(self, name: str, until: Callable[[Task], bool], seconds: float, what: str) -> Task:
        """The service's task once `until` holds for it; DeployFailed after `seconds` (naming
        `what` it waited for and Swarm's word on the task), or when the service went away."""
        deadline = self.clock() + seconds
        seen: Task | None = None
        while True:
            found = [Task(t) for t in self.manager.api.tasks(filters={"service": name})]
            if not found and seen is not None:
                raise DeployFailed(f"one-off {name} was removed before it ended")
            if found:
                seen = found[0]
                if until(seen):
                    return seen
            if self.clock() > deadline:
                state = (
                    f"task {seen.state}{f': {seen.error}' if seen.error else ''}"
                    if seen
                    else "no task"
                )
                raise DeployFailed(f"one-off {name}: {what} within {seconds:.0f} s ({state})")
            self.sleep(_POLL)


def remove_task_containers(client: docker.DockerClient, service: str) -> list[str]:
    """Force-remove the node's task containers of `service` (a removed one's): Swarm removes a
    finished job task's container with its service on no fixed schedule (Engine 20.10 left them
    for good), and a running one is stopped at once, as the SSH one-off on Ctrl-C. Their
    names."""
    from docker.errors import NotFound

    removed = []
    for found in listed_containers(client.api, label=[f"{SWARM_SERVICE}={service}"]):
        try:
            client.api.remove_container(found.id, force=True)
        except NotFound:  # the node's agent was first
            continue
        removed.append(found.name)
    return removed


def _remove(manager: docker.DockerClient, node: docker.DockerClient, name: str, say: Say) -> None:
    """The one-off gone: its service, then its container on the node. A failure is said, not
    raised (it would hide the command's own outcome); the next exec/deploy removes what is
    left (`remove_leftovers`)."""
    from docker.errors import NotFound

    try:
        with contextlib.suppress(NotFound):
            manager.api.remove_service(name)
        remove_task_containers(node, name)
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        say(f"one-off {name} not removed ({reason}): the next deploy.exec removes it")


def run_oneoff(
    swarm: Swarm,
    address: HostAddress,
    role: Service,
    *,
    app: str,
    command: Sequence[str],
    write: Write,
    say: Say,
    waiter: Waiter | None = None,
    clock: Clock = time.time,
) -> int:
    """The command in a one-off of `role`'s service on the node of `address`; its exit code."""
    manager = swarm.manager
    wait = waiter or Waiter(manager)
    role_name = role.spec.labels.get(labels.ROLE, role.name)
    name = oneoff_name(app, role_name)
    spec = oneoff_spec(
        role.spec,
        name=name,
        app=app,
        role=role_name,
        command=command,
        node_id=swarm.node_ids[address],
        started=clock(),
    )
    create_job(manager.api, spec)
    try:
        task = wait.task(
            name, lambda t: t.state in ENDED or t.state == "running", START_TIMEOUT, "not started"
        )
        if ran(task) and task.container_id:
            node = swarm.clients[address].api
            for chunk in node.logs(
                task.container_id, stdout=True, stderr=True, stream=True, follow=True
            ):
                write(chunk)
            task = wait.task(name, lambda t: t.state in ENDED, END_TIMEOUT, "no exit status")
        return exit_status(task, host=address.name, role=role_name, command=command)
    finally:
        _remove(manager, swarm.clients[address], name, say)


def remove_leftovers(swarm: Swarm, app: str, now: float) -> list[str]:
    """Remove the app's one-offs whose command ended (their deployer went away before it could)
    or that ran for longer than STALE_AFTER, and one-off task containers on the nodes whose
    service is gone; a line for each."""
    from docker.errors import NotFound

    lines = []
    wanted = [f"{labels.APP}={app}", f"{labels.KIND}=exec"]
    kept = set()
    for found in swarm.manager.services.list(filters={"label": wanted}):
        service = Service(found)
        started = float(service.spec.labels.get(labels.EXEC_STARTED) or 0)
        tasks = service.tasks()
        ended_at = [started_seconds(t.updated_at) or 0.0 for t in tasks]
        finished = bool(tasks) and all(t.state in ENDED for t in tasks)
        if finished and now - max(ended_at) > LEFT_AFTER:
            why = "its command had ended"
        elif now - started > STALE_AFTER:
            why = f"running for more than {STALE_AFTER / 3600:.0f} h"
        else:
            kept.add(service.name)
            continue
        try:
            swarm.manager.api.remove_service(service.id)
        except NotFound:
            continue
        lines.append(f"{service.name}: removed a one-off an earlier deploy.exec left ({why})")
    for address, client in swarm.clients.items():
        # Only Swarm's task containers (the SSH target's one-offs carry the same labels).
        found = listed_containers(client.api, label=[*wanted, SWARM_SERVICE])
        gone = {c.labels.get(SWARM_SERVICE, "") for c in found} - kept
        for owner in sorted(gone):
            if _exists(swarm.manager, owner):  # created since the list above: another exec's
                continue
            for name in remove_task_containers(client, owner):
                lines.append(f"{address.name}: removed the container {name} of a one-off")
    return lines


def _exists(manager: docker.DockerClient, service: str) -> bool:
    from docker.errors import NotFound

    try:
        manager.api.inspect_service(service)
    except NotFound:
        return False
    return True


@dataclass(frozen=True)
class Running:
    """A running task's container on its node (`--reuse`)."""

    address: HostAddress
    container: Container


def running_in(
    swarm: Swarm, service: Service, addresses: Sequence[HostAddress], *, anywhere: bool
) -> list[Running]:
    """A running task's container of `service` on each of `addresses` (`anywhere`: one task,
    on the first of them when one runs there, else on any node); a one-line DeployFailed
    naming the node that runs none."""
    tasks = [t for t in service.tasks(running_only=True) if t.state == "running"]
    on_node: dict[HostAddress, Task] = {}
    for task in sorted(tasks, key=lambda t: t.slot):
        address = swarm.address_of(task.node_id)
        if address is not None and task.container_id:
            on_node.setdefault(address, task)
    if anywhere:
        first = addresses[0] if addresses[0] in on_node else next(iter(on_node), None)
        if first is None:
            raise DeployFailed(
                f"no running task of {service.name} on the swarm: `invoke ps --target swarm`"
            )
        chosen = [first]
    else:
        missing = [a for a in addresses if a not in on_node]
        if missing:
            where = ", ".join(a.name for a in on_node) or "none"
            raise DeployFailed(
                f"{missing[0].name}: no running task of {service.name} there (--reuse execs in"
                f" one; nodes running one: {where}): drop --reuse, or name one of those"
            )
        chosen = list(addresses)
    return [
        Running(a, inspect_container(swarm.clients[a].api, on_node[a].container_id)) for a in chosen
    ]


def run_reused(
    client: docker.DockerClient, container: Container, command: Sequence[str], write: Write
) -> int:
    """The command in a running task's container (`docker exec`, as the SSH target's
    `--reuse`: the engine's exec streamed by `stack/execute.py`); its exit code."""
    from stackctl.engine.execs import start_exec
    from stackctl.stack.execute import exit_code, stream_output

    exec_id = start_exec(client.api, container.id, command, stdout=True, stderr=True)
    stream_output(client.api, exec_id, write)
    return exit_code(client.api, exec_id)


def chosen_addresses(settings: DeploySettings, request: ExecRequest) -> list[HostAddress]:
    """The addresses of request.hosts, in its order."""
    by_entry = dict(zip(settings.hosts, settings.addresses, strict=True))
    return [by_entry[entry] for entry in request.hosts]
