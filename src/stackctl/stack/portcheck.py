"""`invoke up`'s check before it changes anything: every host port the stack will publish is
free, or already published by this stack's own container for that service.

Without it the engine refuses a taken port only when it starts that container, after the
services before it were started: a half-up stack (compose v1 and v2 both do this).
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Collection, Mapping
from urllib.parse import urlsplit

from stackctl.compose import Project
from stackctl.errors import StackError
from stackctl.stack.portholders import PortHolder, process_holding
from stackctl.stack.probes import bind_error

PortProbe = Callable[[str, int, str], "int | None"]
ProcessFinder = Callable[[int, str], "str | None"]


class PortTaken(StackError):
    """A host port the stack publishes is held by something else."""


def engine_is_local(docker_host: str) -> bool:
    """Whether the engine binds ports on this machine (a port probe here means something)."""
    if not docker_host or docker_host.startswith("unix://"):
        return True
    return urlsplit(docker_host).hostname in ("127.0.0.1", "localhost", "::1")


def refuse_taken_ports(
    project: Project,
    services: Collection[str],
    holders: Callable[[], Mapping[tuple[int, str], PortHolder]],
    *,
    local: bool = True,
    probe_port: PortProbe = bind_error,
    find_process: ProcessFinder = process_holding,
) -> None:
    """Raise PortTaken for the first published port of `services` held by anything but this
    project's own container of that service.

    On a local engine each port is probed by binding it; `holders` (the engine's containers by
    published port) is asked only when one is taken. On a remote engine only the containers
    can be asked.
    """
    found: Mapping[tuple[int, str], PortHolder] | None = None
    for service in project.start_order():
        if service not in services:
            continue
        for port in project.services[service].ports:
            if port.published is None:
                continue
            problem = probe_port(port.host_ip, port.published, port.protocol) if local else None
            if local and problem not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL):
                continue  # free, or nothing this machine can tell: the engine decides
            if found is None:
                found = holders()
            holder = found.get((port.published, port.protocol))
            if holder and holder.project == project.name and holder.service == service:
                continue
            if not local and holder is None:
                continue
            address = f"{port.host_ip or '0.0.0.0'}:{port.published}/{port.protocol}"
            where = f"host port {address} of service {service}"
            if problem == errno.EADDRNOTAVAIL:
                raise PortTaken(
                    f"{where}: {port.host_ip} is not an address of this host:"
                    f" change services.{service}.ports (127.0.0.1 for this host only);"
                    " nothing was started or stopped"
                )
            who = _who(holder, project.name, port.published, port.protocol, find_process)
            raise PortTaken(
                f"{where} is taken by {who}:"
                f" stop it or publish another port (services.{service}.ports);"
                " nothing was started or stopped"
            )


def _who(
    holder: PortHolder | None, project: str, port: int, protocol: str, find_process: ProcessFinder
) -> str:
    if holder is not None:
        if holder.project == project:
            return f"container {holder.container} (this stack's service {holder.service})"
        owner = f"project {holder.project}, " if holder.project else ""
        return f"container {holder.container} ({owner}`docker stop {holder.container}`)"
    process = find_process(port, protocol)
    if process is not None:
        return process
    return f"another process (`ss -ltnp 'sport = :{port}'` names it)"
