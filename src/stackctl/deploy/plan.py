"""The deploy plan: hosts in batches, and what a dry run prints."""

from __future__ import annotations

from stackctl.deploy.appdef import AppDefinition
from stackctl.deploy.settings import DeploySettings, HostAddress


def batches(settings: DeploySettings) -> list[list[HostAddress]]:
    hosts = settings.addresses
    return [hosts[i : i + settings.batch_size] for i in range(0, len(hosts), settings.batch_size)]


def describe_plan(
    settings: DeploySettings,
    app: AppDefinition,
    version: str,
) -> list[str]:
    """The SSH dry run's steps: every one a deploy would take, with no host contacted and nothing
    built (what it says of the secrets: `secretsplan.secrets_plan`)."""
    ship = (
        f"push to {settings.registry} and pull on each host"
        if settings.registry
        else "stream over SSH (save here, load there) unless the host has it"
    )
    roles = ", ".join(
        f"{r.service} (proxied :{r.proxy_port})" if r.proxy_port else r.service for r in app.roles
    )
    lines = [
        f"deploy {settings.app} {version} to {len(settings.hosts)} host(s) "
        f"in batches of {settings.batch_size}, stopping at the first failed batch",
        f"roles: {roles}; accessories: "
        f"{', '.join(a.service for a in app.accessories) or 'none'}; proxy: {app.proxy or 'none'}",
        f"build {', '.join(app.services)} as `invoke up --mode production` builds them "
        f"(from {app.shown_as}, unchanged images reused); {ship}",
    ]
    for number, batch in enumerate(batches(settings), start=1):
        names = ", ".join(f"{a.user}@{a.name}" for a in batch)
        lines.append(f"batch {number}: {names}")
    for role in app.roles:
        if role.hosts is not None:
            lines.append(f"role {role.service} only on: {', '.join(role.hosts)}")
    for accessory in app.accessories:
        if accessory.hosts is not None:
            lines.append(f"accessory {accessory.service} only on: {', '.join(accessory.hosts)}")
    secrets = sorted({s.file_name for r in app.roles for s in app.spec(r.service).secrets})
    steps = [
        "take the deploy lock",
        *(
            f"start accessory {settings.app}-{a.service} if missing (kept if running)"
            for a in app.accessories
        ),
        f"run `{settings.release_command}` in a one-off container"
        if settings.release_command
        else "",
        *(
            f"start {settings.app}-{r.service}-{version} ("
            + "".join(f"{k}={v}, " for k, v in app.env.items())
            + f"environment from {settings.secrets_file or 'the environment'}"
            + (f", secret files: {', '.join(secrets)}" if secrets else "")
            + ")"
            for r in app.roles
        ),
        f"wait up to {settings.health_timeout:.0f}s for each role's health check (without one:"
        f" running {settings.settle_seconds:g}s); any failure removes every new container",
        f"switch the proxy on {settings.http_host}:{settings.http_port} (graceful nginx reload)"
        if app.proxied
        else "",
        f"drain {settings.drain_seconds:g}s, stop the old containers (their stop signal and"
        f" grace period), keep the last {settings.keep_releases} releases",
        "release the lock",
    ]
    lines.extend(f"  each host: {step}" for step in steps if step)
    return lines
