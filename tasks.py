"""Invoke tasks over stackctl: `invoke --list` shows them, `invoke --help TASK` their options.

Each task is a few lines: load the workspace, connect, call stackctl, and turn stackctl's typed
errors into one line and a non-zero exit. Importing this file needs no Docker engine.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

PROJECT_DIR = Path(__file__).resolve().parent
F = TypeVar("F", bound=Callable[..., Any])

# invoke turns off writing bytecode for its whole run (to keep a tasks.pyc out of the project;
# `--write-pyc` turns it on), so every module first imported by a task, stackctl and its
# dependencies (pydantic, docker-py, rich), was compiled from source at every command wherever
# the venv holds no bytecode yet (uv does not compile on install): 0.25 of a no-op `up`'s
# 0.52 s, measured. tasks.py is loaded by now; the interpreter's own setting (-B,
# PYTHONDONTWRITEBYTECODE) is kept.
sys.dont_write_bytecode = bool(sys.flags.dont_write_bytecode)


def reporting_errors(body: F) -> F:
    """stackctl's errors become one line on stderr and exit code 1, never a traceback."""

    @functools.wraps(body)
    def run(*args: Any, **kwargs: Any) -> Any:
        from stackctl.errors import BuildError, ServiceUnhealthy, StackError, UsageError

        try:
            return body(*args, **kwargs)
        except UsageError as error:
            raise Exit(f"error: {error}", code=2) from None
        except (BuildError, ServiceUnhealthy) as error:
            for line in error.log_tail:
                print(f"  | {line}", file=sys.stderr)
            raise Exit(f"error: {error}", code=1) from None
        except StackError as error:
            raise Exit(f"error: {error}", code=1) from None
        except Exception as error:
            # The engine refused something stackctl did not foresee: its words, on one line.
            if type(error).__module__.startswith("docker"):
                explanation = getattr(error, "explanation", None) or str(error)
                raise Exit(f"error: Docker engine: {explanation}", code=1) from None
            raise

    return run  # type: ignore[return-value]


def console() -> Any:
    from rich.console import Console

    return Console(highlight=False)


def workspace(
    c: Context,
    mode: str | None = None,
    profiles: list[str] | None = None,
    services: list[str] | None = None,
) -> Any:
    from stackctl.gcpause import made_to_last

    with made_to_last():
        from stackctl.stack.workspace import load_workspace

        return load_workspace(
            PROJECT_DIR,
            compose_file=c.config.stack.compose_file,
            mode=mode,
            profiles=services_of(profiles),
            services=services or (),
        )


def open_stack(
    c: Context,
    mode: str | None = None,
    profiles: list[str] | None = None,
    services: list[str] | None = None,
    found: Any = None,
) -> Any:
    from stackctl.gcpause import made_to_last

    found = found or workspace(c, mode, profiles, services)
    with made_to_last():
        from stackctl.engine import connect
        from stackctl.stack.stack import Stack

        return Stack(connect(found.settings), found.project, found.settings, console())


def https_certificates(found: Any) -> list[str]:
    """In an HTTPS mode (STACK_HTTPS), make or check the certificates before anything moves:
    which certificate each host name will have, one line each."""
    if found.https.mode == "off":
        return []  # plain HTTP: not even the import of cryptography
    import datetime as dt

    from stackctl.tls.prepare import prepare_https

    now = dt.datetime.now(dt.timezone.utc)
    rows = prepare_https(found.https, found.settings.project_dir, now)
    return [row.describe(now) for row in rows]


def services_of(service: list[str] | None) -> list[str]:
    return [name for item in service or [] for name in item.split(",") if name]


PROFILE_HELP = "activate a compose profile (repeat, or comma-separated; default: COMPOSE_PROFILES)"


@task(
    iterable=["service", "profile"],
    help={
        "service": "a service to bring up with what it depends on (repeat; default: all)",
        "profile": PROFILE_HELP,
        "build": "build images whose inputs changed (default on; --no-build to skip)",
        "wait": "wait until every service is healthy (default on; --no-wait to return at once)",
        "mode": "develop (code mounted, reloads; the default) or production (code in the image);"
        " default from STACK_MODE",
    },
)
@reporting_errors
def up(
    c: Context,
    service: list[str] | None = None,
    build: bool = True,
    wait: bool = True,
    mode: str | None = None,
    profile: list[str] | None = None,
) -> None:
    """Bring the stack up from compose.yaml; change only what changed."""
    services = services_of(service)
    found = workspace(c, mode, profile, services)
    certificates = https_certificates(found)
    stack = open_stack(c, found=found)
    for line in certificates:
        stack.console.print(f"[bold]https[/]: {line}", soft_wrap=True)
    plans = stack.up(services, build=build, wait=wait)
    changed = list(dict.fromkeys(p.service for p in plans if p.action != "keep"))
    count = len({p.service for p in plans})
    stack.console.print(
        f"[bold green]up[/]: {count} services, changed: {', '.join(changed) or 'none'}"
    )


@task(help={"volumes": "also remove the project's named volumes (data is lost)"})
@reporting_errors
def down(c: Context, volumes: bool = False) -> None:
    """Stop and remove the stack's containers and network (volumes with -v)."""
    open_stack(c).down(volumes=volumes)


@task(
    help={
        "target": "hosts: each host's kept releases; swarm: the swarm services' tasks per node"
        " (default: this stack)"
    }
)
@reporting_errors
def ps(c: Context, target: str | None = None) -> None:
    """List the stack's containers: service, state, health, published ports.

    Health is Docker's; a container Docker still calls "starting" (its first check comes an
    interval after the start) has its check run once now, as `up` does, and shows the answer.
    """
    from rich.table import Table

    if target is not None:
        run = deploy_run(c)
        for line in choose_target(target).ps(run):
            run.say(line)
        return
    stack = open_stack(c)
    table = Table("SERVICE", "CONTAINER", "STATE", "HEALTH", "PORTS", box=None)
    for row in stack.ps():
        table.add_row(row.service, row.name, row.state, row.health, row.ports)
    stack.console.print(table)


@task(
    iterable=["service"],
    help={
        "service": "a service whose logs to show (repeat; default: all)",
        "follow": "keep printing new lines until interrupted",
        "tail": "only the last N lines of each service",
    },
)
@reporting_errors
def logs(
    c: Context, service: list[str] | None = None, follow: bool = False, tail: str | None = None
) -> None:
    """Show the stack's logs, each line prefixed with its service."""
    from stackctl.stack.logs import tail_lines

    lines = tail_lines(tail)  # Invoke hands `--tail 50` over as the text "50"
    for line in open_stack(c).logs(services_of(service), follow=follow, tail=lines):
        print(line, flush=follow)


@task(
    iterable=["service"],
    help={
        "service": "a service to build (repeat; default: all with a build section)",
        "force": "build even when the inputs did not change",
    },
)
@reporting_errors
def build(c: Context, service: list[str] | None = None, force: bool = False) -> None:
    """Build the stack's images, skipping those whose inputs did not change."""
    stack = open_stack(c)
    images = stack.build(services_of(service), force=force)
    for name, image_id in images.items():
        stack.console.print(f" [green]✔[/] {name}  {image_id[7:19]}")


@task(
    iterable=["only"],
    help={
        "only": "build only this base: python, nginx or redis (repeat; default: all)",
        "force": "rebuild bases that are already in the engine",
    },
)
@reporting_errors
def base(c: Context, only: list[str] | None = None, force: bool = False) -> None:
    """Build the base images offline (debootstrap from Debian's mirror): no registry needed."""
    from stackctl.engine import connect
    from stackctl.images.baseimages import build_offline_base_images

    settings = workspace(c).settings
    out = console()
    built = build_offline_base_images(
        connect(settings), settings, out, only=only or (), force=force
    )
    if built:
        out.print(f"[bold green]built[/]: {', '.join(built)}")


@task(iterable=["profile"], help={"profile": PROFILE_HELP})
@reporting_errors
def config(c: Context, profile: list[str] | None = None) -> None:
    """Validate compose.yaml and .env, and print the services in start order."""
    found = workspace(c, profiles=profile)
    out = console()
    out.print(f"project {found.project.name}: {', '.join(found.project.start_order())}")


@task(
    iterable=["host"],
    help={
        "host": "check this deploy host instead ([user@]host[:port], repeat; `all`: DEPLOY_HOSTS):"
        " the app's own settings check in its running release, where its OSS credentials come"
        " from and whether the host's metadata service answers with a role (an SSH deploy's"
        " hosts; not yet a Swarm's tasks)"
    },
)
@reporting_errors
def doctor(c: Context, host: list[str] | None = None) -> None:
    """Check what `invoke up` needs here, one line each with what to do; exit 1 if blocked."""
    from rich.markup import escape

    from stackctl.doctor.doctor import app_settings_check, blocking, diagnose, summary

    if host:
        run = deploy_run(c, hosts=tuple(h for h in host if h != "all"))
        checks = choose_target(None).doctor(run)
    else:
        # The app checks its own settings: stackctl runs its command and never imports it.
        check_app = app_settings_check([sys.executable, "-m", "gallery.checkconfig"])
        checks = diagnose(PROJECT_DIR, c.config.stack.compose_file, check_app=check_app)
    out = console()
    marks = {"ok": "[green]✓[/]", "warn": "[yellow]![/]", "fail": "[red]✗[/]"}
    for check in checks:
        line = f" {marks[check.status]} [bold]{escape(check.name)}[/]: {escape(check.detail)}"
        out.print(line, soft_wrap=True)
    if host:
        if any(check.status == "fail" for check in checks):
            raise Exit(code=1)
        return
    out.print(summary(checks), soft_wrap=True)
    if blocking(checks):
        raise Exit(code=1)


def deploy_settings(c: Context, **overrides: object) -> Any:
    from stackctl.compose.envfiles import read_dotenv
    from stackctl.deploy.settings import load_deploy_settings

    return load_deploy_settings(PROJECT_DIR, dotenv=read_dotenv(PROJECT_DIR), overrides=overrides)


def choose_target(given: str | None) -> Any:
    """The deploy target --target (or DEPLOY_TARGET) names: stackctl chooses it."""
    from stackctl.compose.envfiles import read_dotenv
    from stackctl.deploy.targets import choose

    return choose(given, read_dotenv(PROJECT_DIR))


def deploy_run(c: Context, *, secrets: bool = False, **overrides: object) -> Any:
    """A deploy command's inputs (for either target); `secrets`: with the release's run-time
    values."""
    from stackctl.compose.envfiles import read_dotenv
    from stackctl.deploy.release import release_environment
    from stackctl.deploy.target import DeployRun
    from stackctl.engine import connect

    settings = deploy_settings(c, **overrides)
    stack, app = deploy_app(settings)
    environment = release_environment(settings, app=app) if secrets else {}
    return DeployRun(
        settings, app, stack, environment, console(), connect, dotenv=read_dotenv(PROJECT_DIR)
    )


def swarm_settings(settings: Any) -> Any:
    from stackctl.compose.envfiles import read_dotenv
    from stackctl.deploy.swarm.settings import load_swarm_settings

    return load_swarm_settings(settings.hosts, dotenv=read_dotenv(PROJECT_DIR))


def deploy_app(settings: Any) -> Any:
    """(stack settings, app definition): compose.yaml as `invoke up --mode production` reads it,
    with the HTTPS mode's override (README "HTTPS")."""
    from stackctl.deploy.appdef import load_for_deploy

    return load_for_deploy(
        PROJECT_DIR, settings.hosts, settings.compose_override, https=settings.https
    )


@task(
    name="deploy",
    default=True,
    iterable=["host"],
    help={
        "host": "deploy to this [user@]host[:port] instead of DEPLOY_HOSTS (repeat)",
        "dry_run": "print the plan: nothing is built, no host is contacted",
        "batch_size": "hosts deployed at once (default DEPLOY_BATCH_SIZE, 1)",
        "message": "why: shown to anyone refused by the lock",
        "target": "hosts (default: SSH deploy) or swarm (services on the hosts' swarm);"
        " default DEPLOY_TARGET",
    },
)
@reporting_errors
def deploy_(
    c: Context,
    host: list[str] | None = None,
    dry_run: bool = False,
    batch_size: int | None = None,
    message: str = "",
    target: str | None = None,
) -> None:
    """Ship the app (roles, accessories, proxy of compose.yaml's x-deploy) to the ECS hosts."""
    chosen = choose_target(target)
    run = deploy_run(c, secrets=True, hosts=tuple(host or ()), batch_size=batch_size)
    if dry_run:
        for line in chosen.plan(run):
            run.say(line)
        return
    run.console.print(chosen.deploy(run, message=message))


@task(
    name="lock",
    iterable=["host"],
    help={
        "release": "remove the lock (a deploy that died holding it)",
        "host": "only this [user@]host[:port] (repeat; default DEPLOY_HOSTS)",
    },
)
@reporting_errors
def deploy_lock(c: Context, release: bool = False, host: list[str] | None = None) -> None:
    """Show each host's deploy lock (who, since when, why); --release clears it."""
    from stackctl.deploy.ssh.run import lock_status, release_locks

    settings = deploy_settings(c, hosts=tuple(host or ()))
    out = console()
    if release:
        release_locks(settings, out)
        return
    for name, status in lock_status(settings).items():
        out.print(f"{name}: {status}", markup=False, highlight=False)


@task(
    name="versions",
    iterable=["host"],
    help={"host": "only this [user@]host[:port] (repeat; default DEPLOY_HOSTS)"},
)
@reporting_errors
def deploy_versions(c: Context, host: list[str] | None = None) -> None:
    """Each host's kept releases with every role's state; * marks the one running."""
    from stackctl.deploy.ssh.run import versions

    settings = deploy_settings(c, hosts=tuple(host or ()))
    out = console()
    for name, lines in versions(settings).items():
        out.print(f"{name}:", markup=False, highlight=False)
        for line in lines or ["  (no release)"]:
            out.print(f"  {line}", markup=False, highlight=False)


@task(
    name="accessory",
    iterable=["host"],
    help={
        "name": "the accessory (a service under x-deploy.accessories, e.g. redis)",
        "reboot": "recreate it from compose.yaml's image (named volumes, so data, are kept)",
        "logs": "print its last log lines on each host",
        "tail": "how many log lines (default 100)",
        "remove": "stop and remove it (its data volumes stay unless --volumes)",
        "volumes": "with --remove: also remove its named volumes (data is lost)",
        "host": "only this [user@]host[:port] (repeat; default DEPLOY_HOSTS)",
    },
)
@reporting_errors
def deploy_accessory(
    c: Context,
    name: str,
    reboot: bool = False,
    logs: bool = False,
    tail: int = 100,
    remove: bool = False,
    volumes: bool = False,
    host: list[str] | None = None,
) -> None:
    """Manage an accessory (Redis) on the hosts: --reboot, --logs or --remove."""
    from stackctl.deploy.release import build_release
    from stackctl.deploy.ssh.run import accessory
    from stackctl.engine import connect

    chosen = [a for a, on in (("reboot", reboot), ("logs", logs), ("remove", remove)) if on]
    if len(chosen) != 1:
        raise Exit("deploy.accessory: give exactly one of --reboot, --logs, --remove", code=2)
    settings = deploy_settings(c, hosts=tuple(host or ()))
    stack, app = deploy_app(settings)
    app.accessory(name)
    out = console()
    local = images = None
    if chosen[0] == "reboot":
        local = connect(stack)
        images = build_release(local, stack, app, out)
    accessory(
        local,
        settings,
        app,
        name,
        out,
        action=chosen[0],
        images=images,
        tail=tail,
        volumes=volumes,
    )


@task(
    name="certs",
    iterable=["host"],
    help={
        "renew": "renew the ACME certificate now (nginx reloads gracefully)",
        "host": "only this [user@]host[:port] (repeat; default DEPLOY_HOSTS)",
        "target": "swarm: the one certificate every node serves (default DEPLOY_TARGET)",
    },
)
@reporting_errors
def deploy_certs(
    c: Context, renew: bool = False, host: list[str] | None = None, target: str | None = None
) -> None:
    """The certificate each host's proxy serves (names, issuer, expiry, serial); --renew."""
    choose_target(target).certificates(deploy_run(c, hosts=tuple(host or ())), renew=renew)


@task(
    name="rollback",
    iterable=["host"],
    help={
        "version": "the release to go back to (default: the one before the running one)",
        "host": "only this [user@]host[:port] (repeat; default DEPLOY_HOSTS)",
        "target": "swarm: each role's previous service spec (default DEPLOY_TARGET)",
    },
)
@reporting_errors
def rollback_(
    c: Context, version: str | None = None, host: list[str] | None = None, target: str | None = None
) -> None:
    """Move every role back to a kept release together, health-checked like a deploy."""
    chosen = choose_target(target)
    chosen.rollback(deploy_run(c, hosts=tuple(host or ())), version=version)


@task(
    name="logs",
    iterable=["host"],
    help={
        "name": "a role (web, worker), an accessory (redis) or the proxy (proxy or nginx)",
        "host": "only this host of DEPLOY_HOSTS, as listed there or host:port (repeat)",
        "since": "only lines since then: 30s, 10m, 2h, 1d, an ISO time or unix seconds",
        "tail": "last lines per container (default 100; all with --since or --grep)",
        "follow": "keep printing new lines (Ctrl-C ends it)",
        "grep": "only lines matching this regular expression (e.g. a request id)",
        "target": "swarm: the service's logs through a manager (default DEPLOY_TARGET)",
    },
)
@reporting_errors
def deploy_logs(
    c: Context,
    name: str,
    host: list[str] | None = None,
    since: str | None = None,
    tail: str | None = None,
    follow: bool = False,
    grep: str | None = None,
    target: str | None = None,
) -> None:
    """A role's, an accessory's or the proxy's logs on every host, merged in time order, each
    line prefixed with its host and container."""
    import time

    from stackctl.deploy.logview import log_request, prefixed
    from stackctl.stack.logs import tail_lines

    chosen = choose_target(target)
    run = deploy_run(c)
    request = log_request(
        run.app,
        run.settings,
        name,
        hosts=host or (),
        since=since,
        tail=tail_lines(tail),  # Invoke hands `--tail 50` over as the text "50"
        follow=follow,
        grep=grep,
        now=time.time(),
    )
    for line in chosen.logs(run, request):
        print(prefixed(line), flush=follow)


@task(
    name="audit",
    iterable=["host"],
    help={
        "host": "only this host of DEPLOY_HOSTS, as listed there or host:port (repeat)",
        "tail": "the last entries of each host (default 50; 0: none, all: every one)",
        "target": "swarm: the manager's copy, or each --host node's (default DEPLOY_TARGET)",
    },
)
@reporting_errors
def deploy_audit(
    c: Context, host: list[str] | None = None, tail: str = "50", target: str | None = None
) -> None:
    """Who deployed, rolled back or changed an accessory, when, which version, with what
    result: each host's audit log."""
    from stackctl.deploy.logview import chosen_hosts
    from stackctl.stack.logs import tail_lines

    chosen = choose_target(target)
    run = deploy_run(c)
    entries = chosen_hosts(run.settings, host or ())
    for line in chosen.audit(run, entries, None if tail == "all" else tail_lines(tail)):
        run.say(line)


@task(
    name="metrics",
    iterable=["host"],
    help={
        "host": "only this host of DEPLOY_HOSTS, as listed there or host:port (repeat)",
        "seconds": "seconds between the two scrapes the rates and percentiles come from"
        " (default 5; 0: one scrape, totals since each process started)",
        "target": "swarm: every task of the services, on its node (default DEPLOY_TARGET)",
    },
)
@reporting_errors
def deploy_metrics(
    c: Context, host: list[str] | None = None, seconds: float = 5.0, target: str | None = None
) -> None:
    """`invoke metrics`' one screen from every deployed host: req/s, p50/p99, 5xx, queue depth."""
    from stackctl.deploy.logview import chosen_hosts

    if seconds < 0:
        raise Exit(f"error: --seconds {seconds:g}: give 0 or more seconds", code=1)
    chosen = choose_target(target)
    run = deploy_run(c)
    write_out(chosen.metrics(run, chosen_hosts(run.settings, host or ()), seconds))


@task(
    name="exec",
    iterable=["host"],
    help={
        "role": "the role whose running release to run it beside (web, worker)",
        "host": "on this host of DEPLOY_HOSTS instead of the role's first (repeat)",
        "all_hosts": "on every host the role runs on, one after the other",
        "reuse": "in the running role container itself (docker exec), not a one-off one",
        "interactive": "a terminal wired to the command (flask shell, sh): one host of an SSH"
        " deploy",
        "target": "hosts, or swarm: a one-off job service of the role's spec on the node"
        " (default DEPLOY_TARGET)",
    },
)
@reporting_errors
def deploy_exec(
    c: Context,
    role: str,
    host: list[str] | None = None,
    all_hosts: bool = False,
    reuse: bool = False,
    interactive: bool = False,
    target: str | None = None,
) -> None:
    """Run a command beside the running release: `invoke deploy.exec web -- flask gallery
    rebuild-index` (a one-off container of its image, environment, secrets, network);
    `--interactive web -- flask shell` for a terminal."""
    from stackctl.deploy.oneoff import exec_request

    chosen = choose_target(target)
    run = deploy_run(c)
    request = exec_request(
        run.app,
        run.settings,
        role,
        remainder_args(c),
        hosts=host or (),
        all_hosts=all_hosts,
        reuse=reuse,
        interactive=interactive,
        on_terminal=sys.stdin.isatty() and sys.stdout.isatty(),
    )
    code = chosen.execute(run, request, write_bytes)
    if code:
        raise Exit(code=code)


@task(
    name="details",
    iterable=["host"],
    help={
        "host": "only this host of DEPLOY_HOSTS, as listed there or host:port (repeat)",
        "target": "swarm: per node, each task of the app's services (default DEPLOY_TARGET)",
    },
)
@reporting_errors
def deploy_details(c: Context, host: list[str] | None = None, target: str | None = None) -> None:
    """What runs on each host: roles (* the release served), accessories, proxy; version,
    state, health, up for how long."""
    from stackctl.deploy.details import table
    from stackctl.deploy.logview import chosen_hosts

    chosen = choose_target(target)
    run = deploy_run(c)
    run.console.print(table(chosen.details(run, chosen_hosts(run.settings, host or ()))))


@task(name="init", iterable=["host"], help={"host": "[user@]host[:port] (default DEPLOY_HOSTS)"})
@reporting_errors
def swarm_init(c: Context, host: list[str] | None = None) -> None:
    """Make the ECS hosts one Docker Swarm over SSH (init, join, node labels); idempotent."""
    from stackctl.deploy.swarm.run import init

    settings = deploy_settings(c, hosts=tuple(host or ()))
    _, app = deploy_app(settings)
    init(settings, swarm_settings(settings), app, console())


deploy_ns = Collection(
    "deploy",
    deploy_,
    deploy_lock,
    deploy_versions,
    deploy_accessory,
    deploy_logs,
    deploy_audit,
    deploy_metrics,
    deploy_exec,
    deploy_details,
    deploy_certs,
)


def remainder_args(c: Context) -> list[str]:
    """The words after `--`, as the shell split them (invoke's own remainder is re-joined text)."""
    if "--" in sys.argv:
        return sys.argv[sys.argv.index("--") + 1 :]
    import shlex

    return shlex.split(c.remainder) if c.remainder else []


@task(
    name="test",
    help={"service": "the service whose image's test stage to use (default: web)"},
)
@reporting_errors
def run_image_tests(c: Context, service: str = "web") -> None:
    """Run pytest inside the web image's test stage, beside the stack's redis: `-- -k NAME`."""
    from stackctl.stack.oneoff import run_tests

    code = run_tests(open_stack(c), remainder_args(c), write=write_out, service=service)
    if code:
        raise Exit(code=code)


@task(
    name="exec",
    help={
        "service": "the running service to run the command in",
        "user": "run as this user (default: the image's)",
    },
)
@reporting_errors
def exec_(c: Context, service: str, user: str = "") -> None:
    """Run a command in a service's container: `invoke exec redis -- redis-cli info`."""
    from stackctl.stack.execute import exec_in

    stack = open_stack(c)
    code = exec_in(
        stack, service, remainder_args(c), interactive=True, write=write_bytes, user=user
    )
    if code:
        raise Exit(code=code)


@task(help={"service": "the service to open the shell in (default: web)"})
@reporting_errors
def shell(c: Context, service: str = "web") -> None:
    """A Flask shell (app, settings, redis, bucket in scope) in the running web container."""
    from stackctl.stack.execute import exec_in

    command = ["flask", "--app", "gallery", "shell"]
    code = exec_in(open_stack(c), service, command, interactive=True, write=write_bytes)
    if code:
        raise Exit(code=code)


@task(
    help={
        "seconds": "seconds between the two scrapes the rates and percentiles come from "
        "(default 5; 0: one scrape, totals since each process started)"
    }
)
@reporting_errors
def metrics(c: Context, seconds: float = 5.0) -> None:
    """One screen of the running stack's metrics: req/s, p50/p99, 5xx, queue depth, failures."""
    from stackctl.stack.metricsscrape import SCRAPES, Target, scrape_all, two_scrapes
    from stackctl.stack.metricsview import render, summarize

    if seconds < 0:
        raise Exit(f"error: --seconds {seconds:g}: give 0 or more seconds", code=1)
    stack = open_stack(c)
    targets = {
        found.name: Target(stack.api, found.id, found.service)
        for found in stack.containers()
        if found.service in SCRAPES and found.status == "running"
    }
    if not targets:
        raise Exit("error: no running web, worker or nginx container: run `invoke up`", code=1)
    if seconds:
        before, after, waited = two_scrapes(targets, seconds)
        write_out(render(summarize(after, before, waited), waited))
    else:
        write_out(render(summarize(scrape_all(targets))))


def write_out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def write_bytes(data: bytes) -> None:
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


ns = Collection(
    up, down, ps, logs, build, base, config, doctor, run_image_tests, exec_, shell, metrics
)
ns.add_collection(deploy_ns)
ns.add_task(rollback_)
ns.add_collection(Collection("swarm", swarm_init))
ns.configure({"stack": {"compose_file": "compose.yaml"}})
