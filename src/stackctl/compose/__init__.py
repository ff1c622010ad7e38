"""compose.yaml as typed, validated data: the project that stackctl converges Docker to.

Only a subset of the Compose specification is supported, and every key outside it is an error
that names it, so a file never means more to `docker compose` than it means to stackctl.
`load_project` reads the file (`reader`), builds the model (`models`) and checks what no one
service can say alone: dependencies, host ports, container names, the project's name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping, Sequence
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from pydantic import ValidationError

from stackctl.compose.models import (
    FOLDED_SERVICE_KEYS,
    SERVICE_KEYS,
    BuildSpec,
    DependencyCondition,
    DependsOn,
    DeploySpec,
    HealthcheckSpec,
    IpamPool,
    IpamSpec,
    LoggingSpec,
    MountSpec,
    NetworkSpec,
    PortSpec,
    Project,
    ResourceSpec,
    ResourcesSpec,
    SecretSpec,
    ServiceNetwork,
    ServiceSecret,
    ServiceSpec,
    Ulimit,
    VolumeSpec,
)
from stackctl.compose.reader import ComposeReader, ServiceFields, directory_project_name, show

__all__ = [
    "FOLDED_SERVICE_KEYS",
    "SERVICE_KEYS",
    "BuildSpec",
    "DependencyCondition",
    "DependsOn",
    "DeploySpec",
    "HealthcheckSpec",
    "IpamPool",
    "IpamSpec",
    "LoggingSpec",
    "MountSpec",
    "NetworkSpec",
    "PortSpec",
    "Project",
    "ResourceSpec",
    "ResourcesSpec",
    "SecretSpec",
    "ServiceNetwork",
    "ServiceSecret",
    "ServiceSpec",
    "Ulimit",
    "VolumeSpec",
    "load_project",
]

_PROJECT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def load_project(
    compose_file: Path,
    environ: Mapping[str, str],
    *,
    project_name: str | None = None,
    profiles: Collection[str] = (),
    overrides: Sequence[Path] = (),
    services: Collection[str] = (),
) -> Project:
    """Reads `compose_file` and the `.env` beside it, interpolates and validates.

    Variables come from `environ` layered over `.env` (`environ` wins). Services with profiles
    none of which is in `profiles` are left out, unless named in `services` (a service named on
    the command line is started whatever its profiles, as in compose v2). The project name is
    `project_name`, else the file's `name`, else the directory's name. `overrides` are merged
    over the file in order, as `docker compose -f compose.yaml -f override.yaml` merges them.
    """
    compose_file = Path(os.path.abspath(compose_file))
    reader = ComposeReader(
        compose_file,
        environ,
        [Path(os.path.abspath(p)) for p in overrides],
        service_keys=SERVICE_KEYS,
        project_name=project_name,
    )
    document = reader.read()
    specs = {
        name: _service_spec(reader, fields) for name, fields in reader.services(document).items()
    }
    _check_dependencies(reader, specs)
    active = {
        name: spec for name, spec in specs.items() if _is_active(spec, profiles) or name in services
    }
    _check_active_dependencies(reader, active, specs)
    _check_published_ports(reader, active)
    _check_container_names(reader, active)
    networks = {
        name: NetworkSpec.model_validate({"name": name, **fields})
        for name, fields in reader.networks(document).items()
    }
    if any("default" in spec.networks for spec in active.values()):
        networks.setdefault("default", NetworkSpec(name="default"))
    return Project(
        name=_project_name(reader, project_name, document.get("name"), compose_file.parent),
        services=active,
        volumes={
            name: VolumeSpec.model_validate({"name": name, **fields})
            for name, fields in reader.volumes(document).items()
        },
        compose_file=compose_file,
        project_dir=compose_file.parent,
        secrets={
            name: SecretSpec.model_validate(fields)
            for name, fields in reader.secrets(document).items()
        },
        networks=networks,
    )


def _service_spec(reader: ComposeReader, fields: ServiceFields) -> ServiceSpec:
    try:
        return ServiceSpec.model_validate(fields.values)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            path = fields.path + "".join(
                f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]
            )
            problems.append(f"{path}: invalid value {show(error['input'])}: {error['msg']}")
        reader.fail("", "; ".join(problems))


def _check_dependencies(reader: ComposeReader, services: Mapping[str, ServiceSpec]) -> None:
    for name, spec in services.items():
        for dependency, depends_on in spec.depends_on.items():
            path = reader.dependency_paths[(name, dependency)]
            if dependency == name:
                reader.fail(path, f"{name} depends on itself: remove {show(dependency)}")
            if dependency not in services:
                known = ", ".join(services)
                reader.fail(path, f"unknown service {show(dependency)} (services: {known})")
            healthcheck = services[dependency].healthcheck
            if depends_on.condition == "service_healthy" and (
                healthcheck is None or healthcheck.disabled
            ):
                reader.fail(
                    path,
                    f"condition service_healthy, but {show(dependency)} has no healthcheck:"
                    f" add one to services.{dependency} or use service_started",
                )
    cycle = _first_cycle(services)
    if cycle:
        reader.fail(f"services.{cycle[0]}.depends_on", f"dependency cycle: {' -> '.join(cycle)}")


def _first_cycle(services: Mapping[str, ServiceSpec]) -> list[str]:
    """A dependency cycle as [a, b, ..., a] (a depends on b), from its smallest name; [] if
    there is none. graphlib finds it; its list runs the other way (each node a predecessor of
    the next), and the graph is built in name order so the same file names the same cycle."""
    graph = TopologicalSorter(
        {name: sorted(services[name].depends_on) for name in sorted(services)}
    )
    try:
        graph.prepare()
    except CycleError as error:
        found: list[str] = list(reversed(error.args[1]))[:-1]
        start = found.index(min(found))
        cycle = found[start:] + found[:start]
        return [*cycle, cycle[0]]
    return []


def _check_active_dependencies(
    reader: ComposeReader,
    active: Mapping[str, ServiceSpec],
    services: Mapping[str, ServiceSpec],
) -> None:
    for name, spec in active.items():
        for dependency in spec.depends_on:
            if dependency not in active:
                profiles = ", ".join(services[dependency].profiles)
                reader.fail(
                    reader.dependency_paths[(name, dependency)],
                    f"{show(dependency)} is not active (profiles: {profiles}):"
                    " enable one of its profiles",
                )


_ANY_ADDRESS = ("", "0.0.0.0", "::")


def _check_published_ports(reader: ComposeReader, active: Mapping[str, ServiceSpec]) -> None:
    """Two bindings of one host port would fail at `docker run` time: fail here instead."""
    taken: dict[tuple[int, str], list[tuple[str, str]]] = {}
    for name, spec in active.items():
        for i, port in enumerate(spec.ports):
            if port.published is None:
                continue
            path = f"services.{name}.ports[{i}]"
            bound = taken.setdefault((port.published, port.protocol), [])
            clash = next(
                (
                    other_path
                    for host_ip, other_path in bound
                    if host_ip == port.host_ip
                    or host_ip in _ANY_ADDRESS
                    or port.host_ip in _ANY_ADDRESS
                ),
                None,
            )
            if clash is not None:
                address = f"{port.host_ip}:{port.published}" if port.host_ip else port.published
                reader.fail(
                    path,
                    f"host port {show(address)}/{port.protocol} is already published by {clash}:"
                    " choose another host port",
                )
            bound.append((port.host_ip, path))


def _check_container_names(reader: ComposeReader, active: Mapping[str, ServiceSpec]) -> None:
    """A container name is the engine's key: two containers cannot share it."""
    owners: dict[str, str] = {}
    for name, spec in active.items():
        if spec.container_name is None:
            continue
        path = f"services.{name}.container_name"
        if spec.replicas > 1:
            reader.fail(
                path,
                f"container_name {show(spec.container_name)} with deploy.replicas"
                f" {spec.replicas}: {spec.replicas} containers cannot share one name;"
                " remove container_name or set replicas to 1",
            )
        if spec.container_name in owners:
            reader.fail(
                path,
                f"container_name {show(spec.container_name)} is already used by"
                f" services.{owners[spec.container_name]}: choose another",
            )
        owners[spec.container_name] = name


def _is_active(spec: ServiceSpec, profiles: Collection[str]) -> bool:
    return not spec.profiles or any(profile in profiles for profile in spec.profiles)


def _project_name(
    reader: ComposeReader, given: str | None, declared: object, project_dir: Path
) -> str:
    if given is not None:
        if not _PROJECT_NAME.match(given):
            reader.fail("", f"invalid project name {show(given)}: {_NAME_RULE}")
        return given
    if declared is not None:
        if not isinstance(declared, str) or not _PROJECT_NAME.match(declared):
            reader.fail("name", f"invalid project name {show(declared)}: {_NAME_RULE}")
        return declared
    return directory_project_name(project_dir)


_NAME_RULE = 'use lowercase letters, digits, "-" and "_", starting with a letter or digit'
