"""A deploy or rollback across hosts: lock them all, then go batch by batch, hosts of a batch in
parallel, stopping at the first batch with a failure."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

from stackctl.deploy import audit, fanout, lock, transfer
from stackctl.deploy.appdef import Accessory, AppDefinition
from stackctl.deploy.errors import DeployFailed
from stackctl.deploy.https import accessory_environment, check_https, depends_on_proxy
from stackctl.deploy.release import ReleaseImages, check_one_container_per_host, check_secrets
from stackctl.deploy.settings import DeploySettings, HostAddress
from stackctl.deploy.ssh import containers, proxy, releases
from stackctl.deploy.ssh.accessories import accessory_logs, ensure_accessory, remove_accessory
from stackctl.deploy.ssh.cutover import Move, cutover
from stackctl.engine.models import inspect_container
from stackctl.errors import StackError

if TYPE_CHECKING:
    import docker
    from rich.console import Console
    from rich.progress import Progress

HostWork = Callable[["docker.DockerClient", HostAddress, Callable[[str], None]], None]


@contextlib.contextmanager
def locked_hosts(
    settings: DeploySettings, *, holder: str, message: str
) -> Iterator[dict[HostAddress, docker.DockerClient]]:
    """Clients for every host (connected side by side), each host's lock held; all released
    at the end."""
    with (
        fanout.connected(settings) as clients,
        fanout.locked(settings, clients, holder=holder, message=message),
    ):
        yield clients


def in_batches(
    settings: DeploySettings,
    clients: Mapping[HostAddress, docker.DockerClient],
    work: HostWork,
    console: Console,
) -> None:
    fanout.in_batches(settings, clients, work, fanout.Printer(console))


def _host_key(settings: DeploySettings, address: HostAddress) -> str:
    """The DEPLOY_HOSTS entry of an address: what `x-deploy` roles name in their `hosts`."""
    return settings.hosts[settings.addresses.index(address)]


def deploy(
    local: docker.DockerClient,
    settings: DeploySettings,
    app: AppDefinition,
    images: ReleaseImages,
    environment: Mapping[str, str],
    console: Console,
    *,
    holder: str | None = None,
    message: str = "",
) -> None:
    """Ship `images` to every host, start the accessories it lacks, move every role over."""
    import datetime as dt

    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    check_secrets(settings, app, environment)
    check_one_container_per_host(app)
    check_https(settings, app, dt.datetime.now(dt.timezone.utc))
    holder = holder or lock.default_holder()
    why = message  # the user's own words for the audit log; the lock's says what runs
    message = message or f"deploy {images.version}"
    progress = Progress(
        *Progress.get_default_columns(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
        transient=True,
    )

    def one_host(
        client: docker.DockerClient, address: HostAddress, say: Callable[[str], None]
    ) -> None:
        with audit.recorded(
            client,
            settings.app,
            address.name,
            say,
            who=holder,
            command="deploy",
            version=images.version,
            message=why,
        ):
            deploy_host(client, address, say)

    def deploy_host(
        client: docker.DockerClient, address: HostAddress, say: Callable[[str], None]
    ) -> None:
        key = _host_key(settings, address)
        roles = app.roles_on(key)
        accessories = app.accessories_on(key)
        wanted = [images.roles[r.service] for r in roles]
        wanted += [images.accessories[a.service] for a in accessories]
        if images.proxy and any(r.proxy_port is not None for r in roles):
            wanted.append(images.proxy)
        _ship(local, client, settings, list(dict.fromkeys(wanted)), address, progress, say)

        def start(accessory: Accessory) -> None:
            ensure_accessory(
                client,
                settings,
                app,
                accessory.service,
                image=images.accessories[accessory.service],
                say=say,
                host=address.name,
                environment=accessory_environment(settings, app, key, accessory.service),
            )

        # Those that need the proxy (the ACME client) once it runs: the rest before the roles.
        after_proxy = [a for a in accessories if depends_on_proxy(app, a.service)]
        for accessory in accessories:
            if accessory not in after_proxy:
                start(accessory)
        if not roles:
            return
        if settings.release_command:
            containers.ensure_network(client, settings.app)
            containers.run_release_command(
                client,
                settings,
                app,
                image=images.roles[app.roles[0].service],
                environment=environment,
            )
            say(f"{address.name}: release command passed")
        move = Move.to_new(images, environment)
        cutover(client, settings, app, host=address.name, roles=roles, move=move, say=say)
        for accessory in after_proxy:
            start(accessory)
        say(f"{address.name}: running {images.version} ({', '.join(r.service for r in roles)})")

    with locked_hosts(settings, holder=holder, message=message) as clients, progress:
        in_batches(settings, clients, one_host, console)


def _ship(
    local: docker.DockerClient,
    client: docker.DockerClient,
    settings: DeploySettings,
    references: list[str],
    address: HostAddress,
    progress: Progress,
    say: Callable[[str], None],
) -> None:
    for ref in references:
        how = transfer.ship_image(
            local,
            client,
            ref,
            host=address.name,
            registry=settings.registry,
            progress=progress,
            say=say,
        )
        say(f"{address.name}: {ref} {'already there' if how == 'present' else how}")


def rollback(
    settings: DeploySettings,
    app: AppDefinition,
    console: Console,
    *,
    version: str | None = None,
    holder: str | None = None,
) -> None:
    """Move every host's roles back to `version` (default: the release before the running one),
    starting that release's kept containers as they were."""
    holder = holder or lock.default_holder()

    command = "rollback" + (f" --version {version}" if version else "")

    def one_host(
        client: docker.DockerClient, address: HostAddress, say: Callable[[str], None]
    ) -> None:
        with audit.recorded(
            client, settings.app, address.name, say, who=holder, command=command, version=""
        ) as note:
            roll_back_host(client, address, say, note)

    def roll_back_host(
        client: docker.DockerClient,
        address: HostAddress,
        say: Callable[[str], None],
        note: audit.Recording,
    ) -> None:
        roles = app.roles_on(_host_key(settings, address))
        current = releases.current_version(client, settings.app)
        known = releases.releases(client, settings.app)
        target = _rollback_target(known, current, version, address.name)
        note.version = target.version
        lacking = [r.service for r in roles if r.service not in target.containers]
        if lacking:
            raise DeployFailed(
                f"host {address.name}: release {target.version} has no {lacking[0]} container"
                " to go back to: deploy that version instead"
            )
        proxy_image = None
        if app.proxied is not None:
            proxy_image = inspect_container(client.api, proxy.proxy_name(settings.app)).image_id
        move = Move.back_to(target, proxy_image)
        cutover(client, settings, app, host=address.name, roles=roles, move=move, say=say)
        say(f"{address.name}: rolled back to {target.version}")

    message = f"rollback to {version or 'the previous release'}"
    with locked_hosts(settings, holder=holder, message=message) as clients:
        in_batches(settings, clients, one_host, console)


def _rollback_target(
    known: list[releases.Release], current: str | None, version: str | None, host: str
) -> releases.Release:
    if version is not None:
        for release in known:
            if release.version == version or release.version.startswith(version):
                return release
        kept = ", ".join(r.version for r in known) or "none"
        raise DeployFailed(f"host {host}: no release {version} is kept (kept: {kept})")
    older = [r for r in known if r.version != current]
    if not older:
        raise DeployFailed(f"host {host}: no earlier release to roll back to")
    return older[0]


def versions(settings: DeploySettings) -> dict[str, list[str]]:
    """Per host, each kept release with its roles and which of them run."""
    listing: dict[str, list[str]] = {}
    with fanout.connected(settings) as clients:
        for address, client in clients.items():
            current = releases.current_version(client, settings.app)
            lines = []
            for release in releases.releases(client, settings.app):
                roles = ", ".join(
                    f"{role} {'running' if role in release.running_roles else 'stopped'}"
                    for role in sorted(release.containers)
                )
                mark = "* " if release.version == current else "  "
                lines.append(f"{mark}{release.version}: {roles}")
            listing[address.name] = lines
    return listing


def accessory(
    local: docker.DockerClient | None,
    settings: DeploySettings,
    app: AppDefinition,
    service: str,
    console: Console,
    *,
    action: str,
    images: ReleaseImages | None = None,
    tail: int = 100,
    volumes: bool = False,
) -> None:
    """`reboot` (recreate from compose.yaml's image; data volumes kept), `logs` or `remove`."""
    chosen = app.accessory(service)
    holder = lock.default_holder()

    def one_host(
        client: docker.DockerClient, address: HostAddress, say: Callable[[str], None]
    ) -> None:
        if chosen.hosts is not None and _host_key(settings, address) not in chosen.hosts:
            return
        if action == "logs":
            for line in accessory_logs(client, settings, service, tail):
                say(f"{address.name} | {line}")
            return
        with audit.recorded(
            client,
            settings.app,
            address.name,
            say,
            who=holder,
            command=f"accessory {service} --{action}" + (" --volumes" if volumes else ""),
            version=releases.current_version(client, settings.app) or "",
        ):
            change_accessory(client, address, say)

    def change_accessory(
        client: docker.DockerClient, address: HostAddress, say: Callable[[str], None]
    ) -> None:
        if action == "remove":
            for what in remove_accessory(client, settings, app, service, volumes=volumes):
                say(f"{address.name}: removed {what}")
        else:
            assert local is not None
            assert images is not None
            ref = images.accessories[service]
            how = transfer.ship_image(
                local, client, ref, host=address.name, registry=settings.registry
            )
            say(f"{address.name}: {ref} {'already there' if how == 'present' else how}")
            ensure_accessory(
                client,
                settings,
                app,
                service,
                image=ref,
                say=say,
                host=address.name,
                reboot=True,
                environment=accessory_environment(
                    settings, app, _host_key(settings, address), service
                ),
            )

    if action == "logs":
        with fanout.connected(settings) as clients:
            for address, client in clients.items():
                one_host(client, address, fanout.Printer(console))
        return
    with locked_hosts(settings, holder=holder, message=f"accessory {service} {action}") as clients:
        in_batches(settings, clients, one_host, console)


def certificates(settings: DeploySettings, console: Console, *, renew: bool = False) -> None:
    """Each host's served certificate; `renew`: a forced renewal first (audited), then the new
    certificate (nginx reloads gracefully onto it within TLS_RECHECK_SECONDS, 5 s)."""
    import datetime as dt

    from stackctl.deploy.ssh import certs

    def shown(client: docker.DockerClient, address: HostAddress) -> str:
        return certs.served_certificate(client, settings.app, dt.datetime.now(dt.timezone.utc))

    if not renew:
        with fanout.connected(settings) as clients:
            for address, client in clients.items():
                console.print(f"{address.name}: {shown(client, address)}", markup=False)
        return
    holder = lock.default_holder()

    def one_host(
        client: docker.DockerClient, address: HostAddress, say: Callable[[str], None]
    ) -> None:
        with audit.recorded(
            client,
            settings.app,
            address.name,
            say,
            who=holder,
            command="certs --renew",
            version=releases.current_version(client, settings.app) or "",
        ):
            certs.renew(client, settings.app, address.name)
        say(f"{address.name}: renewed: {shown(client, address)}")

    with locked_hosts(settings, holder=holder, message="certs --renew") as clients:
        in_batches(settings, clients, one_host, console)


def release_locks(settings: DeploySettings, console: Console) -> None:
    """Clear every host's deploy lock (a deploy that died holding it)."""
    with fanout.connected(settings) as clients:
        for address, client in clients.items():
            held = lock.read_lock(client, settings.app)
            if lock.release_lock(client, settings.app) and held is not None:
                console.print(f"{address.name}: released the lock {held.describe()}", markup=False)
            else:
                console.print(f"{address.name}: no lock held", markup=False)


def lock_status(settings: DeploySettings) -> dict[str, str]:
    status = {}
    with fanout.connected(settings) as clients:
        for address, client in clients.items():
            held = lock.read_lock(client, settings.app)
            status[address.name] = held.describe() if held else "not locked"
    return status


__all__ = [
    "StackError",
    "accessory",
    "deploy",
    "lock_status",
    "release_locks",
    "rollback",
    "versions",
]
