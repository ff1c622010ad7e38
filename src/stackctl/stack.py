"""The stack's operations: up, down, ps, with builds, health waits and logs from their own
modules. Each takes its client; none makes one.

Containers are driven through docker-py's low-level API, which maps one to one onto the Engine
API and so onto compose's own behaviour; the high-level models add requests we do not need.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import docker
from docker.errors import APIError, ImageNotFound, NotFound
from docker.types import Healthcheck, Mount
from rich.console import Console

from stackctl import labels
from stackctl.builds import build_services, remove_superseded_images
from stackctl.compose import Project, ServiceSpec
from stackctl.containers import Container, project_containers
from stackctl.converge import (
    ContainerConfig,
    ServicePlan,
    container_labels,
    container_name,
    image_name,
    network_name,
    plan_service,
    volume_name,
)
from stackctl.errors import StackError
from stackctl.health import LOG_TAIL, HealthWaiter
from stackctl.logs import log_lines
from stackctl.schedule import STARTED, start_in_graph
from stackctl.settings import StackSettings

DEFAULT_STOP_TIMEOUT = 10


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
        return build_services(
            self.client,
            self.project,
            self.settings,
            self.console,
            self._selected(services),
            force=force,
        )

    def _image_id(self, spec: ServiceSpec) -> str:
        reference = image_name(self.project, spec)
        try:
            found: str = self.api.inspect_image(reference)["Id"]
        except ImageNotFound:
            raise StackError(
                f"image {reference!r} of service {spec.name} is not in the engine: "
                f"build it (add `build:` to services.{spec.name}) or load it (`docker load`)"
            ) from None
        return found

    # --- up --------------------------------------------------------------------------------

    def up(
        self, services: Collection[str] = (), *, build: bool = True, wait: bool = True
    ) -> list[ServicePlan]:
        selected = self._with_dependencies(services)
        images = self.build(selected) if build else {}
        self._ensure_network()
        self._ensure_volumes()
        running = self.running()

        def start(name: str) -> ServicePlan:
            spec = self.project.services[name]
            image_id = images.get(name) or self._image_id(spec)
            plan = plan_service(self.project, spec, image_id, running.get(name, []))
            self._apply(plan)
            return plan

        order = [name for name in self.project.start_order() if name in selected]
        # Each service starts once its own dependencies are there, and every wait runs at once
        # (stackctl.schedule): not one service after another.
        with self.console.status(f"starting {len(order)} services"):
            plans = start_in_graph(
                order,
                {
                    name: {
                        d: c.condition for d, c in self.project.services[name].depends_on.items()
                    }
                    for name in order
                },
                start,
                self._reach,
                wait_for=lambda name: wait,
            )
        if any(plan.action == "recreate" for plan in plans):
            # A recreated container let go of its old image: leave no dangling copy behind.
            remove_superseded_images(self.client, self.project.name)
        return plans

    def _reach(self, service: str, condition: str) -> None:
        """Block until the service is healthy (or completed, for a one-off), and say so."""
        if condition == "service_completed_successfully":
            self.health.wait_completed(service)
            self.console.print(f" [green]✔[/] {container_name(self.project, service)}  completed")
            return
        self.health.wait_healthy(service, status=False)
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

    def _apply(self, plan: ServicePlan) -> None:
        name = container_name(self.project, plan.service)
        for extra in plan.extra:
            self._remove(extra.id, plan.service)
        if plan.action == "keep":
            self.console.print(f" [dim]✔ {name}  running[/]")
            return
        if plan.action == "start":
            assert plan.existing is not None
            self.api.start(plan.existing.id)
            self.console.print(f" [green]✔[/] {name}  started")
            return
        if plan.existing is not None:
            self._remove(plan.existing.id, plan.service)
        container_id = self._create(plan, name)
        self.api.start(container_id)
        verb = "recreated" if plan.action == "recreate" else "created"
        self.console.print(f" [green]✔[/] {name}  {verb}")

    def _create(self, plan: ServicePlan, name: str) -> str:
        config: ContainerConfig = plan.config
        host_config = self.api.create_host_config(
            port_bindings={
                port: [(ip, str(published) if published else "") for ip, published in binds]
                for port, binds in config.port_bindings.items()
            },
            mounts=[
                Mount(target=m.target, source=m.source, type=m.type, read_only=m.read_only)
                for m in config.mounts
            ],
            restart_policy=dict(config.restart_policy) or None,
            init=config.init,
            network_mode=config.network,
        )
        networking = self.api.create_networking_config(
            {config.network: self.api.create_endpoint_config(aliases=list(config.aliases))}
        )
        check = config.healthcheck
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
            healthcheck=Healthcheck(
                test=list(check.test),
                interval=check.interval,
                timeout=check.timeout,
                retries=check.retries,
                start_period=check.start_period,
            )
            if check
            else None,
            labels=container_labels(self.project, plan.service, config.config_hash),
            host_config=host_config,
            networking_config=networking,
        )
        container_id: str = created["Id"]
        return container_id

    def _remove(self, container_id: str, service: str) -> None:
        spec = self.project.services.get(service)
        timeout = int(spec.stop_grace_period) if spec and spec.stop_grace_period else None
        try:
            self.api.stop(container_id, timeout=timeout or DEFAULT_STOP_TIMEOUT)
            self.api.remove_container(container_id, force=True)
        except NotFound:
            pass

    def _ensure_network(self) -> None:
        name = network_name(self.project)
        if self.api.networks(names=[name]):
            return
        self.api.create_network(
            name,
            driver="bridge",
            labels={labels.PROJECT: self.project.name, labels.NETWORK: "default"},
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

        def stop_and_remove(service: str) -> None:
            containers = by_service[service]
            with ThreadPoolExecutor(max_workers=max(1, len(containers))) as pool:
                list(pool.map(lambda c: self._remove(c.id, c.service), containers))
            removed.extend(container.name for container in containers)

        # Stopping is mostly waiting for processes to exit: services stop side by side, but each
        # only once the services that depend on it are gone (as compose does). A worker stopped
        # together with its Redis spends its cold shutdown reconnecting to a Redis that is gone,
        # until the engine kills it at its grace period (10 s, measured).
        order = stop_order(self.project, list(by_service))
        start_in_graph(order, dependants(self.project, order), stop_and_remove, _no_wait)
        for name in removed:
            self.console.print(f" [green]✔[/] {name}  removed")
        for network in self.api.networks(
            filters={"label": f"{labels.PROJECT}={self.project.name}"}
        ):
            self._remove_quietly(self.api.remove_network, network["Id"])
            self.console.print(f" [green]✔[/] network {network['Name']}  removed")
        if volumes:
            listed = self.api.volumes(filters={"label": f"{labels.PROJECT}={self.project.name}"})
            for volume in listed.get("Volumes") or []:
                self._remove_quietly(self.api.remove_volume, volume["Name"])
                self.console.print(f" [green]✔[/] volume {volume['Name']}  removed")
        return removed

    @staticmethod
    def _remove_quietly(remove: Callable[[str], Any], name: str) -> None:
        try:
            remove(name)
        except NotFound:
            pass
        except APIError as exc:
            raise StackError(f"cannot remove {name}: {exc.explanation}") from None

    def ps(self) -> list[ServiceStatus]:
        return [
            ServiceStatus(
                service=container.service or "?",
                name=container.name,
                state=container.status,
                health=container.health,
                ports=", ".join(
                    f"{ip}:{published}->{target}/{protocol}"
                    for ip, published, target, protocol in container.published_ports
                ),
            )
            for container in sorted(self.containers(), key=lambda c: c.name)
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
