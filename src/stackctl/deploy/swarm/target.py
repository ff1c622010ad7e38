"""The hosts' swarm as a deploy target (`deploy.targets.Target`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from stackctl.deploy import labels
from stackctl.deploy.audit import Recording
from stackctl.deploy.details import DetailRow
from stackctl.deploy.logview import LogLine, LogRequest
from stackctl.deploy.oneoff import ExecRequest
from stackctl.deploy.swarm.settings import SwarmSettings, load_swarm_settings
from stackctl.deploy.target import DeployRun
from stackctl.errors import UsageError

if TYPE_CHECKING:
    from stackctl.doctor.doctor import Check


ServiceChanges = Callable[[DeployRun, SwarmSettings], list[str]]
"""The dry run's lines per service: what a deploy would create, update or leave unchanged."""


def compared_with_the_swarm(run: DeployRun, options: SwarmSettings) -> list[str]:
    """The release built and its specs diffed against the swarm's (`swarm.run.dry_run`)."""
    from stackctl.deploy.swarm.run import dry_run

    return dry_run(run.local, run.settings, options, run.app, run.images, run.environment)


class SwarmTarget:
    name = "swarm"

    def __init__(self, service_changes: ServiceChanges = compared_with_the_swarm) -> None:
        self._service_changes = service_changes

    def execute(self, run: DeployRun, request: ExecRequest, write: Callable[[bytes], None]) -> int:
        """A one-off of the role's service on each chosen node in turn (`swarm/oneoff.py`), or
        the command in a running task's container (`--reuse`: on a node that runs one unless
        --host/--all-hosts named the nodes); one audit entry for the whole command, naming the
        nodes, on every node (as the Swarm target's other actions)."""
        if request.interactive:
            # A job service's task has no terminal to attach to through the manager.
            raise UsageError(
                "deploy.exec --interactive is built for an SSH deploy's hosts: on a Swarm, run"
                " the command without it, or `docker exec -it` in a task of"
                f" {run.settings.app}_{request.role} on its node"
                " (`invoke ps --target swarm` names them)"
            )
        import time

        from stackctl.deploy.audit import exited
        from stackctl.deploy.swarm import nodes, oneoff

        settings = run.settings
        with nodes.connected(settings) as clients:
            swarm = nodes.find_swarm(settings, clients)
            for line in oneoff.remove_leftovers(swarm, settings.app, time.time()):
                run.say(line)
            service = oneoff.role_service(swarm.manager, settings.app, request.role)
            version = service.spec.labels.get(labels.RELEASE, "")
            addresses = oneoff.chosen_addresses(settings, request)
            running = (
                oneoff.running_in(swarm, service, addresses, anywhere=not request.named_hosts)
                if request.reuse
                else []
            )
            where = [r.address for r in running] if request.reuse else addresses
            shown = ", ".join(a.name for a in where)
            first_failure = 0
            with self._recorded(run, request.audited, version, f"on {shown}") as note:
                for index, address in enumerate(where):
                    if len(where) > 1:
                        run.say(f"{address.name}:")
                    if request.reuse:
                        code = oneoff.run_reused(
                            clients[address], running[index].container, request.command, write
                        )
                    else:
                        code = oneoff.run_oneoff(
                            swarm,
                            address,
                            service,
                            app=settings.app,
                            command=request.command,
                            write=write,
                            say=run.say,
                        )
                    if len(where) > 1 and code:
                        run.say(f"{address.name}: exited with code {code}")
                    first_failure = first_failure or code
                note.result = exited(first_failure)
            return first_failure

    def details(self, run: DeployRun, hosts: tuple[str, ...]) -> list[DetailRow]:
        """Per node (`hosts`: only those), each task of the app's services and each one-off
        running (`swarm/details.py`); a node running none says so."""
        import time

        from stackctl.deploy.details import nothing_deployed, ordered
        from stackctl.deploy.swarm import nodes
        from stackctl.deploy.swarm.details import swarm_rows

        settings = run.settings
        chosen = [
            a for e, a in zip(settings.hosts, settings.addresses, strict=True) if e in hosts
        ] or list(settings.addresses)
        with nodes.connected(settings) as clients:
            swarm = nodes.find_swarm(settings, clients)
            shown = {swarm.node_ids[a]: a.name for a in chosen}
            rows = swarm_rows(swarm, settings.app, shown, time.time())
        busy = {r.host for r in rows}
        rows += [nothing_deployed(a.name) for a in chosen if a.name not in busy]
        return ordered(rows, [a.name for a in chosen])

    def options(self, run: DeployRun) -> SwarmSettings:
        return load_swarm_settings(run.settings.hosts, dotenv=run.dotenv)

    def plan(self, run: DeployRun) -> list[str]:
        """Each service's change, the HTTPS mode and the certificate every node serves, then
        what the release's secrets are (as the SSH dry run says them); a deploy that would
        refuse for its secrets builds nothing and reads no node."""
        import datetime as dt

        from stackctl.deploy.errors import DeployFailed
        from stackctl.deploy.https import check_swarm_https, describe
        from stackctl.deploy.release import check_secrets
        from stackctl.deploy.secretsplan import secrets_plan

        options = self.options(run)
        now = dt.datetime.now(dt.timezone.utc)
        https = describe(run.settings, run.app, now, check=check_swarm_https)
        secrets = [
            *https,
            *secrets_plan(run.settings, run.app, run.environment, doctor_reaches=False),
        ]
        try:
            check_secrets(run.settings, run.app, run.environment)
        except DeployFailed:
            # A deploy would stop here; specs lacking a missing secret would show a change (its
            # removal) that no deploy makes.
            return [
                *secrets,
                "services not compared with the swarm (nothing built, no node contacted):"
                " a deploy refuses until the secrets above are right",
            ]
        return [*self._service_changes(run, options), *secrets]

    def deploy(self, run: DeployRun, *, message: str = "") -> str:
        import datetime as dt

        from stackctl.deploy.https import check_swarm_https
        from stackctl.deploy.release import check_secrets
        from stackctl.deploy.swarm.run import deploy

        check_secrets(run.settings, run.app, run.environment)
        # Refused before anything is built or moves.
        check_swarm_https(run.settings, run.app, dt.datetime.now(dt.timezone.utc))
        images = run.images
        options = self.options(run)
        with self._recorded(run, "deploy", images.version, message):
            deploy(run.local, run.settings, options, run.app, images, run.environment, run.console)
        return f"[bold green]deployed[/] {images.version} to the swarm"

    def rollback(self, run: DeployRun, *, version: str | None = None) -> None:
        from stackctl.deploy.swarm.run import rollback

        if version is not None:
            raise UsageError(
                "rollback --target swarm goes back to each service's previous spec"
                " (Swarm keeps one): drop --version, or deploy that version"
            )
        options = self.options(run)
        with self._recorded(run, "rollback", "") as note:
            note.version = ", ".join(rollback(run.settings, options, run.app, run.console))

    def doctor(self, run: DeployRun) -> list[Check]:
        # The SSH check runs a one-off container beside the release's, with its secret volume;
        # a task's Swarm secrets reach no other container, and running the check inside a task
        # (exec) is not built yet: refused rather than a "deploy first" that misleads.
        raise UsageError(
            "doctor --host checks an SSH deploy's release; a Swarm's tasks are not checked yet:"
            f" on a node, `docker exec` `{' '.join(run.app.check) or 'x-deploy.check'}` in a"
            f" task container of {run.app.checked_role}"
            " (DEPLOY_TARGET=hosts checks the SSH deploy's hosts)"
        )

    def audit(self, run: DeployRun, hosts: tuple[str, ...], tail: int | None) -> list[str]:
        from stackctl.deploy import audit
        from stackctl.deploy.swarm import nodes

        settings = run.settings
        with nodes.connected(settings) as clients:
            if hosts:
                chosen = [
                    a for e, a in zip(settings.hosts, settings.addresses, strict=True) if e in hosts
                ]
                lines = []
                for address in chosen:
                    found = audit.read(clients[address], settings.app)
                    lines += audit.shown(address.name, found, tail)
                return lines
            swarm = nodes.find_swarm(settings, clients)
            manager = next(a for a, c in swarm.clients.items() if c is swarm.manager)
            found = audit.read(swarm.manager, settings.app)
            return audit.shown(f"swarm (the copy on manager {manager.name})", found, tail)

    def metrics(self, run: DeployRun, hosts: tuple[str, ...], seconds: float) -> str:
        from stackctl.deploy.errors import DeployFailed
        from stackctl.deploy.metrics import scraped_services, screen
        from stackctl.deploy.swarm import nodes
        from stackctl.deploy.swarm.specs import service_name
        from stackctl.stack.metricsscrape import Target

        settings = run.settings
        services = [r.service for r in run.app.roles] + ([run.app.proxy] if run.app.proxy else [])
        with nodes.connected(settings) as clients:
            swarm = nodes.find_swarm(settings, clients)
            targets = {}
            for service in scraped_services(services):
                name = service_name(settings.app, service)
                for address, task in nodes.running_tasks(swarm, name):
                    entry = settings.hosts[settings.addresses.index(address)]
                    if hosts and entry not in hosts:
                        continue
                    source = f"{address.name} {name}.{task.slot or task.id[:12]}"
                    targets[source] = Target(clients[address].api, task.container_id, service)
            if not targets:
                raise DeployFailed(
                    "no running web, worker or proxy task on the swarm: deploy first"
                )
            return screen(targets, seconds)

    def _recorded(
        self, run: DeployRun, command: str, version: str, message: str = ""
    ) -> AbstractContextManager[Recording]:
        """The action in every node's audit log: a swarm action is the whole cluster's, and a
        copy on each node outlives the manager it went through (a promoted node has the
        history); `deploy.audit` shows the manager's copy."""
        from stackctl.deploy import audit
        from stackctl.deploy.fanout import Printer
        from stackctl.deploy.lock import default_holder

        return audit.recorded_on_hosts(
            run.settings,
            Printer(run.console),
            who=default_holder(),
            command=command,
            version=version,
            message=message,
        )

    def certificates(self, run: DeployRun, *, renew: bool = False) -> None:
        import datetime as dt

        from stackctl.deploy.fanout import Printer
        from stackctl.deploy.swarm import certs, nodes

        settings, proxy = run.settings, run.app.proxy or "nginx"
        say = Printer(run.console)
        with nodes.connected(settings) as clients:
            swarm = nodes.find_swarm(settings, clients)
            if renew:
                with self._recorded(run, "certs --renew", ""):
                    # certsync's new task on each node, then nginx's look (TLS_RECHECK_SECONDS).
                    certs.renew(swarm, settings.app, proxy, say, wait=settings.health_timeout + 60)
            for line in certs.served(swarm, settings.app, proxy, dt.datetime.now(dt.timezone.utc)):
                say(line)

    def ps(self, run: DeployRun) -> list[str]:
        from stackctl.deploy.swarm.run import ps

        return ps(run.settings, run.app)

    def logs(self, run: DeployRun, request: LogRequest) -> Iterator[LogLine]:
        from docker.errors import NotFound

        from stackctl.deploy import logstream
        from stackctl.deploy.errors import DeployFailed
        from stackctl.deploy.swarm import nodes
        from stackctl.deploy.swarm.logs import service_source
        from stackctl.deploy.swarm.specs import service_name

        settings = run.settings
        # Every host is connected (the manager may not be among the --host ones); --host keeps
        # the lines of those nodes only.
        with nodes.connected(settings) as clients:
            swarm = nodes.find_swarm(settings, clients)
            name = service_name(settings.app, request.subject.service)
            try:
                swarm.manager.api.inspect_service(name)
            except NotFound:
                raise DeployFailed(
                    f"service {name} is not on the swarm: deploy first"
                    " (`invoke deploy --target swarm`)"
                ) from None
            hosts = {node: address.name for address, node in swarm.node_ids.items()}
            keep = None
            if request.hosts:
                keep = frozenset(
                    swarm.node_ids[address]
                    for entry, address in zip(settings.hosts, settings.addresses, strict=True)
                    if entry in request.hosts
                )
            manager = next(a.name for a, c in swarm.clients.items() if c is swarm.manager)
            source = service_source(swarm.manager, manager, name, request, hosts=hosts, keep=keep)
            yield from logstream.read([source], follow=request.follow, grep=request.grep)
