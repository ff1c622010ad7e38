"""The stack's operations: up, down, ps, with builds, health waits and logs from their own
modules. Each takes its client; none makes one.

Containers are driven through docker-py's low-level API, which maps one to one onto the Engine
API and so onto compose's own behaviour; the high-level models add requests we do not need.
"""

from __future__ import annotations

import contextlib
import io
import tarfile
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import docker
from docker.errors import APIError, ImageNotFound, NotFound
from docker.types import IPAMConfig, IPAMPool, Mount
from rich.console import Console

from stackctl import labels
from stackctl.compose import Project, ServiceSpec
from stackctl.engine import models
from stackctl.engine.healthchecks import create_healthcheck
from stackctl.engine.logs import LOG_TAIL
from stackctl.engine.models import Container, project_containers
from stackctl.engine.readiness import Phase, readiness
from stackctl.errors import StackError
from stackctl.plan.converge import (
    ContainerConfig,
    Endpoint,
    ServicePlan,
    container_labels,
    container_name,
    image_name,
    network_name,
    plan_replicas,
    volume_name,
)
from stackctl.plan.secretmounts import secret_contents
from stackctl.settings import StackSettings
from stackctl.stack.health import HealthWaiter
from stackctl.stack.logs import log_lines
from stackctl.stack.portcheck import engine_is_local, refuse_taken_ports
from stackctl.stack.portholders import port_holders
from stackctl.stack.schedule import STARTED, start_in_graph

DEFAULT_STOP_TIMEOUT = 10
# How long `down` asks again for a network the engine says still has endpoints (see
# _remove_network).
NETWORK_RELEASE_SECONDS = 5.0
# Creates sent at once by `up` (the engine takes them one by one anyway: more only queue).
CREATE_WORKERS = 8


@dataclass(frozen=True)
class ServiceStatus:
    service: str
    name: str
    state: str
    health: str
    ports: str


class Stack:
    def __init__(
        self,
        client: docker.DockerClient,
        project: Project,
        settings: StackSettings,
        console: Console,
    ) -> None:
        self.client = client
        self.api = client.api
        self.project = project
        self.settings = settings
        self.console = console
        self.health = HealthWaiter(self.api, project.name, console, settings.health_timeout)

    # --- what runs -------------------------------------------------------------------------

    def containers(self, service: str | None = None) -> list[Container]:
        return project_containers(self.api, self.project.name, service)

    def running(self) -> dict[str, list[Container]]:
        by_service: dict[str, list[Container]] = {}
        for container in self.containers():
            by_service.setdefault(container.service, []).append(container)
        return by_service

    # --- build -----------------------------------------------------------------------------

    def build(self, services: Collection[str] = (), *, force: bool = False) -> dict[str, str]:
        """Build the services' images whose inputs changed; return service -> image id."""
        # Imported here: builds bring rich's progress and the build-args machinery, which
        # down, ps and logs never use (each command pays its imports at every run).
        from stackctl.images.builds import build_services

        return build_services(
            self.client,
            self.project,
            self.settings,
            self.console,
            self._selected(services),
            force=force,
        )

    def _image_id(self, spec: ServiceSpec, known: dict[str, str] | None = None) -> str:
        """The id of the service's image; `known` keeps the ids already looked up (services
        sharing an image ask the engine once)."""
        reference = image_name(self.project, spec)
        if known is not None and reference in known:
            return known[reference]
        try:
            found = models.inspect_image(self.api, reference).id
        except ImageNotFound:
            raise StackError(
                f"image {reference!r} of service {spec.name} is not in the engine: "
                f"build it (add `build:` to services.{spec.name}) or load it (`docker load`)"
            ) from None
        if known is not None:
            known[reference] = found
        return found

    # --- up --------------------------------------------------------------------------------

    def up(
        self, services: Collection[str] = (), *, build: bool = True, wait: bool = True
    ) -> list[ServicePlan]:
        selected = self._with_dependencies(services)
        self.check_ports(selected)  # before a build that may take minutes
        started = time.monotonic()
        images = self.build(selected) if build else {}
        if time.monotonic() - started > 1.0:
            self.check_ports(selected)  # again: something may have taken a port meanwhile
        self._ensure_networks(selected)
        self._ensure_volumes()
        running = self.running()
        order = [name for name in self.project.start_order() if name in selected]
        image_ids: dict[str, str] = {}  # one inspection per image, however many services use it
        planned = {
            name: plan_replicas(
                self.project,
                self.project.services[name],
                images.get(name) or self._image_id(self.project.services[name], image_ids),
                running.get(name, []),
            )
            for name in order
        }
        # Services whose every container is kept and was ready in the listing above (healthy, or
        # running without a check), and all they depend on too, are settled here: no thread, no
        # wait, no second look at the engine. Asking again (a list and an inspection per
        # service, each in a thread of its own: 201 calls for 100 services) made a no-op up of
        # 100 services 0.60 s; settled, 0.27. A service another needs completed is waited for in
        # the graph, as are the others.
        needs_completion = {
            dependency
            for name in order
            for dependency, needed in self.project.services[name].depends_on.items()
            if needed.condition == "service_completed_successfully"
        }
        settled: list[str] = []
        for name in order:  # dependencies first
            spec = self.project.services[name]
            if (
                planned[name]
                and name not in needs_completion
                and all(_kept_ready(plan) for plan in planned[name])
                and all(d in settled or d not in selected for d in spec.depends_on)
            ):
                settled.append(name)
        for name in settled:
            for plan in planned[name]:
                self._apply(plan)  # only scaled-down extras to remove
            if wait:
                self.console.print(f" [green]✔[/] {container_name(self.project, name)}  healthy")

        def start(name: str) -> list[ServicePlan]:
            for plan in planned[name]:
                self._apply(plan, created.pop((plan.service, plan.number), None))
            return planned[name]

        plans = [plan for name in order for plan in planned[name]]
        pending = [name for name in order if name not in settled]
        if not pending:
            return plans  # nothing to start or wait for: no event stream, no threads
        # Containers new to the project are created before anything starts, side by side, as
        # compose v2 does: a create needs nothing of what the service depends on, so each level
        # of dependencies then waits for its starts only. Created inside the graph, each level
        # waited for its creates too: 13.7 against v2's 12.2 s of engine time for 100 services in
        # 10 levels (docker events).
        created = self._create_new([plan for name in pending for plan in planned[name]])
        with (
            self.health.watching(),
            ThreadPoolExecutor(1, thread_name_prefix="prune") as pruning,
            self._removing_unstarted(created),
        ):
            with self.console.status(f"starting {len(pending)} services"):
                start_in_graph(
                    pending,
                    {
                        name: {
                            d: c.condition
                            for d, c in self.project.services[name].depends_on.items()
                        }
                        for name in pending
                    },
                    start,
                    self._reach,
                    # A service scaled to 0 has nothing to wait for; one that another needs
                    # completed is waited for until it completes, not for health (an exit 0 is
                    # its success), as compose v2's --wait does.
                    wait_for=lambda name: (
                        wait
                        and self.project.services[name].replicas > 0
                        and name not in needs_completion
                    ),
                )
            removal = None
            if any(plan.action == "recreate" for plan in plans):
                # A recreated container let go of its old image: leave no dangling copy behind.
                # Beside the wait below (removing layers took 0.3 s of a source change's 3.2).
                from stackctl.images.builds import remove_superseded_images

                removal = pruning.submit(remove_superseded_images, self.client, self.project.name)
            # Every service was found healthy by its check's own run (stackctl.stack.health): `up`
            # ends there, not at Docker's first run of the same command, an interval after the
            # start (1 s of every source change and cold up here); `ps` runs the check of a
            # container Docker still calls starting, so it agrees with what `up` printed.
            if removal is not None:
                removal.result()
        return plans

    def check_ports(self, services: Collection[str]) -> None:
        """Refuse (PortTaken) before any change if a port the services publish is taken."""
        refuse_taken_ports(
            self.project,
            services,
            lambda: port_holders(self.client),
            local=engine_is_local(self.settings.docker_host),
        )

    def _reach(self, service: str, condition: str) -> None:
        """Block until the service is healthy (or completed, for a one-off), and say so."""
        if condition == "service_completed_successfully":
            self.health.wait_completed(service)
            self.console.print(f" [green]✔[/] {container_name(self.project, service)}  completed")
            return
        self.health.wait_healthy(service, status=False, own_check=True)
        self.console.print(f" [green]✔[/] {container_name(self.project, service)}  healthy")

    def _with_dependencies(self, services: Collection[str]) -> set[str]:
        selected = set(self._selected(services))
        todo = list(selected)
        while todo:
            for dependency in self.project.services[todo.pop()].depends_on:
                if dependency not in selected:
                    selected.add(dependency)
                    todo.append(dependency)
        return selected

    def _selected(self, services: Collection[str]) -> list[str]:
        unknown = [s for s in services if s not in self.project.services]
        if unknown:
            known = ", ".join(self.project.services)
            raise StackError(
                f"no service {unknown[0]!r} in {self.project.compose_file.name} (services: {known})"
            )
        return list(services) or list(self.project.services)

    def _create_new(self, plans: list[ServicePlan]) -> dict[tuple[str, int], str]:
        """Create the containers of `plans` that have none yet, side by side; return their ids
        by (service, number). A service joining another's network namespace (`service:NAME`)
        is left to its turn: it needs that container first. One create failing removes the
        others made here and raises: nothing is left half-made."""
        new = [
            plan
            for plan in plans
            if plan.action == "create"
            and plan.number > 0
            and not plan.config.network.startswith("service:")
        ]
        if not new:
            return {}
        made: dict[tuple[str, int], str] = {}
        failures: list[BaseException] = []
        with ThreadPoolExecutor(min(len(new), CREATE_WORKERS), thread_name_prefix="create") as pool:
            futures = {
                pool.submit(
                    self._create, plan, container_name(self.project, plan.service, plan.number)
                ): plan
                for plan in new
            }
            for future, plan in futures.items():
                try:
                    made[(plan.service, plan.number)] = future.result()
                except BaseException as error:  # raised below, once the others are removed
                    failures.append(error)
        if failures:
            self._discard(made.values())
            raise failures[0]
        return made

    @contextlib.contextmanager
    def _removing_unstarted(self, created: dict[tuple[str, int], str]) -> Iterator[None]:
        """When the block fails, the containers of `created` still in it (made ahead by
        _create_new, never started: what depends on a service that failed) are removed, as if
        `up` had never reached them."""
        try:
            yield
        except BaseException:
            self._discard(created.values())
            raise

    def _discard(self, container_ids: Iterable[str]) -> None:
        """Remove containers made ahead and never started, anonymous volumes and all. An engine
        refusal here is not raised: the failure that led here is the one to report."""
        for container_id in container_ids:
            with contextlib.suppress(APIError):
                self._delete(container_id, volumes=True)

    def _apply(self, plan: ServicePlan, created: str | None = None) -> None:
        """Bring one replica to its plan; `created`: its container, made by _create_new."""
        name = container_name(self.project, plan.service, plan.number)
        for extra in plan.extra:
            self._remove(extra.id, plan.service)
            self.console.print(f" [green]✔[/] {extra.name}  removed (scaled down)")
        if plan.number == 0:
            return
        if plan.action == "keep":
            self.console.print(f" [dim]✔ {name}  running[/]")
            return
        if plan.action == "start":
            assert plan.existing is not None
            self.api.start(plan.existing.id)
            self.console.print(f" [green]✔[/] {name}  started")
            return
        if plan.existing is None:
            container_id = created or self._create(plan, name)
        else:
            container_id = self._replace(plan, plan.existing, name)
        self.api.start(container_id)
        verb = "recreated" if plan.action == "recreate" else "created"
        self.console.print(f" [green]✔[/] {name}  {verb}")

    def _replace(self, plan: ServicePlan, existing: Container, name: str) -> str:
        """Create the new container while the old one still runs, under a temporary name (as
        compose v2 does), then stop and remove the old one and rename: the service is down only
        from the old one's stop to the new one's start, and a create that fails leaves the old
        one running. A fixed address (ipv4/ipv6_address) cannot be held twice: remove first."""
        anonymous = self._volumes_by_target(existing.id)
        if any(e.ipv4_address or e.ipv6_address for e in plan.config.endpoints):
            self._remove(existing.id, plan.service)
            return self._create(plan, name, anonymous)
        container_id = self._create(plan, f"{existing.id[:12]}_{name}", anonymous)
        try:
            self._remove(existing.id, plan.service)
            self.api.rename(container_id, name)
        except BaseException:
            with contextlib.suppress(APIError, NotFound):
                self.api.remove_container(container_id, force=True)
            raise
        return container_id

    def _volumes_by_target(self, container_id: str) -> dict[str, str]:
        """The container's volumes by container path: a recreated container gets its anonymous
        volumes back, data and all, as compose v2 does."""
        try:
            return models.inspect_container(self.api, container_id).volumes
        except NotFound:
            return {}

    def _anonymous_volumes(self, container: Container) -> list[str]:
        """The engine names of the container's anonymous volumes (by the service's targets)."""
        spec = self.project.services.get(container.service)
        mounts = spec.volumes if spec else []
        targets = {m.target for m in mounts if m.type == "volume" and not m.source}
        if not targets:
            return []
        found = self._volumes_by_target(container.id)
        return [name for target, name in found.items() if target in targets]

    def _create(
        self, plan: ServicePlan, name: str, anonymous: Mapping[str, str] | None = None
    ) -> str:
        anonymous = anonymous or {}
        config: ContainerConfig = plan.config
        endpoints = config.endpoints
        host_config = self.api.create_host_config(
            port_bindings={
                port: [(ip, str(published) if published else "") for ip, published in binds]
                for port, binds in config.port_bindings.items()
            },
            mounts=[
                Mount(
                    target=m.target,
                    source=m.source or anonymous.get(m.target, ""),
                    type=m.type,
                    read_only=m.read_only,
                )
                for m in config.mounts
            ],
            restart_policy=dict(config.restart_policy) or None,
            init=config.init,
            network_mode=self._network_mode(config.network),
            **config.host_options,
        )
        # The Engine API before 1.44 takes one network at create: the others are connected
        # before the container starts, as compose v2 does.
        networking = (
            self.api.create_networking_config({endpoints[0].network: self._endpoint(endpoints[0])})
            if endpoints
            else None
        )
        created = self.api.create_container(
            image=config.image,
            name=name,
            command=None if config.command is None else list(config.command),
            entrypoint=None if config.entrypoint is None else list(config.entrypoint),
            environment=dict(config.environment),
            working_dir=config.working_dir,
            user=config.user or "",
            stop_signal=config.stop_signal,
            stop_timeout=config.stop_timeout,
            ports=list(config.ports),
            healthcheck=create_healthcheck(config.healthcheck),
            labels=container_labels(self.project, plan.service, config.config_hash, plan.number),
            host_config=host_config,
            networking_config=networking,
            **config.create_options,
        )
        container_id = models.created_id(created)
        for endpoint in endpoints[1:]:
            self.api.connect_container_to_network(
                container_id,
                endpoint.network,
                aliases=list(endpoint.aliases),
                ipv4_address=endpoint.ipv4_address,
                ipv6_address=endpoint.ipv6_address,
            )
        self._copy_secrets(container_id, self.project.services[plan.service])
        return container_id

    def _endpoint(self, endpoint: Endpoint) -> Any:
        return self.api.create_endpoint_config(
            aliases=list(endpoint.aliases),
            ipv4_address=endpoint.ipv4_address,
            ipv6_address=endpoint.ipv6_address,
        )

    def _network_mode(self, mode: str) -> str:
        """`service:NAME` as the engine takes it: the container of that service."""
        if not mode.startswith("service:"):
            return mode
        service = mode.partition(":")[2]
        found = self.containers(service)
        if not found:
            raise StackError(
                f"network_mode {mode}: service {service} has no container: bring it up first"
            )
        return f"container:{found[0].id}"

    def _copy_secrets(self, container_id: str, spec: ServiceSpec) -> None:
        """`environment:` secrets as read-only files in the created, not yet started container."""
        contents = secret_contents(self.project, spec)
        if not contents:
            return
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w") as tar:
            for target, content in contents:
                info = tarfile.TarInfo(target.lstrip("/"))
                info.size, info.mode = len(content), 0o444
                tar.addfile(info, io.BytesIO(content))
        self.api.put_archive(container_id, "/", archive.getvalue())

    def _remove(self, container_id: str, service: str, *, volumes: bool = False) -> None:
        """Stop and remove; `volumes` also removes its anonymous volumes (as `down -v`)."""
        self._stop(container_id, service)
        self._delete(container_id, volumes=volumes)

    def _delete(self, container_id: str, *, volumes: bool = False) -> None:
        """Remove a (stopped) container, gone already or not."""
        with contextlib.suppress(NotFound):
            self.api.remove_container(container_id, force=True, v=volumes)

    def _stop(self, container_id: str, service: str) -> None:
        """Stop with the service's signal, killed after its grace period (as `docker stop`)."""
        spec = self.project.services.get(service)
        timeout = int(spec.stop_grace_period) if spec and spec.stop_grace_period else None
        with contextlib.suppress(NotFound):
            self.api.stop(container_id, timeout=timeout or DEFAULT_STOP_TIMEOUT)

    def _ensure_networks(self, services: Collection[str]) -> None:
        """The networks the services join: the project's are created, external ones must exist."""
        used = dict.fromkeys(
            network for name in services for network in self.project.services[name].networks
        )
        for key in used:
            spec = self.project.networks[key]
            name = network_name(self.project, key)
            if any(found.name == name for found in models.networks(self.api, names=[name])):
                continue
            if spec.external:
                raise StackError(
                    f"external network {name} (networks.{key}) does not exist:"
                    f" create it (`docker network create {name}`) or drop `external`"
                )
            self.api.create_network(
                name,
                driver=spec.driver or "bridge",
                options=dict(spec.driver_opts) or None,
                internal=spec.internal,
                attachable=spec.attachable,
                ipam=IPAMConfig(
                    driver=spec.ipam.driver or "default",
                    pool_configs=[
                        IPAMPool(subnet=pool.subnet, gateway=pool.gateway, iprange=pool.ip_range)
                        for pool in spec.ipam.config
                    ],
                )
                if spec.ipam
                else None,
                labels={**spec.labels, labels.PROJECT: self.project.name, labels.NETWORK: key},
            )

    def _ensure_volumes(self) -> None:
        for key, volume in self.project.volumes.items():
            name = volume_name(self.project, key)
            try:
                self.api.inspect_volume(name)
            except NotFound:
                self.api.create_volume(
                    name,
                    driver=volume.driver,
                    labels={**volume.labels, labels.PROJECT: self.project.name, labels.VOLUME: key},
                )

    # --- health ----------------------------------------------------------------------------

    def wait_healthy(self, service: str, timeout: float | None = None) -> None:
        """Wait until the service's container is healthy (or running, without a healthcheck)."""
        self.health.wait_healthy(service, timeout)

    def wait_completed(self, service: str, timeout: float | None = None) -> None:
        self.health.wait_completed(service, timeout)

    def log_tail(self, service: str, lines: int = LOG_TAIL) -> list[str]:
        return self.health.log_tail(service, lines)

    # --- down, ps, logs --------------------------------------------------------------------

    def down(self, *, volumes: bool = False) -> list[str]:
        """Stop and remove the project's containers and network (and volumes); return names."""
        by_service: dict[str, list[Container]] = {}
        for container in self.containers():
            by_service.setdefault(container.service, []).append(container)
        removed: list[str] = []

        def remove_one(container: Container) -> None:
            anonymous = self._anonymous_volumes(container) if volumes else []
            self._delete(container.id, volumes=volumes)
            for name in anonymous:
                # `rm -v` spares a volume mounted by name, as one kept across a recreate is.
                with contextlib.suppress(NotFound, APIError):
                    self.api.remove_volume(name)

        # Stopping is mostly waiting for processes to exit: services stop side by side, but each
        # only once the services that depend on it have stopped (as compose does). A worker
        # stopped together with its Redis spends its cold shutdown reconnecting to a Redis that
        # is gone, until the engine kills it at its grace period (10 s, measured). Removing a
        # stopped container is off that path: it runs beside the stops that follow.
        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="rm") as removals:
            removing: list[Future[None]] = []

            def stop(service: str) -> None:
                containers = by_service[service]
                with ThreadPoolExecutor(max_workers=max(1, len(containers))) as pool:
                    list(pool.map(lambda c: self._stop(c.id, c.service), containers))
                removing.extend(removals.submit(remove_one, c) for c in containers)
                removed.extend(container.name for container in containers)

            order = stop_order(self.project, list(by_service))
            try:
                start_in_graph(order, dependants(self.project, order), stop, _no_wait)
            finally:
                for removal in removing:
                    removal.result()
        for name in removed:
            self.console.print(f" [green]✔[/] {name}  removed")
        project_label = {"label": f"{labels.PROJECT}={self.project.name}"}
        for network in models.networks(self.api, filters=project_label):
            held_by = self._remove_network(network.id, network.name)
            if held_by is None:
                self.console.print(f" [green]✔[/] network {network.name}  removed")
            else:
                self.console.print(f" [yellow]![/] network {network.name}  kept: {held_by}")
        if volumes:
            for volume in models.volumes(self.api, filters=project_label):
                self._remove_quietly(self.api.remove_volume, volume.name)
                self.console.print(f" [green]✔[/] volume {volume.name}  removed")
        return removed

    def _remove_network(self, network_id: str, name: str) -> str | None:
        """Remove a network (gone already or not); None once removed, else why it stays.

        The engine can refuse with "has active endpoints" for a moment after the containers on
        it were removed (it counts their endpoints apart), and Docker 20.10 sometimes keeps such a
        count for good (moby#43286: nothing attached, removable only after dockerd restarts).
        Asked again for a bounded while, as `down` has removed everything else by then; a network
        that stays is left in place with the reason, as compose v2 does ("Resource is still in
        use"), and the next `up` joins it again."""
        deadline = time.monotonic() + NETWORK_RELEASE_SECONDS
        while True:
            try:
                self.api.remove_network(network_id)
                return None
            except NotFound:
                return None
            except APIError as exc:
                if "active endpoints" not in str(exc.explanation or exc):
                    raise StackError(f"cannot remove {name}: {exc.explanation}") from None
            if time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        try:
            attached = models.network_containers(self.api, network_id)
        except NotFound:
            return None
        if attached:
            return f"still used by {', '.join(sorted(attached))}"
        return (
            "the engine still counts an endpoint on it with no container attached (a Docker"
            " bug, moby#43286): restarting dockerd frees it"
        )

    @staticmethod
    def _remove_quietly(remove: Callable[[str], Any], name: str) -> None:
        try:
            remove(name)
        except NotFound:
            pass
        except APIError as exc:
            raise StackError(f"cannot remove {name}: {exc.explanation}") from None

    def ps(self) -> list[ServiceStatus]:
        """Each container's state and health. Docker runs a container's first health check an
        interval after its start and says "starting" until then, though `up` (which ran the same
        command itself) found it healthy: such a container's check is run once now, side by
        side, and its answer shown."""
        containers = sorted(self.containers(), key=lambda c: c.name)
        starting = [c.id for c in containers if readiness(c) is Phase.STARTING]
        passing: set[str] = set()
        if starting:
            with ThreadPoolExecutor(max_workers=len(starting)) as pool:
                answers = pool.map(self.health.check_now, starting)
                passing = {found for found, passed in zip(starting, answers, strict=True) if passed}
        return [
            ServiceStatus(
                service=container.service or "?",
                name=container.name,
                state=container.status,
                health="healthy" if container.id in passing else container.health,
                ports=", ".join(
                    f"{ip}:{published}->{target}/{protocol}"
                    for ip, published, target, protocol in container.published_ports
                ),
            )
            for container in containers
        ]

    def logs(
        self, services: Collection[str] = (), *, follow: bool = False, tail: int | None = None
    ) -> Iterator[str]:
        """Log lines, each prefixed with its service; interleaved as they come when following."""
        sources = [(name, c.id) for name in self._selected(services) for c in self.containers(name)]
        return log_lines(self.api, sources, follow=follow, tail=tail)


def stop_order(project: Project, services: list[str]) -> list[str]:
    """The services' stop order: dependants first (the start order reversed); services compose.yaml
    no longer names (orphans) come first, depending on nothing."""
    known = [name for name in reversed(project.start_order()) if name in services]
    return [name for name in services if name not in known] + known


def dependants(project: Project, services: list[str]) -> dict[str, dict[str, str]]:
    """For each service, the services that depend on it, as what its stop waits for."""
    waits: dict[str, dict[str, str]] = {name: {} for name in services}
    for name in services:
        spec = project.services.get(name)
        for dependency in spec.depends_on if spec else {}:
            if dependency in waits:
                waits[dependency][name] = STARTED
    return waits


def _no_wait(service: str, condition: str) -> None:
    """Stopping waits for nothing but the stops before it (every condition is STARTED)."""


def _kept_ready(plan: ServicePlan) -> bool:
    """A container kept as it runs, and ready by the listing that found it (healthy, or running
    without a check: Docker's status line says which)."""
    return plan.action == "keep" and plan.existing is not None and readiness(plan.existing).ready
