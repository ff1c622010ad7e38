"""The engine layer: connecting to Docker, and the only place its answers are read.

The Engine API's dicts (`State`, `Config`, `Spec`, ...) are read in `engine/models.py` and
nowhere else (tests/test_engine_layer.py): the rest of stackctl speaks of typed views, as
docker-py's models do. `readiness.py` decides whether a container or a Swarm task is ready,
`execs.py` runs a command in a container, `healthchecks.py` writes a health check the way the
engine takes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stackctl.errors import EngineUnreachable
from stackctl.settings import StackSettings

if TYPE_CHECKING:
    import docker

DEFAULT_HOST = "unix:///var/run/docker.sock"


def connect(settings: StackSettings, *, timeout: float = 60) -> docker.DockerClient:
    """A client that has answered a ping. Imported lazily: importing docker costs ~170 ms."""
    import docker
    from docker.errors import DockerException

    base_url = settings.docker_host or DEFAULT_HOST
    client = None
    try:
        client = docker.DockerClient(base_url=base_url, timeout=int(timeout))
        client.ping()
    except DockerException as exc:
        if client is not None:
            client.close()
        hint = (
            "start it (`sudo systemctl start docker`, or `sudo dockerd &`)"
            if base_url.startswith("unix://")
            else "check DOCKER_HOST and that the host's engine runs"
        )
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise EngineUnreachable(
            f"no Docker engine answers at {base_url}: {hint} ({reason})"
        ) from None
    return client
