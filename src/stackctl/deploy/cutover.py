"""Moving a host to a release, every role together: start each role's new container, wait until
each is ready (its health check, or running a few seconds for a role without one), switch the
proxy to the proxied role with a graceful nginx reload, drain, then stop the old containers with
their own stop signal and grace period, and keep the last N releases.

If any role's new container fails, every new container of the release is removed (or, on a
rollback, stopped) and the old release keeps running untouched: roles move together or not at all.

On each host: a network `<app>`, one proxy publishing the app, and per release one container per
role, `<app>-<service>-<version>`, all labelled (labels.py).
"""

from __future__ import annotations

import contextlib
import shlex
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from stackctl.compose import ServiceSpec
from stackctl.converge import create_options, health_config, host_options
from stackctl.deploy import labels
from stackctl.deploy.appdef import AppDefinition, Role
from stackctl.deploy.errors import DeployFailed, ReleaseCommandFailed, ReleaseUnhealthy
from stackctl.deploy.secretfiles import (
    ensure_helper_image,
    fill_secrets_volume,
    prepare_volume,
)
from stackctl.deploy.secrets import secret_files
from stackctl.deploy.settings import DeploySettings
from stackctl.engine.execs import run_in
from stackctl.engine.healthchecks import create_healthcheck
from stackctl.engine.logs import LOG_TAIL, last_lines
from stackctl.engine.models import (
    Container,
    created_id,
    inspect_container,
    inspect_image,
    listed_containers,
    wait_status,
)
from stackctl.engine.readiness import Phase, readiness
from stackctl.secretmounts import SECRETS_DIR, without_secrets

if TYPE_CHECKING:
    import docker

_POLL = 0.2
_LOG_CONFIG = {"Type": "json-file", "Config": {"max-size": "10m", "max-file": "3"}}
# Pins the upstream into the proxy's template (so a restarted proxy keeps it), renders the site
# and reloads nginx only when the new configuration tests good.
_SWITCH_SCRIPT = r"""
set -eu
t=/etc/nginx/templates/default.conf.template
[ -f "$t.orig" ] || cp "$t" "$t.orig"
sed "s#\${NGINX_UPSTREAM}#$DEPLOY_UPSTREAM#g" "$t.orig" > "$t.new"
envsubst '${CLIENT_MAX_BODY_SIZE} ${NGINX_UPSTREAM}' < "$t.new" > /etc/nginx/conf.d/default.conf.new
mv /etc/nginx/conf.d/default.conf /etc/nginx/conf.d/default.conf.old
mv /etc/nginx/conf.d/default.conf.new /etc/nginx/conf.d/default.conf
if ! nginx -t -q; then
    mv /etc/nginx/conf.d/default.conf.old /etc/nginx/conf.d/default.conf
    exit 1
fi
mv "$t.new" "$t"
nginx -s reload
"""
_SERVING_SCRIPT = "sed -n 's/^ *server \\([^ ;]*\\).*/\\1/p' /etc/nginx/conf.d/default.conf"


@dataclass(frozen=True)
class Release:
    """A release on a host: its containers by role and the commit it came from."""

    version: str
    containers: dict[str, str]
    running: bool
    deployed_at: float
    commit: str
    dirty: bool
    running_roles: tuple[str, ...] = field(default=())


def role_container(app: str, service: str, version: str) -> str:
    return f"{app}-{service}-{version}"


def secrets_volume(container: str) -> str:
    return f"{container}-secrets"


def proxy_name(app: str) -> str:
    return f"{app}-proxy"


def network_name(app: str) -> str:
    return app


def ensure_network(client: docker.DockerClient, app: str) -> None:
    if not client.api.networks(names=[network_name(app)]):
        client.api.create_network(
            network_name(app),
            driver="bridge",
            check_duplicate=True,
            labels={labels.APP: app, labels.ROLE: "network"},
        )


def releases(client: docker.DockerClient, app: str) -> list[Release]:
    """The host's releases (all roles of one version together), newest deploy first."""
    found = listed_containers(client.api, label=[f"{labels.APP}={app}", f"{labels.KIND}=role"])
    by_version: dict[str, list[Container]] = {}
    for container in found:
        by_version.setdefault(container.labels.get(labels.RELEASE, ""), []).append(container)
    result = []
    for version, containers in by_version.items():
        first = containers[0].labels
        running = tuple(sorted(c.labels.get(labels.ROLE, "") for c in containers if c.running))
        result.append(
            Release(
                version=version,
                containers={c.labels.get(labels.ROLE, ""): c.name for c in containers},
                running=bool(running),
                deployed_at=max(
                    float(c.labels.get(labels.DEPLOYED_AT, "0") or 0) for c in containers
                ),
                commit=first.get(labels.VERSION, ""),
                dirty=first.get(labels.DIRTY) == "true",
                running_roles=running,
            )
        )
    return sorted(result, key=lambda r: r.deployed_at, reverse=True)


def serving(client: docker.DockerClient, app: str) -> str | None:
    """The container name the proxy sends traffic to, None without a running proxy."""
    from docker.errors import NotFound

    try:
        proxy = inspect_container(client.api, proxy_name(app))
    except NotFound:
        return None
    if not proxy.running:
        return None
    output = run_in(client.api, proxy_name(app), ["sh", "-c", _SERVING_SCRIPT]).text.strip()
    return output.rsplit(":", 1)[0] if output else None


def current_version(client: docker.DockerClient, app: str) -> str | None:
    """The release the proxy serves; without a proxy, the newest release with a running role."""
    from docker.errors import NotFound

    upstream = serving(client, app)
    if upstream:
        with contextlib.suppress(NotFound):
            return inspect_container(client.api, upstream).labels[labels.RELEASE]
    running = [r for r in releases(client, app) if r.running]
    return running[0].version if running else None


def log_tail(client: docker.DockerClient, container: str, lines: int = LOG_TAIL) -> list[str]:
    return last_lines(client.api, container, lines)


def container_environment(spec: ServiceSpec, environment: Mapping[str, str]) -> dict[str, str]:
    """compose's environment for the service, the run-time values over it, minus every
    variable the service gets as a secret file (a file is not in `docker inspect`)."""
    return without_secrets({**spec.environment, **environment}, spec)


def create_service_container(
    client: docker.DockerClient,
    settings: DeploySettings,
    spec: ServiceSpec,
    *,
    name: str,
    image: str,
    environment: Mapping[str, str],
    container_labels: Mapping[str, str],
    aliases: list[str],
    secrets_in: str | None,
    restart: str,
) -> str:
    """Create (not start) a container for a compose service as compose.yaml describes it."""
    from docker.types import Mount

    mounts = [
        Mount(
            target=m.target,
            source=f"{settings.app}_{m.source}",
            type="volume",
            read_only=m.read_only,
        )
        for m in spec.volumes
    ]
    if secrets_in is not None:
        mounts.append(Mount(target=SECRETS_DIR, source=secrets_in, type="volume", read_only=True))
    created = client.api.create_container(
        image,
        name=name,
        command=spec.command,
        entrypoint=spec.entrypoint,
        environment=container_environment(spec, environment),
        working_dir=spec.working_dir,
        user=spec.user or "",
        labels={**spec.labels, **container_labels, labels.IMAGE: image},
        healthcheck=create_healthcheck(health_config(spec, deployed=True)),
        stop_signal=spec.stop_signal,
        stop_timeout=int(spec.stop_grace_period or settings.stop_timeout),
        host_config=client.api.create_host_config(
            **{
                "log_config": _LOG_CONFIG,
                # compose.yaml's caps, limits, ulimits, logging...: as `invoke up` gives them.
                **host_options(spec),
                "network_mode": network_name(settings.app),
                "mounts": mounts,
                "init": spec.init or None,
                "restart_policy": {"Name": restart},
            }
        ),
        **create_options(spec),
        networking_config=client.api.create_networking_config(
            {network_name(settings.app): client.api.create_endpoint_config(aliases=aliases)}
        )
        if aliases
        else None,
    )
    return created_id(created)


def create_with_secrets(
    client: docker.DockerClient,
    settings: DeploySettings,
    app: AppDefinition,
    service: str,
    *,
    name: str,
    create: Callable[[str | None], str],
) -> str:
    """Create the service's container through `create` (given its secrets volume, or None when
    it has no secrets), then fill that volume for the container's user; the container's id."""
    files = secret_files(app.project, app.spec(service))
    if not files:
        return create(None)
    volume = secrets_volume(name)
    prepare_volume(client, volume=volume, app=settings.app)
    created = create(volume)
    fill_secrets_volume(client, volume=volume, container=created, app=settings.app, files=files)
    return created


def boot_role(
    client: docker.DockerClient,
    settings: DeploySettings,
    app: AppDefinition,
    role: Role,
    *,
    image: str,
    version: str,
    commit: str,
    dirty: bool,
    environment: Mapping[str, str],
) -> str:
    """Start the role's container of `version` from `image`; its name."""
    from docker.errors import NotFound

    name = role_container(settings.app, role.service, version)
    with contextlib.suppress(NotFound):
        client.api.remove_container(name, force=True)

    def create(secrets_in: str | None) -> str:
        return create_service_container(
            client,
            settings,
            app.spec(role.service),
            name=name,
            image=image,
            environment=environment,
            container_labels={
                labels.APP: settings.app,
                labels.KIND: "role",
                labels.ROLE: role.service,
                labels.VERSION: commit,
                labels.RELEASE: version,
                labels.DIRTY: "true" if dirty else "false",
                labels.DEPLOYED_AT: f"{time.time():.3f}",
            },
            aliases=[],
            secrets_in=secrets_in,
            # "unless-stopped" only once ready: a broken release must not restart in a loop.
            restart="no",
        )

    created = create_with_secrets(client, settings, app, role.service, name=name, create=create)
    client.api.start(created)
    return name


def wait_ready(
    client: docker.DockerClient,
    container: str,
    *,
    timeout: float,
    settle: float,
) -> tuple[float, str | None]:
    """Seconds until the container was ready and None, or the seconds and why it is not.

    Ready: healthy, or for a container without a health check, running for `settle` seconds
    (a worker that exits at start fails here, not after the old one stopped). Healthy is
    Docker's word or a run of the same check command through exec passing first, as `invoke
    up` does: Docker runs a check first an interval (5 s in compose.yaml) after the start, and
    the cutover would wait that long for an app answering in half a second. Unhealthy stays
    Docker's word (its retries), so one failed run of ours fails nothing."""
    from stackctl.health import OwnChecks

    passed = threading.Event()  # wakes the wait when a run of ours passes
    own_checks = OwnChecks(client.api, on_pass=passed.set)
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        inspected = inspect_container(client.api, container)
        phase = readiness(inspected)
        if not inspected.running:
            return time.monotonic() - started, f"exited with code {inspected.exit_code}"
        if phase is Phase.UNHEALTHY:
            return time.monotonic() - started, "failed its health check"
        if (
            phase is Phase.HEALTHY
            or (phase is Phase.STARTING and own_checks.check_passed(container, inspected.check))
            or (phase is Phase.RUNNING and time.monotonic() - started >= settle)
        ):
            client.api.update_container(container, restart_policy={"Name": "unless-stopped"})
            return time.monotonic() - started, None
        due = own_checks.until_due()
        passed.wait(_POLL if due is None else min(_POLL, due))
    return timeout, f"not ready after {timeout:.0f}s"


def ensure_proxy(
    client: docker.DockerClient,
    settings: DeploySettings,
    spec: ServiceSpec,
    image: str,
    upstream: str,
) -> bool:
    """The proxy runs from `image` publishing the app; True when it was (re)created.

    Recreating it (first deploy, or a new proxy image) drops the connections it had: rare.
    """
    from docker.errors import NotFound

    name = proxy_name(settings.app)
    try:
        found: Container | None = inspect_container(client.api, name)
    except NotFound:
        found = None
    if found is not None:
        same_image = found.image_id == inspect_image(client.api, image).id
        if same_image and found.running:
            return False
        client.api.remove_container(name, force=True)
    created = created_id(
        client.api.create_container(
            image,
            name=name,
            environment={
                **spec.environment,
                "NGINX_UPSTREAM": upstream,
                # Deploys switch the upstream themselves; no name watcher needed.
                "UPSTREAM_RECHECK_SECONDS": "0",
            },
            ports=[80],
            labels={labels.APP: settings.app, labels.KIND: "proxy", labels.ROLE: "proxy"},
            stop_signal=spec.stop_signal,
            host_config=client.api.create_host_config(
                network_mode=network_name(settings.app),
                port_bindings={80: (settings.http_host, settings.http_port)},
                restart_policy={"Name": "unless-stopped"},
                log_config=_LOG_CONFIG,
            ),
        )
    )
    client.api.start(created)
    _wait_proxy(client, name)
    return True


def _wait_proxy(client: docker.DockerClient, name: str, timeout: float = 30) -> None:
    command = ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1/nginx-health"]
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if inspect_container(client.api, name).running and run_in(client.api, name, command).ok:
            return
        time.sleep(_POLL)
    raise DeployFailed(f"the proxy did not answer in {timeout:.0f}s: {log_tail(client, name)[-3:]}")


def switch_proxy(client: docker.DockerClient, app: str, upstream: str) -> None:
    """Point the proxy at `container:port` with a graceful reload."""
    result = run_in(
        client.api,
        proxy_name(app),
        ["sh", "-c", _SWITCH_SCRIPT],
        environment={"DEPLOY_UPSTREAM": upstream},
    )
    if not result.ok:
        raise DeployFailed(f"the proxy refused the switch to {upstream}: {result.text}")


def stop_container(client: docker.DockerClient, container: str, default_timeout: int) -> None:
    """Stop with the container's own stop signal and grace period (compose's stop_signal and
    stop_grace_period: a Celery worker gets SIGQUIT)."""
    configured = inspect_container(client.api, container).stop_timeout
    client.api.stop(
        container, timeout=int(configured if configured is not None else default_timeout)
    )


def remove_role_container(client: docker.DockerClient, container: str) -> None:
    from docker.errors import APIError, NotFound

    with contextlib.suppress(NotFound):
        client.api.remove_container(container, force=True)
    with contextlib.suppress(NotFound, APIError):
        client.api.remove_volume(secrets_volume(container), force=True)


def prune(client: docker.DockerClient, settings: DeploySettings) -> list[str]:
    """Remove releases beyond the last `keep_releases` (containers, secrets, images)."""
    from docker.errors import APIError, NotFound

    removed = []
    for release in releases(client, settings.app)[settings.keep_releases :]:
        if release.running:
            continue
        images = set()
        for container in release.containers.values():
            with contextlib.suppress(NotFound):
                images.add(inspect_container(client.api, container).labels.get(labels.IMAGE, ""))
            remove_role_container(client, container)
        for image in images - {""}:
            with contextlib.suppress(APIError):
                client.api.remove_image(image)
        removed.append(release.version)
    return removed


def run_release_command(
    client: docker.DockerClient,
    settings: DeploySettings,
    app: AppDefinition,
    *,
    image: str,
    environment: Mapping[str, str],
    timeout: float = 600,
) -> None:
    """Run the release command from the first role's image as a one-off container."""
    spec = app.spec(app.roles[0].service)
    created = created_id(
        client.api.create_container(
            image,
            command=shlex.split(settings.release_command),
            environment=container_environment(spec, app.role_environment(environment)),
            labels={labels.APP: settings.app, labels.ROLE: "release-command"},
            host_config=client.api.create_host_config(network_mode=network_name(settings.app)),
        )
    )
    try:
        client.api.start(created)
        code = wait_status(client.api.wait(created, timeout=int(timeout)))
        if code != 0:
            raise ReleaseCommandFailed(
                f"release command `{settings.release_command}` exited with code {code}: "
                "nothing was switched",
                log_tail=log_tail(client, created),
            )
    finally:
        client.api.remove_container(created, force=True)


def cutover(
    client: docker.DockerClient,
    settings: DeploySettings,
    app: AppDefinition,
    *,
    host: str,
    roles: tuple[Role, ...],
    version: str,
    commit: str,
    dirty: bool,
    environment: Mapping[str, str],
    images: Mapping[str, str],
    proxy_image: str | None,
    say: Callable[[str], None],
    restart_kept: bool = False,
) -> str | None:
    """Move the host's `roles` to `version`; the release that ran before (None on a fresh host).

    `restart_kept` (a rollback): start the release's kept containers as they were instead of
    creating new ones from `images`.
    """
    ensure_network(client, settings.app)
    before = current_version(client, settings.app)
    names = {r.service: role_container(settings.app, r.service, version) for r in roles}
    if before == version and all(_running(client, n) for n in names.values()):
        say(f"{host}: {version} already running")
        return before
    started: list[str] = list(names.values())
    try:
        # Imported once here, not by two roles booting at once (two imports, one left dangling).
        if not restart_kept and any(app.spec(r.service).secrets for r in roles):
            ensure_helper_image(client)

        def bring_up(role: Role) -> tuple[float, str | None]:
            if restart_kept:
                client.api.start(names[role.service])
            else:
                boot_role(
                    client,
                    settings,
                    app,
                    role,
                    image=images[role.service],
                    version=version,
                    commit=commit,
                    dirty=dirty,
                    environment=environment,
                )
            return wait_ready(
                client,
                names[role.service],
                timeout=settings.health_timeout,
                settle=settings.settle_seconds,
            )

        # Every role's container created, started and waited for at once: a role's settle
        # time overlaps the others' start instead of adding to it.
        with ThreadPoolExecutor(max_workers=len(roles) or 1) as pool:
            outcomes = list(zip(roles, pool.map(_outcome_of(bring_up), roles), strict=True))
        for _role, outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        for role, outcome in outcomes:
            assert not isinstance(outcome, BaseException)
            took, failure = outcome
            if failure is not None:
                raise ReleaseUnhealthy(
                    f"host {host}: release {version}: {role.service} {failure}; rolled back"
                    f" every role, {before or 'nothing'} still runs",
                    log_tail=log_tail(client, names[role.service]),
                )
            say(f"{host}: {names[role.service]} ready after {took:.1f}s")
        proxied = next((r for r in roles if r.proxy_port is not None), None)
        if proxied is not None and app.proxy is not None and proxy_image is not None:
            upstream = f"{names[proxied.service]}:{proxied.proxy_port}"
            if ensure_proxy(client, settings, app.spec(app.proxy), proxy_image, upstream):
                say(f"{host}: proxy started on {settings.http_host}:{settings.http_port}")
            switch_proxy(client, settings.app, upstream)
            say(f"{host}: proxy switched to {names[proxied.service]}")
    except BaseException:
        for name in started:
            if restart_kept:
                with contextlib.suppress(Exception):
                    client.api.stop(name, timeout=settings.stop_timeout)
            else:
                remove_role_container(client, name)
        raise
    old = [
        name
        for release in releases(client, settings.app)
        if release.version != version
        for role, name in release.containers.items()
        if role in release.running_roles
    ]
    if old:
        time.sleep(settings.drain_seconds)

        def stop(name: str) -> None:
            stop_container(client, name, settings.stop_timeout)
            say(f"{host}: stopped {name}")

        # Each with its own signal and grace period, all at once.
        with ThreadPoolExecutor(max_workers=len(old)) as pool:
            list(pool.map(stop, old))
    for version_gone in prune(client, settings):
        say(f"{host}: removed old release {version_gone}")
    return before


_T = TypeVar("_T")
_A = TypeVar("_A")


def _outcome_of(work: Callable[[_A], _T]) -> Callable[[_A], _T | BaseException]:
    """`work` returning its exception instead of raising, so one role's failure does not hide
    whether the others came up (they are all cleaned up together)."""

    def caught(argument: _A) -> _T | BaseException:
        try:
            return work(argument)
        except BaseException as error:
            return error

    return caught


def _running(client: docker.DockerClient, container: str) -> bool:
    from docker.errors import NotFound

    try:
        return inspect_container(client.api, container).running
    except NotFound:
        return False
