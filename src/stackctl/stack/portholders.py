"""Who holds a host port: a container that publishes it (any project), else a local process.

Shared by `invoke doctor` (which reports every port) and `invoke up` (which refuses to start a
stack whose port is taken). The process is found as `ss -ltnp` finds it, from /proc: the
listening socket's inode in /proc/net/{tcp,tcp6,udp,udp6}, then the process whose open files
include that socket. A process in another namespace (or of another user, without root) is not
visible there: the answer is then None, and the caller says "another process".
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from stackctl.engine.models import Container

if TYPE_CHECKING:
    import docker

PROC = Path("/proc")
# Socket states in /proc/net/*: a TCP socket that listens, a UDP socket bound but unconnected.
_LISTENING = {"tcp": "0A", "udp": "07"}


@dataclass(frozen=True)
class PortHolder:
    container: str
    project: str
    service: str


def port_holders(client: docker.DockerClient) -> dict[tuple[int, str], PortHolder]:
    """(host port, protocol) -> the running container that publishes it."""
    holders: dict[tuple[int, str], PortHolder] = {}
    for container in map(Container, client.api.containers()):
        holder = PortHolder(container.name, container.project, container.service)
        for _, published, _, protocol in container.published_ports:
            holders[(published, protocol)] = holder
    return holders


def process_holding(port: int, protocol: str = "tcp", proc: Path = PROC) -> str | None:
    """ "process NAME (pid N)" for the local process listening on `port`, None if none is seen."""
    inodes = _listening_inodes(port, protocol, proc)
    if not inodes:
        return None
    targets = {f"socket:[{inode}]" for inode in inodes}
    try:
        pids = [entry for entry in os.listdir(proc) if entry.isdigit()]
    except OSError:
        return None
    for pid in sorted(pids, key=int):
        fd_dir = proc / pid / "fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue  # gone, or not ours to look at
        for fd in fds:
            try:
                if os.readlink(fd_dir / fd) in targets:
                    return f"process {_command_name(proc / pid)} (pid {pid})"
            except OSError:
                continue
    return None


def _listening_inodes(port: int, protocol: str, proc: Path) -> set[str]:
    state = _LISTENING.get(protocol)
    if state is None:
        return set()
    wanted = f":{port:04X}"
    inodes: set[str] = set()
    for table in (f"{protocol}", f"{protocol}6"):
        try:
            lines = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[1].endswith(wanted) and fields[3] == state:
                inodes.add(fields[9])
    return inodes


def _command_name(process: Path) -> str:
    try:
        return (process / "comm").read_text().strip() or "?"
    except OSError:
        return "?"
