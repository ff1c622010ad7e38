"""A deploy or rollback across hosts: lock them all, then go batch by batch, hosts of a batch in
parallel, stopping at the first batch with a failure."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from stackctl.deploy import cutover, lock, transfer
from stackctl.deploy.errors import DeployFailed
from stackctl.deploy.plan import batches
from stackctl.deploy.release import ReleaseImages
from stackctl.deploy.settings import DeploySettings, HostAddress
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
    """Clients for every host, each host's lock held; all released at the end."""
    from stackctl.deploy.hosts import connect_host

    clients: dict[HostAddress, docker.DockerClient] = {}
    locked: list[HostAddress] = []
    try:
        for address in settings.addresses:
            clients[address] = connect_host(address, settings)
            lock.acquire_lock(
                clients[address], settings.app, address.name, holder=holder, message=message
            )
            locked.append(address)
        yield clients
    finally:
        for address in locked:
            with contextlib.suppress(Exception):
                lock.release_lock(clients[address], settings.app)
        for client in clients.values():
            with contextlib.suppress(Exception):
                client.close()


def in_batches(
    settings: DeploySettings,
    clients: Mapping[HostAddress, docker.DockerClient],
    work: HostWork,
    console: Console,
) -> None:
    printing = threading.Lock()

    def say(text: str) -> None:
        with printing:
            console.print(text, markup=False, highlight=False)

    for number, batch in enumerate(batches(settings), start=1):
        say(f"batch {number}: {', '.join(a.name for a in batch)}")
        with ThreadPoolExecutor(max_workers=len(batch)) as pool:
            futures = [pool.submit(work, clients[a], a, say) for a in batch]
            errors = [f.exception() for f in futures]
        failed = [e for e in errors if e is not None]
        if failed:
            if len(failed) > 1:
                say(f"{len(failed)} hosts of batch {number} failed; the first:")
            raise failed[0]


def deploy(
    local: docker.DockerClient,
    settings: DeploySettings,
    images: ReleaseImages,
    environment: Mapping[str, str],
    console: Console,
    *,
    holder: str | None = None,
    message: str = "",
) -> None:
    """Ship `images` to every host and cut each over to it."""
    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    holder = holder or lock.default_holder()
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
        _ship(local, client, settings, images, address, progress, say)
        if settings.release_command:
            cutover.ensure_network(client, settings.app)
            cutover.run_release_command(
                client, settings, version=images.version, environment=environment
            )
            say(f"{address.name}: release command passed")
        cutover.cutover(
            client,
            settings,
            host=address.name,
            version=images.version,
            commit=images.source.commit,
            dirty=images.source.dirty,
            environment=environment,
            proxy_image=images.proxy,
            say=say,
        )
        say(f"{address.name}: serving {images.version}")

    with locked_hosts(settings, holder=holder, message=message) as clients, progress:
        in_batches(settings, clients, one_host, console)


def _ship(
    local: docker.DockerClient,
    client: docker.DockerClient,
    settings: DeploySettings,
    images: ReleaseImages,
    address: HostAddress,
    progress: Progress,
    say: Callable[[str], None],
) -> None:
    for ref in (images.proxy, images.web):
        how = transfer.ship_image(
            local, client, ref, host=address.name, registry=settings.registry, progress=progress
        )
        say(f"{address.name}: {ref} {'already there' if how == 'present' else how}")


def rollback(
    settings: DeploySettings,
    environment: Mapping[str, str],
    console: Console,
    *,
    version: str | None = None,
    holder: str | None = None,
) -> None:
    """Switch every host back to `version` (default: the release before the serving one)."""
    holder = holder or lock.default_holder()

    def one_host(
        client: docker.DockerClient, address: HostAddress, say: Callable[[str], None]
    ) -> None:
        serving = cutover.serving(client, settings.app)
        known = cutover.releases(client, settings.app)
        target = _rollback_target(known, serving, version, address.name)
        proxy = client.api.inspect_container(cutover.proxy_name(settings.app))["Image"]
        cutover.cutover(
            client,
            settings,
            host=address.name,
            version=target.version,
            commit=target.commit,
            dirty=target.dirty,
            environment=environment,
            proxy_image=proxy,
            say=say,
        )
        say(f"{address.name}: rolled back to {target.version}")

    message = f"rollback to {version or 'the previous release'}"
    with locked_hosts(settings, holder=holder, message=message) as clients:
        in_batches(settings, clients, one_host, console)


def _rollback_target(
    known: list[cutover.Release], serving: str | None, version: str | None, host: str
) -> cutover.Release:
    if version is not None:
        for release in known:
            if release.version == version or release.version.startswith(version):
                return release
        kept = ", ".join(r.version for r in known) or "none"
        raise DeployFailed(f"host {host}: no release {version} is kept (kept: {kept})")
    older = [r for r in known if r.container != serving]
    if not older:
        raise DeployFailed(f"host {host}: no earlier release to roll back to")
    return older[0]


def release_locks(settings: DeploySettings, console: Console) -> None:
    """Clear every host's deploy lock (a deploy that died holding it)."""
    from stackctl.deploy.hosts import connect_host

    for address in settings.addresses:
        client = connect_host(address, settings)
        try:
            held = lock.read_lock(client, settings.app)
            if lock.release_lock(client, settings.app) and held is not None:
                console.print(f"{address.name}: released the lock {held.describe()}", markup=False)
            else:
                console.print(f"{address.name}: no lock held", markup=False)
        finally:
            client.close()


def lock_status(settings: DeploySettings) -> dict[str, str]:
    from stackctl.deploy.hosts import connect_host

    status = {}
    for address in settings.addresses:
        client = connect_host(address, settings)
        try:
            held = lock.read_lock(client, settings.app)
        finally:
            client.close()
        status[address.name] = held.describe() if held else "not locked"
    return status


__all__ = ["StackError", "deploy", "lock_status", "release_locks", "rollback"]
