"""Accessories (Kamal's word): services such as Redis started once per host beside the app and
kept across deploys. An app deploy creates one that is missing and starts one that is stopped,
but never recreates a running one; `invoke deploy.accessory NAME --reboot` does that on purpose.
Their named volumes (`<app>_<volume>`) outlive the container, so data survives a reboot.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from stackctl.deploy import labels
from stackctl.deploy.appdef import AppDefinition
from stackctl.deploy.errors import DeployFailed
from stackctl.deploy.settings import DeploySettings
from stackctl.deploy.ssh.containers import (
    create_service_container,
    create_with_secrets,
    ensure_network,
    ensure_volumes,
    log_tail,
    wait_ready,
)
from stackctl.engine.models import inspect_container, inspect_image

if TYPE_CHECKING:
    import docker


def accessory_name(app: str, service: str) -> str:
    return f"{app}-{service}"


def ensure_accessory(
    client: docker.DockerClient,
    settings: DeploySettings,
    app: AppDefinition,
    service: str,
    *,
    image: str,
    say: Callable[[str], None],
    host: str,
    reboot: bool = False,
    environment: Mapping[str, str] | None = None,
) -> str:
    """Make the accessory run on the host; what was done: kept, started, created, rebooted.

    `environment`: this host's values over compose's (the ACME client's host names); a running
    accessory with other values is recreated (its named volumes, so its data, are kept)."""
    from docker.errors import NotFound

    environment = dict(environment or {})
    ensure_network(client, settings.app)
    name = accessory_name(settings.app, service)
    try:
        found = inspect_container(client.api, name)
    except NotFound:
        found = None
    if found is not None and not reboot and _changed(found.environment, environment):
        say(f"{host}: {name} gets other values ({', '.join(sorted(environment))}): recreated")
        reboot = True
    if found is not None and not reboot:
        if found.image_id != inspect_image(client.api, image).id:
            say(
                f"{host}: {name} runs an older image than compose.yaml's: kept;"
                f" `invoke deploy.accessory {service} --reboot` moves it"
            )
        if found.running:
            return "kept"
        client.api.start(name)
        what = "started"
    else:
        if found is not None:
            client.api.stop(name, timeout=settings.stop_timeout)
            client.api.remove_container(name, force=True)
        ensure_volumes(client, settings.app, app.spec(service))
        create_with_secrets(
            client,
            settings,
            app,
            service,
            name=name,
            create=lambda secrets_in: create_service_container(
                client,
                settings,
                app.spec(service),
                name=name,
                image=image,
                environment=environment,
                container_labels={
                    labels.APP: settings.app,
                    labels.KIND: "accessory",
                    labels.ROLE: service,
                },
                aliases=[service],
                secrets_in=secrets_in,
                restart="unless-stopped",
            ),
        )
        client.api.start(name)
        what = "rebooted" if found is not None else "created"
    took, failure = wait_ready(client, name, timeout=settings.health_timeout, settle=0)
    if failure is not None:
        tail = log_tail(client, name)
        raise DeployFailed(
            f"host {host}: accessory {service} {failure}; its last log line: "
            f"{tail[-1] if tail else '(none)'}"
        )
    say(f"{host}: accessory {name} {what}, ready after {took:.1f}s")
    return what


def _changed(found: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    return any(found.get(k) != v for k, v in wanted.items())


def remove_accessory(
    client: docker.DockerClient,
    settings: DeploySettings,
    app: AppDefinition,
    service: str,
    *,
    volumes: bool,
) -> list[str]:
    """Stop and remove the accessory (and with `volumes` its data); what was removed."""
    from docker.errors import APIError, NotFound

    name = accessory_name(settings.app, service)
    removed = []
    with contextlib.suppress(NotFound):
        client.api.stop(name, timeout=settings.stop_timeout)
        client.api.remove_container(name, force=True)
        removed.append(name)
    with contextlib.suppress(NotFound, APIError):
        client.api.remove_volume(f"{name}-secrets", force=True)
    if volumes:
        for mount in app.spec(service).volumes:
            volume = f"{settings.app}_{mount.source}"
            with contextlib.suppress(NotFound):
                client.api.remove_volume(volume, force=True)
                removed.append(f"volume {volume}")
    return removed


def accessory_logs(
    client: docker.DockerClient, settings: DeploySettings, service: str, tail: int
) -> list[str]:
    from docker.errors import NotFound

    name = accessory_name(settings.app, service)
    try:
        return log_tail(client, name, tail)
    except NotFound:
        raise DeployFailed(
            f"accessory {service} is not on this host: `invoke deploy` creates it"
        ) from None
