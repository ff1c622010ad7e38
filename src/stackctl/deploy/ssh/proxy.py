"""The host's proxy (nginx): started publishing the app, switched to a release's proxied role
with a graceful reload, asked which container it serves (Kamal's `proxy` commands).

In the HTTPS modes (deploy/https.py) the proxy service is compose.yaml's merged with the mode's
override, as `invoke up` merges it: port 443 too, its named volumes (the ACME certificates, kept
across recreations) and its secret files (a given certificate and key). A proxy whose definition
changed (mode, HSTS, which certificate files) is recreated; an unchanged one is kept, whatever
release. A given certificate whose contents changed is written over the kept proxy's secret
files, and nginx reloads gracefully onto it (its watcher): no connection is dropped.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import TYPE_CHECKING

from stackctl.compose import ServiceSpec
from stackctl.deploy import labels
from stackctl.deploy.appdef import AppDefinition
from stackctl.deploy.errors import DeployFailed
from stackctl.deploy.secretfiles import fill_secrets_volume, secret_files_differ
from stackctl.deploy.secrets import secret_files
from stackctl.deploy.settings import DeploySettings
from stackctl.engine.execs import run_in
from stackctl.engine.models import (
    Container,
    inspect_container,
    inspect_image,
)

if TYPE_CHECKING:
    import docker

from stackctl.deploy.ssh.containers import (
    LOG_CONFIG,
    POLL_SECONDS,
    CreateRequest,
    create,
    create_with_secrets,
    ensure_volumes,
    log_tail,
    network_name,
    remove_role_container,
    secrets_volume,
    volume_mounts,
)

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
PROXY_PORT = 80
TLS_PORT = 443
# The proxy's definition (all but the release it sends to), to tell a changed one.
DEFINITION = "org.aliecs.deploy.proxy.definition"
_SERVING_SCRIPT = "sed -n 's/^ *server \\([^ ;]*\\).*/\\1/p' /etc/nginx/conf.d/default.conf"


def proxy_name(app: str) -> str:
    return f"{app}-proxy"


def serving(client: docker.DockerClient, app: str) -> str | None:
    """The container name the proxy sends traffic to, None without a running proxy."""
    from docker.errors import NotFound

    try:
        proxy = inspect_container(client.api, proxy_name(app))
    except NotFound:
        return None
    if not proxy.running:
        return None
    output = run_in(client.api, proxy_name(app), ["sh", "-c", _SERVING_SCRIPT]).text.strip()
    return output.rsplit(":", 1)[0] if output else None


def proxy_request(
    settings: DeploySettings,
    spec: ServiceSpec,
    image: str,
    upstream: str,
    secrets_in: str | None = None,
) -> CreateRequest:
    """The proxy's container: compose.yaml's proxy service, publishing port 80 on
    DEPLOY_HTTP_HOST:DEPLOY_HTTP_PORT (and 443 on DEPLOY_HTTPS_PORT when it terminates TLS),
    sending to `upstream` (pure)."""
    ports = [PROXY_PORT]
    bindings: dict[int, tuple[str, int]] = {PROXY_PORT: (settings.http_host, settings.http_port)}
    if settings.https.serves_tls:
        ports.append(TLS_PORT)
        bindings[TLS_PORT] = (settings.http_host, settings.https_port)
    return CreateRequest(
        image=image,
        options={
            "name": proxy_name(settings.app),
            "environment": {
                **spec.environment,
                "NGINX_UPSTREAM": upstream,
                # Deploys switch the upstream themselves; no name watcher needed.
                "UPSTREAM_RECHECK_SECONDS": "0",
            },
            "ports": ports,
            "labels": {labels.APP: settings.app, labels.KIND: "proxy", labels.ROLE: "proxy"},
            "stop_signal": spec.stop_signal,
        },
        host={
            "network_mode": network_name(settings.app),
            "port_bindings": bindings,
            "mounts": volume_mounts(settings.app, spec, secrets_in),
            "restart_policy": {"Name": "unless-stopped"},
            "log_config": LOG_CONFIG,
        },
        network=network_name(settings.app),
    )


def definition(request: CreateRequest, spec: ServiceSpec, secrets: list[str]) -> str:
    """A digest of what the proxy is, apart from the release it sends to: its image,
    environment, ports, named volumes, and its secret files' names (their contents are not: a
    rotated certificate is written over the kept proxy's files)."""
    environment = {k: v for k, v in request.options["environment"].items() if k != "NGINX_UPSTREAM"}
    shown = {
        "image": request.image,
        "environment": environment,
        "ports": request.options["ports"],
        "bindings": {str(k): list(v) for k, v in request.host["port_bindings"].items()},
        "volumes": [(m.target, m.source, m.read_only) for m in spec.volumes],
        "secrets": sorted(secrets),
    }
    return hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()[:16]


def ensure_proxy(
    client: docker.DockerClient,
    settings: DeploySettings,
    app: AppDefinition,
    image: str,
    upstream: str,
) -> str:
    """The proxy runs from `image` as the app defines it, publishing the app, with the given
    certificate files as they are now: "created", "rotated" (the kept proxy's secret files
    written over; nginx reloads gracefully onto them) or "kept".

    Recreating it (first deploy, a new proxy image, a changed HTTPS setting) drops the
    connections it had: rare. Its named volumes (ACME certificates) outlive it.
    """
    from docker.errors import NotFound

    assert app.proxy is not None
    spec = app.spec(app.proxy)
    name = proxy_name(settings.app)
    files = secret_files(app.project, spec)
    wanted = definition(
        proxy_request(settings, spec, image, upstream), spec, [f.file_name for f in files]
    )
    try:
        found: Container | None = inspect_container(client.api, name)
    except NotFound:
        found = None
    if found is not None:
        same_image = found.image_id == inspect_image(client.api, image).id
        if same_image and found.running and found.labels.get(DEFINITION) == wanted:
            if files and secret_files_differ(client, name, files):
                fill_secrets_volume(
                    client,
                    volume=secrets_volume(name),
                    container=name,
                    app=settings.app,
                    files=files,
                )
                return "rotated"
            return "kept"
    # With its secrets volume: a proxy without secret files now must not leave the old key.
    remove_role_container(client, name)
    ensure_volumes(client, settings.app, spec)

    def create_proxy(secrets_in: str | None) -> str:
        request = proxy_request(settings, spec, image, upstream, secrets_in)
        request.options["labels"][DEFINITION] = wanted
        return create(client, request)

    created = create_with_secrets(client, settings, app, app.proxy, name=name, create=create_proxy)
    client.api.start(created)
    _wait_proxy(client, name)
    return "created"


def _wait_proxy(client: docker.DockerClient, name: str, timeout: float = 30) -> None:
    command = ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1/nginx-health"]
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if inspect_container(client.api, name).running and run_in(client.api, name, command).ok:
            return
        time.sleep(POLL_SECONDS)
    raise DeployFailed(f"the proxy did not answer in {timeout:.0f}s: {log_tail(client, name)[-3:]}")


def switch_proxy(client: docker.DockerClient, app: str, upstream: str) -> None:
    """Point the proxy at `container:port` with a graceful reload."""
    result = run_in(
        client.api,
        proxy_name(app),
        ["sh", "-c", _SWITCH_SCRIPT],
        environment={"DEPLOY_UPSTREAM": upstream},
    )
    if not result.ok:
        raise DeployFailed(f"the proxy refused the switch to {upstream}: {result.text}")
