"""Moving a host's traffic to a release: boot it, wait for its health check, switch the proxy
with a graceful nginx reload, drain and stop the old container, keep the last N releases.

On each host: a network `<app>`, one proxy (our nginx image) publishing the app, and web
containers `<app>-web-<version>`, all labelled (see labels.py). nginx's reload is graceful: old
workers finish the requests they have while new workers take the new upstream.
"""

from __future__ import annotations

import contextlib
import shlex
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stackctl.deploy import labels
from stackctl.deploy.errors import DeployFailed, ReleaseCommandFailed, ReleaseUnhealthy
from stackctl.deploy.settings import DeploySettings

if TYPE_CHECKING:
    import docker

LOG_TAIL = 20
WEB_PORT = 8000
_POLL = 0.2
# Liveness only: /healthz needs neither Redis nor OSS.
HEALTHCHECK = {
    "test": [
        "CMD",
        "python",
        "-c",
        f"import urllib.request as u; u.urlopen('http://127.0.0.1:{WEB_PORT}/healthz', timeout=2)",
    ],
    "interval": 500_000_000,
    "timeout": 3_000_000_000,
    "retries": 3,
    "start_period": 0,
}
# Pins the upstream into the proxy's template (so a restarted proxy keeps it), renders the site
# and reloads nginx only when the new configuration tests good.
_SWITCH_SCRIPT = r"""
set -eu
t=/etc/nginx/templates/default.conf.template
[ -f "$t.orig" ] || cp "$t" "$t.orig"
sed "s#\${NGINX_UPSTREAM}#$DEPLOY_UPSTREAM#g" "$t.orig" > "$t.new"
envsubst '${CLIENT_MAX_BODY_SIZE} ${NGINX_UPSTREAM}' < "$t.new" > /etc/nginx/conf.d/default.conf.new
mv /etc/nginx/conf.d/default.conf /etc/nginx/conf.d/default.conf.old
mv /etc/nginx/conf.d/default.conf.new /etc/nginx/conf.d/default.conf
if ! nginx -t -q; then
    mv /etc/nginx/conf.d/default.conf.old /etc/nginx/conf.d/default.conf
    exit 1
fi
mv "$t.new" "$t"
nginx -s reload
"""
_SERVING_SCRIPT = "sed -n 's/^ *server \\([^ ;]*\\).*/\\1/p' /etc/nginx/conf.d/default.conf"


@dataclass(frozen=True)
class Release:
    """A web release on a host: its container and the commit it came from."""

    version: str
    container: str
    running: bool
    deployed_at: float
    commit: str
    dirty: bool


def web_name(app: str, version: str) -> str:
    return f"{app}-web-{version}"


def proxy_name(app: str) -> str:
    return f"{app}-proxy"


def network_name(app: str) -> str:
    return app


def ensure_network(client: docker.DockerClient, app: str) -> None:
    if not client.api.networks(names=[network_name(app)]):
        client.api.create_network(
            network_name(app),
            driver="bridge",
            check_duplicate=True,
            labels={labels.APP: app, labels.ROLE: "network"},
        )


def releases(client: docker.DockerClient, app: str) -> list[Release]:
    """The host's web releases, newest deploy first."""
    found = client.api.containers(
        all=True, filters={"label": [f"{labels.APP}={app}", f"{labels.ROLE}=web"]}
    )
    result = [
        Release(
            version=c["Labels"].get(labels.VERSION + ".release", ""),
            container=c["Names"][0].lstrip("/"),
            running=c["State"] == "running",
            deployed_at=float(c["Labels"].get(labels.DEPLOYED_AT, "0") or 0),
            commit=c["Labels"].get(labels.VERSION, ""),
            dirty=c["Labels"].get(labels.DIRTY) == "true",
        )
        for c in found
    ]
    return sorted(result, key=lambda r: r.deployed_at, reverse=True)


def serving(client: docker.DockerClient, app: str) -> str | None:
    """The container name the proxy sends traffic to, None without a running proxy."""
    from docker.errors import NotFound

    try:
        state = client.api.inspect_container(proxy_name(app))["State"]
    except NotFound:
        return None
    if not state.get("Running"):
        return None
    result = client.api.exec_create(proxy_name(app), ["sh", "-c", _SERVING_SCRIPT])
    output = client.api.exec_start(result["Id"]).decode(errors="replace").strip()
    return output.rsplit(":", 1)[0] if output else None


def log_tail(client: docker.DockerClient, container: str, lines: int = LOG_TAIL) -> list[str]:
    raw = client.api.logs(container, stdout=True, stderr=True, tail=lines)
    text: str = raw.decode(errors="replace")
    return text.splitlines()[-lines:]


def boot(
    client: docker.DockerClient,
    settings: DeploySettings,
    *,
    version: str,
    commit: str,
    dirty: bool,
    environment: Mapping[str, str],
) -> str:
    """Start `<app>-web-<version>` from the host's `<app>/web:<version>` image; its id."""
    from docker.errors import NotFound

    name = web_name(settings.app, version)
    with contextlib.suppress(NotFound):
        client.api.remove_container(name, force=True)
    created = client.api.create_container(
        f"{settings.web_repository}:{version}",
        name=name,
        environment=dict(environment),
        labels={
            labels.APP: settings.app,
            labels.ROLE: "web",
            labels.VERSION: commit,
            labels.VERSION + ".release": version,
            labels.DIRTY: "true" if dirty else "false",
            labels.DEPLOYED_AT: f"{time.time():.3f}",
        },
        healthcheck=HEALTHCHECK,
        stop_signal="SIGTERM",
        host_config=client.api.create_host_config(
            network_mode=network_name(settings.app),
            # "unless-stopped" only once healthy: a broken release must not restart in a loop.
            restart_policy={"Name": "no"},
            log_config={"Type": "json-file", "Config": {"max-size": "10m", "max-file": "3"}},
        ),
    )
    container_id = str(created["Id"])
    client.api.start(container_id)
    return container_id


def wait_healthy(
    client: docker.DockerClient, container: str, *, timeout: float, host: str, version: str
) -> float:
    """Seconds until the container's health check passed; ReleaseUnhealthy (container removed)
    when it exits, turns unhealthy or takes longer than `timeout`."""
    started = time.monotonic()
    reason = f"not healthy after {timeout:.0f}s"
    while time.monotonic() - started < timeout:
        state = client.api.inspect_container(container)["State"]
        health = (state.get("Health") or {}).get("Status")
        if health == "healthy":
            client.api.update_container(container, restart_policy={"Name": "unless-stopped"})
            return time.monotonic() - started
        if not state.get("Running"):
            reason = f"exited with code {state.get('ExitCode')}"
            break
        if health == "unhealthy":
            reason = "its health check failed"
            break
        time.sleep(_POLL)
    tail = log_tail(client, container)
    client.api.remove_container(container, force=True)
    raise ReleaseUnhealthy(
        f"host {host}: release {version} {reason}; rolled back, the previous release still serves",
        log_tail=tail,
    )


def ensure_proxy(
    client: docker.DockerClient, settings: DeploySettings, image: str, upstream_container: str
) -> bool:
    """The proxy runs from `image` publishing the app; True when it was (re)created.

    Recreating it (first deploy, or a new nginx image) drops the connections it had: rare.
    """
    from docker.errors import NotFound

    name = proxy_name(settings.app)
    try:
        found = client.api.inspect_container(name)
    except NotFound:
        found = None
    if found is not None:
        same_image = found["Image"] == client.api.inspect_image(image)["Id"]
        if same_image and found["State"].get("Running"):
            return False
        client.api.remove_container(name, force=True)
    created = client.api.create_container(
        image,
        name=name,
        environment={
            "NGINX_UPSTREAM": f"{upstream_container}:{WEB_PORT}",
            # Deploys switch the upstream themselves; no name watcher needed.
            "UPSTREAM_RECHECK_SECONDS": "0",
        },
        ports=[80],
        labels={labels.APP: settings.app, labels.ROLE: "proxy"},
        host_config=client.api.create_host_config(
            network_mode=network_name(settings.app),
            port_bindings={80: (settings.http_host, settings.http_port)},
            restart_policy={"Name": "unless-stopped"},
        ),
    )
    client.api.start(created["Id"])
    _wait_proxy(client, name)
    return True


def _wait_proxy(client: docker.DockerClient, name: str, timeout: float = 30) -> None:
    command = ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1/nginx-health"]
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if client.api.inspect_container(name)["State"].get("Running"):
            result = client.api.exec_create(name, command)
            client.api.exec_start(result["Id"])
            if client.api.exec_inspect(result["Id"])["ExitCode"] == 0:
                return
        time.sleep(_POLL)
    raise DeployFailed(f"the proxy did not answer in {timeout:.0f}s: {log_tail(client, name)[-3:]}")


def switch_proxy(client: docker.DockerClient, app: str, upstream_container: str) -> None:
    """Point the proxy at the container with a graceful reload."""
    result = client.api.exec_create(
        proxy_name(app),
        ["sh", "-c", _SWITCH_SCRIPT],
        environment={"DEPLOY_UPSTREAM": f"{upstream_container}:{WEB_PORT}"},
    )
    output = client.api.exec_start(result["Id"]).decode(errors="replace")
    if client.api.exec_inspect(result["Id"])["ExitCode"] != 0:
        raise DeployFailed(f"the proxy refused the switch to {upstream_container}: {output}")


def stop_release(client: docker.DockerClient, container: str, stop_timeout: int) -> None:
    client.api.stop(container, timeout=stop_timeout)


def prune(client: docker.DockerClient, settings: DeploySettings) -> list[str]:
    """Remove releases beyond the last `keep_releases` (containers and images); their versions."""
    from docker.errors import APIError

    removed = []
    for release in releases(client, settings.app)[settings.keep_releases :]:
        if release.running:
            continue
        client.api.remove_container(release.container, force=True)
        with contextlib.suppress(APIError):
            client.api.remove_image(f"{settings.web_repository}:{release.version}")
        removed.append(release.version)
    return removed


def run_release_command(
    client: docker.DockerClient,
    settings: DeploySettings,
    *,
    version: str,
    environment: Mapping[str, str],
    timeout: float = 600,
) -> None:
    """Run the release command as a one-off container; ReleaseCommandFailed when it fails."""
    name = f"{settings.app}-release-{version}"
    created = client.api.create_container(
        f"{settings.web_repository}:{version}",
        name=name,
        command=shlex.split(settings.release_command),
        environment=dict(environment),
        labels={labels.APP: settings.app, labels.ROLE: "release-command"},
        host_config=client.api.create_host_config(network_mode=network_name(settings.app)),
    )
    try:
        client.api.start(created["Id"])
        result: Any = client.api.wait(created["Id"], timeout=int(timeout))
        code = int(result.get("StatusCode", 1))
        if code != 0:
            raise ReleaseCommandFailed(
                f"release command `{settings.release_command}` exited with code {code}: "
                "nothing was switched",
                log_tail=log_tail(client, created["Id"]),
            )
    finally:
        client.api.remove_container(created["Id"], force=True)


def cutover(
    client: docker.DockerClient,
    settings: DeploySettings,
    *,
    host: str,
    version: str,
    commit: str,
    dirty: bool,
    environment: Mapping[str, str],
    proxy_image: str,
    say: Callable[[str], None],
) -> str | None:
    """Move the host to `version`; the container that served before (None on a fresh host)."""
    ensure_network(client, settings.app)
    before = serving(client, settings.app)
    new = web_name(settings.app, version)
    if before == new and client.api.inspect_container(new)["State"].get("Running"):
        say(f"{host}: {version} already serving")
        return before
    container = boot(
        client, settings, version=version, commit=commit, dirty=dirty, environment=environment
    )
    took = wait_healthy(
        client, container, timeout=settings.health_timeout, host=host, version=version
    )
    say(f"{host}: {new} healthy after {took:.1f}s")
    if ensure_proxy(client, settings, proxy_image, new):
        say(f"{host}: proxy started on {settings.http_host}:{settings.http_port}")
    switch_proxy(client, settings.app, new)
    say(f"{host}: proxy switched to {new}")
    if before and before != new:
        time.sleep(settings.drain_seconds)
        stop_release(client, before, settings.stop_timeout)
        say(f"{host}: drained and stopped {before}")
    for version_gone in prune(client, settings):
        say(f"{host}: removed old release {version_gone}")
    return before
