"""`invoke deploy.exec` on the SSH hosts: a command run beside the running release, in a one-off
container of its image, or in the running role container itself (`--reuse`), and written to the
host's audit log.

The one-off copies the running role container, not compose.yaml: its image, environment (the
release's values and x-deploy.env, the unused secrets left out, as the deploy gave them), user,
working directory, volumes (its secret files' volume, read-only) and network. So it gets what the
role got at its deploy, no secrets file is needed here, and a compose.yaml edited since changes
nothing. The engine removes it when the command ends (auto-remove: `engine/oneoffs.py`), also
when this side's connection dropped meanwhile; it carries the `exec` kind label, so
`docker ps --filter label=org.aliecs.deploy.kind=exec` on a host shows one still running.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from stackctl.deploy import audit, labels
from stackctl.deploy.errors import DeployFailed
from stackctl.deploy.oneoff import ExecRequest
from stackctl.deploy.ssh.containers import CreateRequest, create, network_name
from stackctl.deploy.ssh.releases import current_version, releases
from stackctl.engine.models import Container, inspect_container

if TYPE_CHECKING:
    import docker

Write = Callable[[bytes], None]
Say = Callable[[str], None]


def oneoff_name(app: str, role: str) -> str:
    return f"{app}-{role}-exec-{uuid.uuid4().hex[:8]}"


def running_role(client: docker.DockerClient, app: str, role: str, host: str) -> Container:
    """The role's running container of the release the host serves (inspected); a one-line
    DeployFailed when no release runs there or the role's container is not running."""
    version = current_version(client, app)
    if version is None:
        raise DeployFailed(
            f"{host}: no release of {app} runs there: deploy first (`invoke deploy`)"
        )
    release = next((r for r in releases(client, app) if r.version == version), None)
    if release is None or role not in release.running_roles:
        raise DeployFailed(
            f"{host}: {role} of release {version} is not running there"
            " (`invoke deploy.versions`): deploy or roll back first"
        )
    return inspect_container(client.api, release.containers[role])


def oneoff_request(
    role_container: Container, *, app: str, role: str, command: Sequence[str], name: str
) -> CreateRequest:
    """The one-off container beside `role_container` (an inspection): its image, environment,
    user, working directory, volumes and network; removed by the engine when it ends (pure)."""
    from docker.types import Mount

    return CreateRequest(
        image=role_container.image_id,
        options={
            "name": name,
            "command": list(command),
            "environment": role_container.env,
            "user": role_container.user,
            "working_dir": role_container.working_dir or None,
            "labels": {
                labels.APP: app,
                labels.KIND: "exec",
                labels.ROLE: role,
                labels.RELEASE: role_container.labels.get(labels.RELEASE, ""),
            },
        },
        host={
            "network_mode": network_name(app),
            "mounts": [
                Mount(target, volume, type="volume", read_only=read_only)
                for target, volume, read_only in role_container.volume_mounts
            ],
            "auto_remove": True,
        },
        network=network_name(app),
    )


def run_oneoff(
    client: docker.DockerClient,
    role_container: Container,
    *,
    app: str,
    role: str,
    command: Sequence[str],
    write: Write,
    host: str,
) -> int:
    """The command in a one-off container beside the role's; its exit code."""
    from docker.errors import APIError

    from stackctl.engine.oneoffs import run_to_end

    request = oneoff_request(
        role_container, app=app, role=role, command=command, name=oneoff_name(app, role)
    )
    created = create(client, request)
    try:
        return run_to_end(client.api, created, write)
    except APIError as exc:  # the engine refused the start: a command not in the image
        reason = " ".join(str(exc.explanation or exc).split())
        shown = " ".join(command)
        raise DeployFailed(f"{host}: `{shown}` did not start in {role}: {reason}") from None


def run_reused(
    client: docker.DockerClient, role_container: Container, command: Sequence[str], write: Write
) -> int:
    """The command in the running role container itself (`docker exec`); its exit code."""
    from stackctl.engine.execs import start_exec
    from stackctl.stack.execute import exit_code, stream_output

    exec_id = start_exec(client.api, role_container.id, command, stdout=True, stderr=True)
    stream_output(client.api, exec_id, write)
    return exit_code(client.api, exec_id)


def exec_on_host(
    client: docker.DockerClient,
    app: str,
    host: str,
    request: ExecRequest,
    *,
    write: Write,
    say: Say,
    who: str,
    clock: Callable[[], float] = time.time,
) -> int:
    """`request` run on one host and written to its audit log (ok, `failed: exited with code
    N`, or the error that stopped it); its exit code. Nothing is recorded where no release
    runs (nothing ran)."""
    found = running_role(client, app, request.role, host)
    version = found.labels.get(labels.RELEASE, "")
    error: BaseException | None = None
    code: int | None = None
    try:
        if request.reuse:
            code = run_reused(client, found, request.command, write)
        else:
            code = run_oneoff(
                client,
                found,
                app=app,
                role=request.role,
                command=request.command,
                write=write,
                host=host,
            )
        return code
    except BaseException as exc:
        error = exc
        raise
    finally:
        result = audit.result_of(error) if code is None else exited(code)
        entry = audit.AuditEntry(clock(), who, request.audited, version, result)
        audit.record(client, app, host, entry, say)


def exited(code: int) -> str:
    return audit.exited(code)
