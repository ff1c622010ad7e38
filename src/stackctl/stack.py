"""The stack's operations: build, up, down, ps, logs. Each takes its client; none makes one.

Containers are driven through docker-py's low-level API, which maps one to one onto the Engine
API and so onto compose's own behaviour; the high-level models add requests we do not need.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, Queue
from typing import Any

import docker
from docker.errors import APIError, ImageNotFound, NotFound
from docker.types import Healthcheck, Mount
from rich.console import Console

from stackctl import labels
from stackctl.compose import Project, ServiceSpec
from stackctl.contexthash import context_hash, files_digest
from stackctl.converge import (
    RunningContainer,
    ServicePlan,
    container_labels,
    container_name,
    image_name,
    network_name,
    plan_service,
    volume_name,
)
from stackctl.errors import ServiceUnhealthy, StackError
from stackctl.images import build_image, buildargs_for, copied_sources
from stackctl.settings import StackSettings

LOG_TAIL = 20
FINGERPRINT_PREFIX = "inputs-"


def repository_of(tag: str) -> str:
    """`registry:5000/aliecs/web:latest` -> `registry:5000/aliecs/web` (a port is no tag)."""
    return tag.rsplit(":", 1)[0] if ":" in tag.rsplit("/", 1)[-1] else tag


def fingerprint_tag(tag: str, fingerprint: str) -> str:
    """`aliecs/web:latest` built from inputs abc... is also tagged `aliecs/web:inputs-abc...`."""
    return f"{repository_of(tag)}:{FINGERPRINT_PREFIX}{fingerprint[:20]}"


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

    # --- what runs -------------------------------------------------------------------------

    def containers(self, service: str | None = None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.api.containers(
            all=True, filters=labels.project_filter(self.project.name, service)
        )
        return found

    def running(self) -> dict[str, list[RunningContainer]]:
        by_service: dict[str, list[RunningContainer]] = {}
        for container in self.containers():
            container_labels_ = container.get("Labels") or {}
            service = container_labels_.get(labels.SERVICE, "")
            by_service.setdefault(service, []).append(
                RunningContainer(
                    id=container["Id"],
                    service=service,
                    config_hash=container_labels_.get(labels.CONFIG_HASH, ""),
                    state=container.get("State", ""),
                )
            )
        return by_service

    # --- build -----------------------------------------------------------------------------

    def build(self, services: Collection[str] = (), *, force: bool = False) -> dict[str, str]:
        """Build the services' images whose inputs changed; return service -> image id."""
        buildargs = buildargs_for(self.settings)
        built: dict[tuple[str, ...], str] = {}
        files: dict[tuple[Path, Path], str] = {}
        images: dict[str, str] = {}
        for name in self._selected(services):
            spec = self.project.services[name]
            if spec.build is None:
                continue
            args = {**buildargs, **spec.build.args}
            context = spec.build.context
            dockerfile = context / spec.build.dockerfile
            key_files = (context, dockerfile)
            if key_files not in files:
                # Services often share a Dockerfile (web and worker): hash its inputs once.
                sources = copied_sources(dockerfile.read_text(encoding="utf-8"))
                files[key_files] = files_digest(
                    context, None if sources is None else [*sources, spec.build.dockerfile]
                )
            fingerprint = context_hash(
                files[key_files], spec.build.dockerfile, args, spec.build.target
            )
            tag = image_name(self.project, spec)
            key = (fingerprint, tag)
            if key in built:
                images[name] = built[key]
                continue
            current = None if force else self._image_with_hash(tag, fingerprint)
            if current is not None:
                images[name] = built[key] = current
                continue
            self.console.print(f"[bold]building[/] {name} → {tag}")
            images[name] = built[key] = build_image(
                self.client,
                context=spec.build.context,
                dockerfile=spec.build.dockerfile,
                tag=tag,
                buildargs=args,
                target=spec.build.target,
                labels={labels.PROJECT: self.project.name},
                console=self.console,
                service=name,
            )
            self._mark_built(tag, fingerprint)
        return images

    def _image_with_hash(self, tag: str, fingerprint: str) -> str | None:
        """The image last built from these inputs, if `tag` still points at it."""
        try:
            marked = self.api.inspect_image(fingerprint_tag(tag, fingerprint))
            current = self.api.inspect_image(tag)
        except ImageNotFound:
            return None
        found: str = current["Id"]
        return found if marked["Id"] == found else None

    def _mark_built(self, tag: str, fingerprint: str) -> None:
        """Tag the image with its inputs' fingerprint, dropping the marks of older builds.

        A tag, not a label: a label is part of the image config, so it would give every build a
        new image id and recreate containers whose image did not really change.
        """
        repository = repository_of(tag)
        mark = fingerprint_tag(tag, fingerprint)
        for image in self.api.images(name=repository):
            for old in image.get("RepoTags") or []:
                if old.startswith(f"{repository}:{FINGERPRINT_PREFIX}") and old != mark:
                    # force: only this reference goes; a container may still use the image.
                    self.api.remove_image(old, force=True, noprune=True)
        self.api.tag(tag, repository, mark.rsplit(":", 1)[1])

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
        plans: list[ServicePlan] = []
        for name in self.project.start_order():
            if name not in selected:
                continue
            spec = self.project.services[name]
            self._wait_for_dependencies(spec)
            image_id = images.get(name) or self._image_id(spec)
            plan = plan_service(self.project, spec, image_id, running.get(name, []))
            self._apply(plan)
            plans.append(plan)
        if wait:
            for plan in plans:
                self.wait_healthy(plan.service)
        return plans

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
        desired = plan.desired
        host = desired["host"]
        mounts = [
            Mount(target=m["target"], source=m["source"], type=m["type"], read_only=m["read_only"])
            for m in host["mounts"]
        ]
        host_config = self.api.create_host_config(
            port_bindings={
                port: [(ip, str(published) if published else "") for ip, published in binds]
                for port, binds in host["port_bindings"].items()
            },
            mounts=mounts,
            restart_policy=host["restart_policy"] or None,
            init=host["init"],
            network_mode=desired["network"],
        )
        networking = self.api.create_networking_config(
            {desired["network"]: self.api.create_endpoint_config(aliases=desired["aliases"])}
        )
        healthcheck = Healthcheck(**desired["healthcheck"]) if desired["healthcheck"] else None
        created = self.api.create_container(
            image=desired["image"],
            name=name,
            command=desired["command"],
            entrypoint=desired["entrypoint"],
            environment=desired["environment"],
            working_dir=desired["working_dir"],
            user=desired["user"] or "",
            stop_signal=desired["stop_signal"],
            stop_timeout=desired["stop_timeout"],
            ports=[tuple(p) for p in desired["ports"]],
            healthcheck=healthcheck,
            labels=container_labels(self.project, plan.service, plan.config_hash),
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

    def _wait_for_dependencies(self, spec: ServiceSpec) -> None:
        for dependency, condition in spec.depends_on.items():
            if condition.condition == "service_healthy":
                self.wait_healthy(dependency)
            elif condition.condition == "service_completed_successfully":
                self.wait_completed(dependency)

    def _container_of(self, service: str) -> dict[str, Any]:
        found = self.containers(service)
        if not found:
            raise ServiceUnhealthy(f"service {service} has no container: run `invoke up`")
        inspected: dict[str, Any] = self.api.inspect_container(found[0]["Id"])
        return inspected

    def wait_healthy(self, service: str, timeout: float | None = None) -> None:
        """Wait until the service's container is healthy (or running, without a healthcheck)."""
        deadline = time.monotonic() + (timeout or self.settings.health_timeout)
        with self.console.status(f"waiting for {service} to be healthy"):
            while True:
                state = self._container_of(service)["State"]
                health = (state.get("Health") or {}).get("Status")
                if health in (None, "healthy") and state.get("Running"):
                    return
                if not state.get("Running") and state.get("Status") in ("exited", "dead"):
                    self._fail(service, f"exited with code {state.get('ExitCode')}")
                if health == "unhealthy":
                    self._fail(service, "is unhealthy")
                if time.monotonic() > deadline:
                    self._fail(
                        service,
                        f"was not healthy within {timeout or self.settings.health_timeout:.0f} s",
                    )
                time.sleep(0.2)

    def wait_completed(self, service: str, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or self.settings.health_timeout)
        while True:
            state = self._container_of(service)["State"]
            if not state.get("Running"):
                if state.get("ExitCode") == 0:
                    return
                self._fail(service, f"exited with code {state.get('ExitCode')}")
            if time.monotonic() > deadline:
                self._fail(service, "did not complete in time")
            time.sleep(0.2)

    def _fail(self, service: str, what: str) -> None:
        tail = self.log_tail(service)
        raise ServiceUnhealthy(
            f"service {service} {what}; its last log lines: `invoke logs {service} --tail 50`",
            log_tail=tail,
        )

    def log_tail(self, service: str, lines: int = LOG_TAIL) -> list[str]:
        found = self.containers(service)
        if not found:
            return []
        raw: bytes = self.api.logs(found[0]["Id"], tail=lines)
        return raw.decode("utf-8", "replace").splitlines()

    # --- down, ps, logs --------------------------------------------------------------------

    def down(self, *, volumes: bool = False) -> list[str]:
        """Stop and remove the project's containers and network (and volumes); return names."""
        containers = self.containers()
        removed: list[str] = []

        def stop_and_remove(container: dict[str, Any]) -> None:
            service = (container.get("Labels") or {}).get(labels.SERVICE, "")
            self._remove(container["Id"], service)
            removed.append(container["Names"][0].lstrip("/"))

        # Stopping is mostly waiting for processes to exit: do it for all services at once.
        with ThreadPoolExecutor(max_workers=max(1, len(containers))) as pool:
            list(pool.map(stop_and_remove, containers))
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
        rows = []
        for container in sorted(self.containers(), key=lambda c: c["Names"][0]):
            container_labels_ = container.get("Labels") or {}
            status = container.get("Status", "")
            health = ""
            for word in ("healthy", "unhealthy", "starting"):
                if f"({word}" in status:
                    health = word
                    break
            ports = ", ".join(
                f"{p.get('IP', '')}:{p['PublicPort']}->{p['PrivatePort']}/{p['Type']}"
                for p in container.get("Ports", [])
                if p.get("PublicPort")
            )
            rows.append(
                ServiceStatus(
                    service=container_labels_.get(labels.SERVICE, "?"),
                    name=container["Names"][0].lstrip("/"),
                    state=container.get("State", ""),
                    health=health,
                    ports=ports,
                )
            )
        return rows

    def logs(
        self, services: Collection[str] = (), *, follow: bool = False, tail: int | None = None
    ) -> Iterator[str]:
        """Log lines, each prefixed with its service; interleaved as they come when following."""
        chosen = self._selected(services)
        sources = [(name, c["Id"]) for name in chosen for c in self.containers(name)]
        width = max((len(name) for name, _ in sources), default=0)

        def read(service: str, container_id: str) -> Iterator[str]:
            buffer = b""
            prefix = f"{service.ljust(width)} | "
            for chunk in self.api.logs(
                container_id, stream=True, follow=follow, tail=tail if tail is not None else "all"
            ):
                buffer += chunk
                *complete, buffer = buffer.split(b"\n")
                for line in complete:
                    yield prefix + line.decode("utf-8", "replace")
            if buffer:
                yield prefix + buffer.decode("utf-8", "replace")

        if not follow:
            # Each service's lines together, in order.
            for source in sources:
                yield from read(*source)
            return

        lines: Queue[str | None] = Queue()

        def pump(service: str, container_id: str) -> None:
            try:
                for line in read(service, container_id):
                    lines.put(line)
            finally:
                lines.put(None)

        for source in sources:
            threading.Thread(target=pump, args=source, daemon=True).start()
        finished = 0
        while finished < len(sources):
            try:
                # A timeout keeps Ctrl-C responsive while every service is quiet.
                line = lines.get(timeout=0.5)
            except Empty:
                continue
            if line is None:
                finished += 1
            else:
                yield line
