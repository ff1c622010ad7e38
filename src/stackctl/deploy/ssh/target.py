"""The SSH hosts as a deploy target (`deploy.targets.Target`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from stackctl.deploy.details import DetailRow
from stackctl.deploy.logview import LogLine, LogRequest
from stackctl.deploy.oneoff import ExecRequest
from stackctl.deploy.target import DeployRun

if TYPE_CHECKING:
    from stackctl.doctor.doctor import Check


class SshTarget:
    name = "hosts"

    def plan(self, run: DeployRun) -> list[str]:
        import datetime as dt

        from stackctl.deploy.https import describe
        from stackctl.deploy.plan import describe_plan
        from stackctl.deploy.release import source_version
        from stackctl.deploy.secretsplan import secrets_plan

        version = source_version(run.settings.project_dir).release()
        return [
            *describe_plan(run.settings, run.app, version),
            *describe(run.settings, run.app, dt.datetime.now(dt.timezone.utc)),
            *secrets_plan(run.settings, run.app, run.environment, doctor_reaches=True),
        ]

    def deploy(self, run: DeployRun, *, message: str = "") -> str:
        import datetime as dt

        from stackctl.deploy.https import check_https
        from stackctl.deploy.release import check_secrets
        from stackctl.deploy.ssh.run import deploy

        check_secrets(run.settings, run.app, run.environment)
        # Refused before anything is built or moves.
        check_https(run.settings, run.app, dt.datetime.now(dt.timezone.utc))
        images = run.images
        deploy(
            run.local, run.settings, run.app, images, run.environment, run.console, message=message
        )
        return f"[bold green]deployed[/] {images.version} to {len(run.settings.hosts)} host(s)"

    def rollback(self, run: DeployRun, *, version: str | None = None) -> None:
        from stackctl.deploy.ssh.run import rollback

        rollback(run.settings, run.app, run.console, version=version)

    def certificates(self, run: DeployRun, *, renew: bool = False) -> None:
        from stackctl.deploy.ssh.run import certificates

        certificates(run.settings, run.console, renew=renew)

    def ps(self, run: DeployRun) -> list[str]:
        from stackctl.deploy.ssh.run import versions

        lines = []
        for name, kept in versions(run.settings).items():
            lines.append(f"{name}:")
            lines += [f"  {line}" for line in kept or ["  (no release)"]]
        return lines

    def logs(self, run: DeployRun, request: LogRequest) -> Iterator[LogLine]:
        from stackctl.deploy import fanout, logstream
        from stackctl.deploy.errors import DeployFailed
        from stackctl.deploy.logview import only_hosts
        from stackctl.deploy.ssh.logs import sources

        settings = only_hosts(run.settings, request.hosts)
        with fanout.connected(settings) as clients:
            found = sources(clients, settings.app, request)
            if not found:
                where = ", ".join(a.name for a in settings.addresses)
                raise DeployFailed(
                    f"no {request.subject.service} container on {where}: deploy it first"
                    " (`invoke deploy`)"
                )
            yield from logstream.read(found, follow=request.follow, grep=request.grep)

    def doctor(self, run: DeployRun) -> list[Check]:
        from stackctl.deploy.hosts import connect_host
        from stackctl.deploy.ssh.hostcheck import check_hosts

        return [*https_checks(run), *check_hosts(run.settings, run.app, connect_host)]

    def audit(self, run: DeployRun, hosts: tuple[str, ...], tail: int | None) -> list[str]:
        from stackctl.deploy import audit, fanout
        from stackctl.deploy.logview import only_hosts

        settings = only_hosts(run.settings, hosts)
        lines = []
        with fanout.connected(settings) as clients:
            for address, client in clients.items():
                lines += audit.shown(address.name, audit.read(client, settings.app), tail)
        return lines

    def metrics(self, run: DeployRun, hosts: tuple[str, ...], seconds: float) -> str:
        from stackctl.deploy import fanout
        from stackctl.deploy.errors import DeployFailed
        from stackctl.deploy.logview import Subject, only_hosts
        from stackctl.deploy.metrics import scraped_services, screen
        from stackctl.deploy.ssh.logs import containers_of
        from stackctl.stack.metricsscrape import Target

        settings = only_hosts(run.settings, hosts)
        subjects = [Subject("role", r.service) for r in run.app.roles]
        subjects += [Subject("proxy", run.app.proxy)] if run.app.proxy else []
        wanted = set(scraped_services([s.service for s in subjects]))
        with fanout.connected(settings) as clients:
            targets = {
                f"{address.name} {name}": Target(client.api, name, subject.service)
                for address, client in clients.items()
                for subject in subjects
                if subject.service in wanted
                for name in containers_of(client, settings.app, subject)
            }
            if not targets:
                raise DeployFailed("no web, worker or proxy container on the hosts: deploy first")
            return screen(targets, seconds)

    def execute(self, run: DeployRun, request: ExecRequest, write: Callable[[bytes], None]) -> int:
        from stackctl.deploy import fanout
        from stackctl.deploy.lock import default_holder
        from stackctl.deploy.logview import only_hosts
        from stackctl.deploy.ssh.oneoff import exec_on_host
        from stackctl.engine.terminal import wire

        settings = only_hosts(run.settings, request.hosts)
        who = default_holder()
        first_failure = 0
        with fanout.connected(settings) as clients:
            for address, client in clients.items():
                if len(clients) > 1:
                    run.say(f"{address.name}:")
                code = exec_on_host(
                    client,
                    settings.app,
                    address.name,
                    request,
                    write=write,
                    say=run.say,
                    who=who,
                    terminal=wire if request.interactive else None,
                )
                if len(clients) > 1 and code:
                    run.say(f"{address.name}: exited with code {code}")
                first_failure = first_failure or code
        return first_failure

    def details(self, run: DeployRun, hosts: tuple[str, ...]) -> list[DetailRow]:
        import time

        from stackctl.deploy import fanout
        from stackctl.deploy.details import nothing_deployed, ordered
        from stackctl.deploy.logview import only_hosts
        from stackctl.deploy.ssh.details import host_rows

        settings = only_hosts(run.settings, hosts)
        now = time.time()
        rows: list[DetailRow] = []
        with fanout.connected(settings) as clients:
            for address, client in clients.items():
                found = host_rows(client, settings.app, address.name, now)
                rows += found or [nothing_deployed(address.name)]
        return ordered(rows, [a.name for a in settings.addresses])


def https_checks(run: DeployRun) -> list[Check]:
    """The HTTPS mode and, per host name, where its certificate comes from (a refusal fails)."""
    import datetime as dt

    from stackctl.deploy.https import check_https, describe
    from stackctl.doctor.doctor import Check
    from stackctl.errors import StackError

    now = dt.datetime.now(dt.timezone.utc)
    try:
        hosts = check_https(run.settings, run.app, now)
    except StackError as exc:
        return [Check("https", "fail", str(exc))]
    checks = [Check("https", "ok", describe(run.settings, run.app, now)[0].removeprefix("HTTPS: "))]
    checks += [
        Check(f"https on {host.host}", "ok", row.describe(now))
        for host in hosts
        for row in host.rows
    ]
    return checks
