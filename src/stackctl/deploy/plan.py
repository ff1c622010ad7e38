"""The deploy plan: hosts in batches, and what a dry run prints."""

from __future__ import annotations

from stackctl.deploy.settings import DeploySettings, HostAddress


def batches(settings: DeploySettings) -> list[list[HostAddress]]:
    hosts = settings.addresses
    return [hosts[i : i + settings.batch_size] for i in range(0, len(hosts), settings.batch_size)]


def describe_plan(settings: DeploySettings, version: str) -> list[str]:
    """The dry run: every step a deploy would take, with no host contacted and nothing built."""
    ship = (
        f"push to {settings.registry} and pull on each host"
        if settings.registry
        else "stream over SSH (save here, load there) unless the host has it"
    )
    lines = [
        f"deploy {settings.app} {version} to {len(settings.hosts)} host(s) "
        f"in batches of {settings.batch_size}, stopping at the first failed batch",
        f"build {settings.web_repository}:{version} (containers/web/Dockerfile, target runtime) "
        f"and the proxy (containers/nginx/Dockerfile); {ship}",
    ]
    for number, batch in enumerate(batches(settings), start=1):
        names = ", ".join(f"{a.user}@{a.name}" for a in batch)
        lines.append(f"batch {number}: {names}")
    steps = [
        "take the deploy lock",
        f"run `{settings.release_command}` in a one-off container"
        if settings.release_command
        else "",
        f"start {settings.app}-web-{version} (FLASK_CONFIG={settings.flask_config}, secrets "
        f"from {settings.secrets_file or 'the environment'})",
        f"wait up to {settings.health_timeout:.0f}s for /healthz, else remove it and stop",
        f"switch the proxy on {settings.http_host}:{settings.http_port} (graceful nginx reload)",
        f"drain {settings.drain_seconds:g}s, stop the old container, "
        f"keep the last {settings.keep_releases} releases",
        "release the lock",
    ]
    lines.extend(f"  each host: {step}" for step in steps if step)
    return lines
