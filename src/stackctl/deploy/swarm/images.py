"""A release's images on every node before a service refers to them: streamed over each host's
SSH connection in parallel (`docker save` here, `docker load` there; a node that has the very
image is skipped), or with DEPLOY_REGISTRY pushed once and pulled by every node."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from stackctl.deploy import transfer
from stackctl.deploy.errors import DeployFailed
from stackctl.deploy.settings import DeploySettings, HostAddress
from stackctl.deploy.swarm.nodes import Swarm, map_parallel

if TYPE_CHECKING:
    import docker


def ship_to_nodes(
    local: docker.DockerClient,
    settings: DeploySettings,
    swarm: Swarm,
    references: list[str],
    say: Callable[[str], None],
) -> None:
    """Every reference on every node, under the local name and id."""
    if settings.registry:
        for ref in references:
            _push(local, ref, settings.registry)

    def one_node(address: HostAddress, client: docker.DockerClient) -> None:
        for ref in references:
            if _retag(local, client, ref):
                how = "tagged (same image already there)"
            elif settings.registry:
                how = _pull(local, client, ref, settings.registry, address.name)
            else:
                how = transfer.ship_image(local, client, ref, host=address.name)
            say(f"{address.name}: {ref} {'already there' if how == 'present' else how}")

    map_parallel(swarm, one_node)


def _retag(local: docker.DockerClient, client: docker.DockerClient, ref: str) -> bool:
    """The node has the very image under another tag (a rollback, a config-only release):
    tag it instead of moving it again."""
    wanted = transfer.image_id(local, ref)
    if wanted is None or transfer.image_id(client, ref) == wanted:
        return False
    if transfer.image_id(client, wanted) != wanted:
        return False
    repository, _, tag = ref.rpartition(":")
    client.api.tag(wanted, repository, tag)
    return transfer.image_id(client, ref) == wanted


def _remote_name(ref: str, registry: str) -> tuple[str, str]:
    repository, _, tag = ref.rpartition(":")
    return f"{registry.rstrip('/')}/{repository}", tag


def _push(local: docker.DockerClient, ref: str, registry: str) -> None:
    repository, tag = _remote_name(ref, registry)
    local.api.tag(ref, repository, tag)
    transfer.raise_stream_errors(
        local.api.push(repository, tag=tag, stream=True, decode=True),
        f"push of {repository}:{tag}",
    )


def _pull(
    local: docker.DockerClient,
    client: docker.DockerClient,
    ref: str,
    registry: str,
    host: str,
) -> transfer.Shipped:
    wanted = transfer.image_id(local, ref)
    if wanted is not None and transfer.image_id(client, ref) == wanted:
        return "present"
    repository, tag = _remote_name(ref, registry)
    transfer.raise_stream_errors(
        client.api.pull(repository, tag=tag, stream=True, decode=True),
        f"host {host}: pull of {repository}:{tag}",
    )
    local_repository, _, _ = ref.rpartition(":")
    client.api.tag(f"{repository}:{tag}", local_repository, tag)
    if transfer.image_id(client, ref) != wanted:
        raise DeployFailed(f"host {host}: {ref} arrived with another image id than the local one")
    return "pulled"
