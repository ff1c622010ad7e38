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
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from stackctl.deploy.appdef import AppDefinition, Role
from stackctl.deploy.errors import ReleaseUnhealthy
from stackctl.deploy.secretfiles import ensure_helper_image
from stackctl.deploy.settings import DeploySettings
from stackctl.engine.models import (
    inspect_container,
)

if TYPE_CHECKING:
    import docker

from stackctl.deploy.release import ReleaseImages
from stackctl.deploy.ssh.containers import (
    boot_role,
    ensure_network,
    log_tail,
    remove_role_container,
    role_container,
    stop_container,
    wait_ready,
)
from stackctl.deploy.ssh.proxy import ensure_proxy, switch_proxy
from stackctl.deploy.ssh.releases import Release, current_version, prune, releases


@dataclass(frozen=True)
class Move:
    """Where a host's roles go: a new release (from its images, with the release's run-time
    values) or, for a rollback, a kept release whose containers are started as they were."""

    version: str
    commit: str
    dirty: bool
    environment: Mapping[str, str] = field(default_factory=dict)
    images: Mapping[str, str] = field(default_factory=dict)
    """role service -> image reference (a new release only)"""
    proxy_image: str | None = None
    restart_kept: bool = False

    @classmethod
    def to_new(cls, images: ReleaseImages, environment: Mapping[str, str]) -> Move:
        return cls(
            images.version,
            images.source.commit,
            images.source.dirty,
            environment=environment,
            images=images.roles,
            proxy_image=images.proxy,
        )

    @classmethod
    def back_to(cls, release: Release, proxy_image: str | None) -> Move:
        return cls(
            release.version,
            release.commit,
            release.dirty,
            proxy_image=proxy_image,
            restart_kept=True,
        )


def cutover(
    client: docker.DockerClient,
    settings: DeploySettings,
    app: AppDefinition,
    *,
    host: str,
    roles: tuple[Role, ...],
    move: Move,
    say: Callable[[str], None],
) -> str | None:
    """Move the host's `roles` to `move.version`; the release that ran before (None on a fresh
    host). A rollback (`move.restart_kept`) starts the release's kept containers as they were
    instead of creating new ones from `move.images`.
    """
    version, restart_kept, proxy_image = move.version, move.restart_kept, move.proxy_image
    ensure_network(client, settings.app)
    before = current_version(client, settings.app)
    names = {r.service: role_container(settings.app, r.service, version) for r in roles}
    if before == version and all(_running(client, n) for n in names.values()):
        say(f"{host}: {version} already running")
        # A changed proxy (an HTTPS setting, a rotated certificate) still reaches the host.
        _proxy_to(client, settings, app, host, roles, names, proxy_image, say, switch=False)
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
                    image=move.images[role.service],
                    version=version,
                    commit=move.commit,
                    dirty=move.dirty,
                    environment=move.environment,
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
        _proxy_to(client, settings, app, host, roles, names, proxy_image, say, switch=True)
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


def _proxy_to(
    client: docker.DockerClient,
    settings: DeploySettings,
    app: AppDefinition,
    host: str,
    roles: tuple[Role, ...],
    names: dict[str, str],
    proxy_image: str | None,
    say: Callable[[str], None],
    *,
    switch: bool,
) -> None:
    """The proxy as the app defines it (recreated when that changed), sending to the proxied
    role's container of `names` (`switch`: pinned there with a graceful reload)."""
    proxied = next((r for r in roles if r.proxy_port is not None), None)
    if proxied is None or app.proxy is None or proxy_image is None:
        return
    upstream = f"{names[proxied.service]}:{proxied.proxy_port}"
    state = ensure_proxy(client, settings, app, proxy_image, upstream)
    if state == "created":
        published = f"{settings.http_host}:{settings.http_port}"
        if settings.https.serves_tls:
            published += f" and {settings.http_host}:{settings.https_port} (HTTPS)"
        say(f"{host}: proxy started on {published}")
    elif state == "rotated":
        say(f"{host}: proxy's certificate files replaced (nginx reloads gracefully within 5 s)")
    if switch:
        switch_proxy(client, settings.app, upstream)
        say(f"{host}: proxy switched to {names[proxied.service]}")


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
