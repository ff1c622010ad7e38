"""`invoke doctor --host`: the app's own settings check (compose.yaml's `x-deploy.check`) run on
each deploy host, in the running release's image, with that release's environment, secret files
and network: so it answers what the app on that host gets, e.g. whether the host's metadata
service hands out the RAM role's credentials. stackctl runs the app's command, never imports it.

The one-off container is removed whatever happens; its output is one JSON line naming settings,
never their values (stderr, which may hold a traceback with values, is never read).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from stackctl.deploy import labels
from stackctl.deploy.appdef import AppDefinition
from stackctl.deploy.settings import DeploySettings, HostAddress
from stackctl.deploy.ssh import releases
from stackctl.deploy.ssh.containers import network_name
from stackctl.doctor.doctor import APP_BUDGET, Check, app_report
from stackctl.engine.models import created_id, inspect_container, wait_status
from stackctl.plan.secretmounts import SECRETS_DIR

if TYPE_CHECKING:
    import docker

Connect = Callable[[HostAddress, DeploySettings], "docker.DockerClient"]


def running_role_container(
    client: docker.DockerClient, app: AppDefinition, name: str
) -> str | None:
    """The running container of the app's proxied role (else its first role) on the host."""
    role = app.checked_role
    for release in releases.releases(client, name):
        if role in release.running_roles:
            return release.containers[role]
    return None


def check_host(
    client: docker.DockerClient,
    settings: DeploySettings,
    app: AppDefinition,
    where: str,
    timeout: float = APP_BUDGET,
) -> Check:
    """The app's settings check on one host, as its running release would answer it."""
    name = f"app settings on {where}"
    if not app.check:
        return Check(name, "warn", f"{app.shown_as} names no x-deploy.check: nothing to run")
    container = running_role_container(client, app, settings.app)
    if container is None:
        return Check(name, "warn", f"no release of {settings.app} runs there: deploy first")
    found = inspect_container(client.api, container)
    secrets = [
        {"Type": "volume", "Source": volume, "Target": SECRETS_DIR, "ReadOnly": True}
        for target, volume in found.volumes.items()
        if target == SECRETS_DIR
    ]
    created = created_id(
        client.api.create_container(
            found.image_id,
            command=list(app.check),
            environment=found.env,
            user=found.user,
            labels={labels.APP: settings.app, labels.ROLE: "check"},
            host_config=client.api.create_host_config(
                network_mode=network_name(settings.app), mounts=secrets
            ),
        )
    )
    shown = " ".join(app.check)
    try:
        client.api.start(created)
        code = wait_status(client.api.wait(created, timeout=int(timeout)))
        stdout = client.api.logs(created, stdout=True, stderr=False).decode(errors="replace")
    except Exception as exc:  # a timeout or the engine refusing: one line, no values
        text = " ".join(str(getattr(exc, "explanation", None) or exc).split())[:160]
        return Check(name, "warn", f"`{shown}` did not finish there: {text}")
    finally:
        client.api.remove_container(created, force=True)
    return app_report(stdout, code, shown, where)


def check_hosts(settings: DeploySettings, app: AppDefinition, connect: Connect) -> list[Check]:
    """`check_host` on each of the deploy's hosts, one after the other."""
    checks = []
    for address in settings.addresses:
        try:
            client = connect(address, settings)
        except Exception as exc:  # unreachable, host key refused: one line and go on
            detail = " ".join(str(exc).split())[:200]
            checks.append(Check(f"host {address.name}", "fail", detail))
            continue
        try:
            checks.append(check_host(client, settings, app, address.name))
        finally:
            client.close()
    return checks
