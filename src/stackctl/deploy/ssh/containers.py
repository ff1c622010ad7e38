"""A release's containers on a host: each role's created from compose.yaml's service (with its
secrets volume), started, waited for until ready, stopped with its own grace period; the release
command's one-off (Kamal's `app` commands)."""

from __future__ import annotations

import contextlib
import shlex
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stackctl.compose import ServiceSpec
from stackctl.deploy import labels
from stackctl.deploy.appdef import AppDefinition, Role
from stackctl.deploy.errors import ReleaseCommandFailed
from stackctl.deploy.release import unused_secrets
from stackctl.deploy.secretfiles import fill_secrets_volume, prepare_volume
from stackctl.deploy.secrets import secret_files
from stackctl.deploy.settings import DeploySettings
from stackctl.engine.healthchecks import create_healthcheck
from stackctl.engine.logs import LOG_TAIL, last_lines
from stackctl.engine.models import (
    created_id,
    inspect_container,
    wait_status,
)
from stackctl.engine.readiness import Phase, readiness
from stackctl.plan.converge import create_options, health_config, host_options
from stackctl.plan.secretmounts import SECRETS_DIR, without_secrets

if TYPE_CHECKING:
    import docker

POLL_SECONDS = 0.2
LOG_CONFIG = {"Type": "json-file", "Config": {"max-size": "10m", "max-file": "3"}}


def role_container(app: str, service: str, version: str) -> str:
    return f"{app}-{service}-{version}"


def secrets_volume(container: str) -> str:
    return f"{container}-secrets"


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


def log_tail(client: docker.DockerClient, container: str, lines: int = LOG_TAIL) -> list[str]:
    return last_lines(client.api, container, lines)


def container_environment(
    spec: ServiceSpec, environment: Mapping[str, str], leave_out: Collection[str] = ()
) -> dict[str, str]:
    """compose's environment for the service, the run-time values over it, minus every
    variable the service gets as a secret file (a file is not in `docker inspect`) and the
    names `leave_out` (secrets the release does not use: `release.unused_secrets`)."""
    found = without_secrets({**spec.environment, **environment}, spec)
    return {k: v for k, v in found.items() if k not in leave_out}


@dataclass(frozen=True)
class CreateRequest:
    """A container's create call, written out before any engine is asked (so a test reads it
    without one): docker-py's `create_container` arguments, its host config's and the network
    it joins with its aliases."""

    image: str
    options: dict[str, Any]
    host: dict[str, Any]
    network: str
    aliases: tuple[str, ...] = ()


def service_request(
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
    leave_out: Collection[str] = (),
) -> CreateRequest:
    """A container for a compose service as compose.yaml describes it (pure)."""
    mounts = volume_mounts(settings.app, spec, secrets_in)
    return CreateRequest(
        image=image,
        options={
            "name": name,
            "command": spec.command,
            "entrypoint": spec.entrypoint,
            "environment": container_environment(spec, environment, leave_out),
            "working_dir": spec.working_dir,
            "user": spec.user or "",
            "labels": {**spec.labels, **container_labels, labels.IMAGE: image},
            "healthcheck": create_healthcheck(health_config(spec, deployed=True)),
            "stop_signal": spec.stop_signal,
            "stop_timeout": int(spec.stop_grace_period or settings.stop_timeout),
            **create_options(spec),
        },
        host={
            "log_config": LOG_CONFIG,
            # compose.yaml's caps, limits, ulimits, logging...: as `invoke up` gives them.
            **host_options(spec),
            "network_mode": network_name(settings.app),
            "mounts": mounts,
            "init": spec.init or None,
            "restart_policy": {"Name": restart},
        },
        network=network_name(settings.app),
        aliases=tuple(aliases),
    )


def volume_mounts(app: str, spec: ServiceSpec, secrets_in: str | None) -> list[Any]:
    """The service's named volumes as the app's (`<app>_<volume>`), and its secrets volume."""
    from docker.types import Mount

    mounts = [
        Mount(target=m.target, source=f"{app}_{m.source}", type="volume", read_only=m.read_only)
        for m in spec.volumes
    ]
    if secrets_in is not None:
        mounts.append(Mount(target=SECRETS_DIR, source=secrets_in, type="volume", read_only=True))
    return mounts


def ensure_volumes(client: docker.DockerClient, app: str, spec: ServiceSpec) -> None:
    """Create the service's named volumes the host lacks, labelled as the app's: kept across
    deploys and recreations (an accessory's data, the proxy's certificates)."""
    from docker.errors import NotFound

    for mount in spec.volumes:
        volume = f"{app}_{mount.source}"
        try:
            client.api.inspect_volume(volume)
        except NotFound:
            client.api.create_volume(
                volume, labels={labels.APP: app, labels.KIND: "accessory-volume"}
            )


def create(client: docker.DockerClient, request: CreateRequest) -> str:
    """Create (not start) the container `request` describes; its id."""
    api = client.api
    networking = (
        api.create_networking_config(
            {request.network: api.create_endpoint_config(aliases=list(request.aliases))}
        )
        if request.aliases
        else None
    )
    created = api.create_container(
        request.image,
        **request.options,
        host_config=api.create_host_config(**request.host),
        networking_config=networking,
    )
    return created_id(created)


def create_service_container(
    client: docker.DockerClient,
    settings: DeploySettings,
    spec: ServiceSpec,
    **request: Any,
) -> str:
    """Create (not start) a container for a compose service (`service_request`'s arguments)."""
    return create(client, service_request(settings, spec, **request))


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
            # x-deploy.env (the app's config choice) under the release's values, as the release
            # command and the Swarm target get them.
            environment=app.role_environment(environment),
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
            leave_out=unused_secrets(app, environment),
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
    clock: Callable[[], float] = time.monotonic,
    pause: Callable[[threading.Event, float], object] = threading.Event.wait,
) -> tuple[float, str | None]:
    """Seconds until the container was ready and None, or the seconds and why it is not.

    Ready: healthy, or for a container without a health check, running for `settle` seconds
    (a worker that exits at start fails here, not after the old one stopped). Healthy is
    Docker's word or a run of the same check command through exec passing first, as `invoke
    up` does: Docker runs a check first an interval (5 s in compose.yaml) after the start, and
    the cutover would wait that long for an app answering in half a second. Unhealthy stays
    Docker's word (its retries), so one failed run of ours fails nothing.

    `clock` tells the time and `pause(event, seconds)` waits until a run of our check passed
    (the event) or the seconds are over: a test gives its own (a controlled clock)."""
    from stackctl.stack.health import OwnChecks

    passed = threading.Event()  # wakes the wait when a run of ours passes
    own_checks = OwnChecks(client.api, clock=clock, on_pass=passed.set)
    started = clock()
    while clock() - started < timeout:
        inspected = inspect_container(client.api, container)
        phase = readiness(inspected)
        if not inspected.running:
            return clock() - started, f"exited with code {inspected.exit_code}"
        if phase is Phase.UNHEALTHY:
            return clock() - started, "failed its health check"
        if (
            phase is Phase.HEALTHY
            or (phase is Phase.STARTING and own_checks.check_passed(container, inspected.check))
            or (phase is Phase.RUNNING and clock() - started >= settle)
        ):
            client.api.update_container(container, restart_policy={"Name": "unless-stopped"})
            return clock() - started, None
        due = own_checks.until_due()
        pause(passed, POLL_SECONDS if due is None else min(POLL_SECONDS, due))
    return timeout, f"not ready after {timeout:.0f}s"


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
            environment=container_environment(
                spec, app.role_environment(environment), unused_secrets(app, environment)
            ),
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
