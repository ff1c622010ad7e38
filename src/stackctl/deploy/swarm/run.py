"""`invoke deploy|rollback|ps --target swarm`: the app's services on the swarm of the ECS hosts.

A deploy checks the nodes, ships the images to each, creates the secrets' new versions, then
creates or updates each service whose spec changed (accessories, roles, proxy, in that order)
and waits for Swarm to converge, then for every node's proxy to reach the new tasks (reach.py).
Swarm runs the rolling update itself; when a new task never gets healthy it rolls the service
back, and the deploy reports that with the task's last log lines. Nothing here shells out: the
Docker SDK on a manager, over SSH.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stackctl.deploy import labels
from stackctl.deploy.appdef import AppDefinition
from stackctl.deploy.errors import DeployFailed, ReleaseUnhealthy
from stackctl.deploy.fanout import Printer
from stackctl.deploy.release import ReleaseImages, check_secrets, unused_secrets
from stackctl.deploy.secrets import Secret, service_secrets
from stackctl.deploy.settings import DeploySettings
from stackctl.deploy.swarm import nodes as swarm_nodes
from stackctl.deploy.swarm import secrets as swarm_secrets
from stackctl.deploy.swarm import specs as swarm_specs
from stackctl.deploy.swarm import tls as swarm_tls
from stackctl.deploy.swarm.images import ship_to_nodes
from stackctl.deploy.swarm.oneoff import remove_leftovers, role_service
from stackctl.deploy.swarm.reach import proxies_reach
from stackctl.deploy.swarm.settings import SwarmSettings
from stackctl.engine.logs import last_lines
from stackctl.engine.models import (
    Node,
    Service,
    ServiceSpec,
    Task,
    UpdateStatus,
    inspect_container,
    secret_file_names,
)
from stackctl.engine.readiness import readiness
from stackctl.engine.services import request_rollback

if TYPE_CHECKING:
    import docker
    from rich.console import Console

Say = Callable[[str], None]
_POLL = 0.5


def _sayer(console: Console) -> Say:
    return Printer(console)


@dataclass(frozen=True)
class Planned:
    service: str
    """compose service"""
    name: str
    """Swarm service"""
    spec: dict[str, Any]
    current: Service | None
    """None when the service does not exist yet"""

    @property
    def wanted(self) -> ServiceSpec:
        return ServiceSpec(self.spec)

    @property
    def changed(self) -> bool:
        if self.current is None:
            return True
        have = self.current.spec.labels.get(swarm_specs.SPEC_HASH)
        return have != self.wanted.labels[swarm_specs.SPEC_HASH]


def init(
    settings: DeploySettings, swarm_settings: SwarmSettings, app: AppDefinition, console: Console
) -> None:
    """`invoke swarm.init`: the hosts as one swarm, labelled."""
    say = _sayer(console)
    with swarm_nodes.connected(settings) as clients:
        swarm = swarm_nodes.init_swarm(settings, swarm_settings, app, clients, say)
        table = swarm_nodes.node_table(swarm)
        for address, node_id in swarm.node_ids.items():
            node = table[node_id]
            say(f"{address.name}: node {node.hostname} {node.role} {node.state}")


def _check_nodes(swarm: swarm_nodes.Swarm) -> None:
    """Every node that may run a task is one of DEPLOY_HOSTS (the images reach those only)."""
    ours = set(swarm.node_ids.values())
    for node_id, node in swarm_nodes.node_table(swarm).items():
        if node_id in ours or node.state != "ready" or node.availability != "active":
            continue
        raise DeployFailed(
            f"swarm node {node.hostname} ({node_id[:12]}) is not in DEPLOY_HOSTS, so the"
            " images cannot be loaded on it: add its host to DEPLOY_HOSTS or drain it"
            f" (`docker node update --availability drain {node_id[:12]}`)"
        )


def plan(
    local: docker.DockerClient,
    settings: DeploySettings,
    swarm_settings: SwarmSettings,
    app: AppDefinition,
    images: ReleaseImages,
    environment: Mapping[str, str],
    swarm: swarm_nodes.Swarm,
    *,
    create_secrets: bool,
) -> list[Planned]:
    """Each service's wanted spec beside the running one (secrets created when asked)."""
    plain, secret_values = app.plain_and_secret(environment)
    refs = {**images.roles, **images.accessories}
    if app.proxy and images.proxy:
        refs[app.proxy] = images.proxy
    user_ids: dict[str, tuple[str, str]] = {}
    wanted: dict[str, list[Secret]] = {}
    for service in app.services:
        values = secret_values if any(r.service == service for r in app.roles) else {}
        wanted[service] = service_secrets(app.project, app.spec(service), values)
    every = [s for found in wanted.values() for s in found]
    ids: dict[str, str] = {}
    if create_secrets:
        ids = swarm_secrets.ensure_secrets(swarm.manager, settings.app, every)
    references: dict[str, list[dict[str, Any]]] = {}
    for service, found in wanted.items():
        if not found:
            continue
        if refs[service] not in user_ids:
            user_ids[refs[service]] = swarm_secrets.image_user_ids(local, refs[service])
        references[service] = swarm_secrets.secret_references(
            settings.app, found, ids, user_ids[refs[service]]
        )
    existing = {s.name: s for s in _services(swarm.manager, settings.app)}
    tls = _tls(settings, app, existing, references)
    inputs = swarm_specs.Inputs(
        app=settings.app,
        version=images.version,
        http_port=settings.http_port,
        images=refs,
        environment=plain,
        secrets=references,
        nodes=len(swarm.node_ids),
        leave_out=unused_secrets(app, environment),
        https_port=settings.https_port if settings.https.serves_tls else None,
        tls=tls,
        network=next(
            (
                n.id
                for n in swarm.manager.networks.list(names=[swarm_specs.network_name(settings.app)])
            ),
            "",
        ),
    )
    planned = []
    for service, spec in swarm_specs.service_specs(app, inputs, swarm_settings).items():
        name = ServiceSpec(spec).name
        planned.append(Planned(service, name, spec, existing.get(name)))
    return planned


def _tls(
    settings: DeploySettings,
    app: AppDefinition,
    existing: Mapping[str, Service],
    references: dict[str, list[dict[str, Any]]],
) -> swarm_tls.SwarmTls | None:
    """The TLS-terminating mode's facts (`swarm/tls.py`): files takes the given chain and key
    off the proxy's references (certsync holds them), acme carries over what certsync has."""
    mode = settings.https.mode
    if mode not in ("files", "acme") or app.proxy is None:
        return None
    names = settings.https.hosts or app.https_hosts
    if mode == "files":
        given = [
            ref
            for ref in references.get(app.proxy, [])
            if secret_file_names([ref]) <= set(swarm_tls.GIVEN_SECRETS)
        ]
        references[app.proxy] = [r for r in references.get(app.proxy, []) if r not in given]
        return swarm_tls.SwarmTls(mode, names, tuple(given))
    current = existing.get(swarm_tls.certsync_service(settings.app))
    return swarm_tls.SwarmTls(mode, names, current.spec.secrets if current is not None else ())


def dry_run(
    local: docker.DockerClient,
    settings: DeploySettings,
    swarm_settings: SwarmSettings,
    app: AppDefinition,
    images: ReleaseImages,
    environment: Mapping[str, str],
) -> list[str]:
    """What a deploy of `images` would change, service by service; nothing is changed."""
    check_secrets(settings, app, environment)
    with swarm_nodes.connected(settings) as clients:
        swarm = swarm_nodes.find_swarm(settings, clients)
        lines = []
        planned = plan(
            local, settings, swarm_settings, app, images, environment, swarm, create_secrets=False
        )
        for item in planned:
            if not item.changed:
                lines.append(f"{item.name}: unchanged")
                continue
            current = item.current.spec_body if item.current is not None else None
            lines.append(f"{item.name}: {'create' if current is None else 'update'}")
            lines += [f"  {line}" for line in swarm_specs.changes(current, item.spec)]
        lines += [
            f"{orphan.name}: remove (no longer in the app definition)"
            for orphan in _orphans(swarm.manager, settings.app, planned)
        ]
        return lines


def deploy(
    local: docker.DockerClient,
    settings: DeploySettings,
    swarm_settings: SwarmSettings,
    app: AppDefinition,
    images: ReleaseImages,
    environment: Mapping[str, str],
    console: Console,
) -> None:
    """Ship `images` to every node and converge every service on them."""
    check_secrets(settings, app, environment)
    say = _sayer(console)
    with swarm_nodes.connected(settings) as clients:
        swarm = swarm_nodes.find_swarm(settings, clients)
        _check_nodes(swarm)
        # deploy.exec one-offs whose deployer went away before removing them (`swarm/oneoff.py`).
        for line in remove_leftovers(swarm, settings.app, time.time()):
            say(line)
        if settings.https.mode == "acme":
            swarm_tls.check_on_a_manager(settings, app, swarm)
        for line in swarm_nodes.set_labels(settings, swarm_settings, app, swarm):
            say(line)
        ship_to_nodes(local, settings, swarm, images.references, say)
        _ensure_network(swarm.manager, settings.app)
        planned = plan(
            local, settings, swarm_settings, app, images, environment, swarm, create_secrets=True
        )
        kinds = [
            [p for p in planned if p.wanted.labels[labels.KIND] == kind]
            for kind in ("accessory", "role", "proxy")
        ]
        for group in kinds:
            moving = [p for p in group if p.changed]
            for item in group:
                if not item.changed:
                    say(f"{item.name}: unchanged")
            for item in moving:
                _apply(swarm.manager, item)
                say(f"{item.name}: {'created' if item.current is None else 'updating'}")
            failures: list[tuple[Planned, ReleaseUnhealthy]] = []
            for item in moving:
                try:
                    _wait(swarm, item, settings, swarm_settings, say)
                except ReleaseUnhealthy as failed:
                    failures.append((item, failed))
            if failures:
                raise _roll_back_the_rest(swarm, settings, moving, failures, say)
        proxies_reach(swarm, settings, app, say)
        for orphan in _orphans(swarm.manager, settings.app, planned):
            orphan.model.remove()
            say(f"{orphan.name}: removed (no longer in the app definition)")
        removed = swarm_secrets.prune_secrets(swarm.manager, settings.app)
        if removed:
            say(f"removed {len(removed)} unused secret version(s)")


def _orphans(manager: docker.DockerClient, app: str, planned: list[Planned]) -> list[Service]:
    """The app's services a deploy made that its definition no longer has (as `docker stack
    deploy --prune`): a role or accessory taken out of compose.yaml, certbot and certsync once
    the HTTPS mode is no longer acme. Their named volumes are kept."""
    wanted = {item.name for item in planned}
    return [
        service
        for service in _services(manager, app)
        if service.name not in wanted
        and service.spec.labels.get(labels.KIND) in ("accessory", "role", "proxy")
    ]


def _roll_back_the_rest(
    swarm: swarm_nodes.Swarm,
    settings: DeploySettings,
    moving: list[Planned],
    failures: list[tuple[Planned, ReleaseUnhealthy]],
    say: Say,
) -> ReleaseUnhealthy:
    """Roles move together: those whose update went through go back too (as the SSH deploy's
    roles do). The first failure, saying what else was rolled back."""
    failed_names = {item.name for item, _ in failures}
    back = []
    for item in moving:
        if item.name in failed_names or item.current is None:
            continue
        service = Service(swarm.manager.services.get(item.name))
        request_rollback(swarm.manager.api, service)
        say(f"{item.name}: rolling back with {', '.join(sorted(failed_names))}")
        back.append(service)
    for service in back:
        _wait_rolled_back(service, settings.health_timeout * 4 + 60)
    first = failures[0][1]
    message = str(first)
    if back:
        message += f"; also rolled back: {', '.join(s.name for s in back)}"
    if len(failures) > 1:
        message += f"; also failed: {', '.join(i.name for i, _ in failures[1:])}"
    return ReleaseUnhealthy(message, log_tail=first.log_tail)


def _ensure_network(manager: docker.DockerClient, app: str) -> None:
    name = swarm_specs.network_name(app)
    if manager.networks.list(names=[name]):
        return
    manager.networks.create(
        name,
        driver="overlay",
        attachable=True,
        scope="swarm",
        labels={labels.APP: app, swarm_specs.NAMESPACE: app},
    )


def _apply(manager: docker.DockerClient, item: Planned) -> None:
    arguments = item.wanted.create_arguments()
    if item.current is None:
        manager.api.create_service(**arguments)
    else:
        item.current.reload()
        manager.api.update_service(item.current.id, item.current.version, **arguments)


def _expected(swarm: swarm_nodes.Swarm, spec: ServiceSpec) -> int:
    if spec.replicas is not None:
        return spec.replicas
    table = swarm_nodes.node_table(swarm)
    return sum(1 for n in table.values() if n.state == "ready" and n.availability == "active")


def _wait(
    swarm: swarm_nodes.Swarm,
    item: Planned,
    settings: DeploySettings,
    swarm_settings: SwarmSettings,
    say: Say,
) -> None:
    """Until every task runs the new spec (healthy), or Swarm rolled the update back."""
    service = Service(swarm.manager.services.get(item.name))
    expected = _expected(swarm, item.wanted)
    per_task = settings.health_timeout + swarm_settings.monitor + 5
    deadline = time.monotonic() + per_task * max(1, expected) + 30
    while True:
        service.reload()
        state = service.update.state
        if state in ("rollback_started", "rollback_completed", "rollback_paused", "paused"):
            if state == "rollback_started":
                _wait_rollback(service, deadline)
            raise _failure(swarm, service, item, service.update)
        tasks = service.tasks(running_only=True)
        ready = [t for t in tasks if readiness(t).ready and t.runs(item.wanted)]
        if len(ready) >= expected and state in (None, "completed"):
            say(f"{item.name}: {len(ready)}/{expected} task(s) running")
            return
        if time.monotonic() > deadline:
            raise _failure(
                swarm,
                service,
                item,
                UpdateStatus(None, f"{len(ready)}/{expected} task(s) of the new spec running"),
                timed_out=True,
            )
        time.sleep(_POLL)


def _wait_rollback(service: Service, deadline: float) -> None:
    while time.monotonic() < deadline + 60:
        service.reload()
        if service.update.state != "rollback_started":
            return
        time.sleep(_POLL)


def _failure(
    swarm: swarm_nodes.Swarm,
    service: Service,
    item: Planned,
    status: UpdateStatus,
    *,
    timed_out: bool = False,
) -> ReleaseUnhealthy:
    """The failed deploy as one line: what Swarm did, the failing task's error, its logs."""
    every = service.tasks()
    mine = [t for t in every if t.runs(item.wanted)] or every
    mine = [t for t in mine if t.container_id] or mine
    mine.sort(key=lambda t: (bool(t.error), t.updated_at), reverse=True)
    task = mine[0] if mine else None
    reason = _task_reason(swarm, task) if task is not None else ""
    state = status.state or "timeout"
    if timed_out:
        what = (
            f"not healthy in time ({status.message}); Swarm is still updating it:"
            f" `invoke rollback --target swarm` returns it to the previous spec"
        )
    elif state.startswith("rollback"):
        what = f"the update failed and Swarm rolled it back ({state}); the previous spec serves"
    else:
        what = (
            f"the update is {state}: fix it and deploy again, or `invoke rollback --target swarm`"
        )
    message = f"service {item.name}: {what}"
    if reason:
        message += f" ({reason})"
    if status.message and not timed_out:
        message += f"; swarm: {status.message}"
    return ReleaseUnhealthy(message, log_tail=_task_logs(swarm, task) if task is not None else [])


def _task_reason(swarm: swarm_nodes.Swarm, task: Task) -> str:
    """Swarm's error for the task, else its container's last health check output."""
    address = swarm.address_of(task.node_id)
    where = f" on {address.name}" if address else ""
    if task.error:
        return f"task{where}: {task.error}"
    container = task.container_id
    if address is None or not container:
        return f"task{where}: {task.state}"
    try:
        found = inspect_container(swarm.clients[address].api, container)
    except Exception:
        return f"task{where}: {task.state}"
    last = found.last_check
    if last is not None:
        exit_code, output = last
        shown = " ".join(output.split())[:200]
        return (
            f"task{where}: health check {found.health or '?'},"
            f" exit {exit_code}: {shown or '(no output)'}"
        )
    return f"task{where}: {task.state}, exit {found.exit_code}"


def _task_logs(swarm: swarm_nodes.Swarm, task: Task) -> list[str]:
    """The task container's last log lines, read on the node it ran on."""
    address = swarm.address_of(task.node_id)
    container = task.container_id
    if address is None or not container:
        return []
    try:
        lines = last_lines(swarm.clients[address].api, container)
    except Exception:
        return []
    return [f"{address.name}: {line}" for line in lines]


def rollback(
    settings: DeploySettings,
    swarm_settings: SwarmSettings,
    app: AppDefinition,
    console: Console,
) -> list[str]:
    """Every role back to its previous spec (Swarm's own rollback), waited for like a deploy;
    the releases they went back to."""
    say = _sayer(console)
    with swarm_nodes.connected(settings) as clients:
        swarm = swarm_nodes.find_swarm(settings, clients)
        moved = []
        for role in app.roles:
            service = role_service(swarm.manager, settings.app, role.service)
            if not service.has_previous_spec:
                raise DeployFailed(f"service {service.name} has no previous spec to roll back to")
            request_rollback(swarm.manager.api, service)
            say(f"{service.name}: rolling back")
            moved.append(service)
        back_to = []
        for service in moved:
            _wait_rolled_back(service, settings.health_timeout * 4 + 60)
            release = service.spec.labels.get(labels.RELEASE, "?")
            say(f"{service.name}: rolled back to {release}")
            back_to.append(release)
        proxies_reach(swarm, settings, app, say)
        return list(dict.fromkeys(back_to))


def _wait_rolled_back(service: Service, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        service.reload()
        status = service.update
        if status.state == "rollback_completed":
            return
        if status.state in ("rollback_paused", "paused"):
            raise DeployFailed(
                f"service {service.name}: the rollback paused ({status.message}):"
                " see `invoke ps --target swarm`"
            )
        time.sleep(_POLL)
    raise DeployFailed(
        f"service {service.name}: the rollback did not complete in {timeout:.0f} s:"
        " see `invoke ps --target swarm`"
    )


def _services(manager: docker.DockerClient, app: str) -> list[Service]:
    return [Service(s) for s in manager.services.list(filters={"label": f"{labels.APP}={app}"})]


def ps(settings: DeploySettings, app: AppDefinition) -> list[str]:
    """One line per task that should run: service, slot, node, state, health, release."""
    with swarm_nodes.connected(settings) as clients:
        swarm = swarm_nodes.find_swarm(settings, clients)
        table = swarm_nodes.node_table(swarm)
        lines = []
        for service in sorted(_services(swarm.manager, settings.app), key=lambda s: s.name):
            release = service.spec.labels.get(labels.RELEASE, "")
            update = service.update.state
            head = f"{service.name}" + (f" ({release})" if release else "")
            lines.append(head + (f" update {update}" if update else ""))
            tasks = service.tasks(running_only=True)
            for task in sorted(tasks, key=lambda t: (t.slot, t.node_id)):
                node: Node | None = table.get(task.node_id)
                address = swarm.address_of(task.node_id)
                where = address.name if address else node.hostname if node else "?"
                health = _health(swarm, task)
                slot = f".{task.slot}" if task.slot else ""
                lines.append(
                    f"  {service.name}{slot} on {where} ({node.state if node else '?'}):"
                    f" {task.state}{f', {health}' if health else ''}"
                )
        return lines


def _health(swarm: swarm_nodes.Swarm, task: Task) -> str:
    """Docker's health word for the task's container, read on its node ("" when unknown)."""
    address = swarm.address_of(task.node_id)
    if address is None or not task.container_id:
        return ""
    try:
        return inspect_container(swarm.clients[address].api, task.container_id).health
    except Exception:
        return ""
