"""Reaching a host's dockerd: the Docker SDK over SSH (paramiko), nothing installed on the host.

docker-py's own SSH adapter takes its key only from ~/.ssh/config (IdentityFile) or the agent and
rejects every host key not already in ~/.ssh/known_hosts. A deploy names its key and known_hosts
file in its settings, so the adapter is subclassed to take them explicitly.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackctl.deploy.settings import DeploySettings, HostAddress
from stackctl.errors import EngineUnreachable

if TYPE_CHECKING:
    import docker

API_VERSION = "1.41"


def connect_host(
    address: HostAddress, settings: DeploySettings, *, timeout: float = 120
) -> docker.DockerClient:
    """A client for the host's dockerd that has answered a ping."""
    import docker
    from docker.errors import DockerException

    from stackctl import lazyimport

    paramiko = lazyimport.load("paramiko")  # deferred at stackctl's import
    from docker.transport.sshconn import SSHHTTPAdapter

    key_file = settings.ssh_key
    known_hosts = settings.ssh_known_hosts or Path("~/.ssh/known_hosts").expanduser()

    class KeyedSSHAdapter(SSHHTTPAdapter):  # type: ignore[misc]
        def _create_paramiko_client(self, base_url: str) -> None:
            super()._create_paramiko_client(base_url)
            if key_file is not None:
                self.ssh_params["key_filename"] = str(key_file)
            self.ssh_params["timeout"] = 15
            if not known_hosts.exists():
                known_hosts.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                known_hosts.touch(mode=0o600)
            self.ssh_client.load_host_keys(str(known_hosts))
            self.ssh_client.set_missing_host_key_policy(paramiko.AutoAddPolicy())

    try:
        adapter = KeyedSSHAdapter(address.base_url, timeout=int(timeout), max_pool_size=16)
        # A client with no transport of its own (a version given: nothing asked at creation),
        # then the SSH adapter mounted as docker-py mounts its own for ssh:// URLs.
        client = docker.DockerClient(base_url="unix:///nonexistent", version=API_VERSION)
        api: Any = client.api
        api.mount("http+docker://ssh", adapter)
        # docker-py keeps the SSH adapter it mounts here (and closes it with the client): no
        # public way to give it ours.
        api._custom_adapter = adapter  # noqa: SLF001
        api.base_url = "http+docker://ssh"
        api.timeout = int(timeout)
        client.ping()
    except (DockerException, paramiko.SSHException, OSError) as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise EngineUnreachable(
            f"host {address.name}: no Docker engine answers over SSH as {address.user} "
            f"({reason}): check the host, DEPLOY_SSH_KEY and that dockerd runs there"
        ) from None
    return client
