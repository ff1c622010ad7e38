"""The app definition (compose.yaml + x-deploy) as Swarm service specs, one plain dict each in
the Engine API's shape, so a dry run can show what would change and a deploy sends exactly it.

- roles: replicated, endpoint mode dnsrr (no VIP: no IPVS needed), health check, stop signal and
  grace from compose; the proxied role updates start-first, the others stop-first; a failed
  update rolls back by itself;
- accessories: one replica pinned by a node label, named volumes on that node;
- the proxy: global, port 80 published in host mode on every node, upstream `tasks.<web>`; in
  an HTTPS mode that terminates TLS (files, acme) port 443 too, its certificate read from the
  node's `tls` volume;
- files, acme: the certsync service writing the certificate on every node, and in acme certbot
  behind every node's proxy (`swarm/tls.py`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stackctl.compose import ServiceSpec
from stackctl.deploy import labels
from stackctl.deploy.appdef import AppDefinition
from stackctl.deploy.swarm import tls as swarm_tls
from stackctl.deploy.swarm.nodes import accessory_label
from stackctl.deploy.swarm.settings import SwarmSettings
from stackctl.engine.healthchecks import swarm_healthcheck
from stackctl.engine.models import ServiceSpec as EngineServiceSpec
from stackctl.engine.models import normal, secret_file_names
from stackctl.plan.converge import health_config
from stackctl.plan.secretmounts import without_secrets

SPEC_HASH = "org.aliecs.swarm.spec"
NAMESPACE = "com.docker.stack.namespace"  # what `docker stack ps <app>` lists
PROXY_PORT = 80
TLS_PORT = 443
_NS = 1_000_000_000


def service_name(app: str, service: str) -> str:
    return f"{app}_{service}"


def network_name(app: str) -> str:
    return f"{app}_overlay"


@dataclass(frozen=True)
class Inputs:
    """What a spec is made of beside the app definition."""

    app: str
    version: str
    http_port: int
    images: Mapping[str, str]
    """compose service -> image reference on the nodes"""
    environment: Mapping[str, str]
    """plain run-time values of the roles (compose.yaml's `x-deploy.env`): no secrets"""
    secrets: Mapping[str, list[dict[str, Any]]]
    """compose service -> its ContainerSpec.Secrets entries"""
    nodes: int
    network: str = ""
    """the overlay network's id once it exists (the engine answers ids), else its name"""
    leave_out: tuple[str, ...] = ()
    """names the roles never get (secrets the release does not use: `release.unused_secrets`)"""
    https_port: int | None = None
    """where every node publishes the proxy's port 443, when the proxy terminates TLS"""
    tls: swarm_tls.SwarmTls | None = None
    """the TLS-terminating mode's facts (files, acme)"""


def _container(
    spec: ServiceSpec, image: str, env: Mapping[str, str], secrets: list[dict[str, Any]]
) -> dict[str, Any]:
    names = secret_file_names(secrets)
    environment = {k: v for k, v in without_secrets(dict(env), spec).items() if k not in names}
    container: dict[str, Any] = {
        "Image": image,
        "Labels": dict(spec.labels),
        "Env": [f"{k}={v}" for k, v in sorted(environment.items())],
        "Secrets": secrets,
        "StopGracePeriod": int((spec.stop_grace_period or 10) * _NS),
    }
    if spec.command is not None:
        container["Args"] = list(spec.command)
    if spec.entrypoint is not None:
        container["Command"] = list(spec.entrypoint)
    if spec.working_dir:
        container["Dir"] = spec.working_dir
    if spec.user:
        container["User"] = spec.user
    if spec.stop_signal:
        container["StopSignal"] = spec.stop_signal
    if spec.init:
        container["Init"] = True
    if spec.extra_hosts:
        # compose's HOST=ADDRESS entries as the Engine API's /etc/hosts lines ("ADDRESS HOST").
        container["Hosts"] = [
            f"{address} {host}" for host, _, address in (e.partition("=") for e in spec.extra_hosts)
        ]
    check = health_config(spec, deployed=True)
    if check is not None:
        container["Healthcheck"] = swarm_healthcheck(check)
    return container


def _update(order: str, monitor: float, failure: str) -> dict[str, Any]:
    return {
        "Parallelism": 1,
        "Delay": _NS,
        "FailureAction": failure,
        "Monitor": int(monitor * _NS),
        "MaxFailureRatio": 0,
        "Order": order,
    }


def _service(
    inputs: Inputs,
    spec: ServiceSpec,
    *,
    kind: str,
    mode: dict[str, Any],
    container: dict[str, Any],
    order: str,
    monitor: float,
    placement: dict[str, Any] | None = None,
    ports: list[dict[str, Any]] | None = None,
    extra_mounts: list[dict[str, Any]] | None = None,
    left_out_volumes: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    mounts = [
        {
            "Type": "volume",
            "Source": f"{inputs.app}_{m.source}",
            "Target": m.target,
            "ReadOnly": bool(m.read_only),
        }
        for m in spec.volumes
        if m.source not in left_out_volumes
    ]
    mounts += extra_mounts or []
    if mounts:
        container["Mounts"] = mounts
    endpoint: dict[str, Any] = {"Mode": "dnsrr"}
    if ports:
        endpoint["Ports"] = ports
    networks = [{"Target": inputs.network or network_name(inputs.app), "Aliases": [spec.name]}]
    return _body(
        inputs,
        spec.name,
        kind=kind,
        mode=mode,
        container=container,
        order=order,
        monitor=monitor,
        placement=placement or {},
        networks=networks,
        endpoint=endpoint,
    )


def _body(
    inputs: Inputs,
    role: str,
    *,
    kind: str,
    mode: dict[str, Any],
    container: dict[str, Any],
    order: str,
    monitor: float,
    placement: dict[str, Any],
    networks: list[dict[str, Any]] | None,
    endpoint: dict[str, Any],
) -> dict[str, Any]:
    """A service's spec around its container spec, with its labels and their fingerprint
    (`networks` None: on no network)."""
    service_labels = {
        NAMESPACE: inputs.app,
        labels.APP: inputs.app,
        labels.KIND: kind,
        labels.ROLE: role,
    }
    if kind == "role":
        service_labels[labels.RELEASE] = inputs.version
    template: dict[str, Any] = {
        "ContainerSpec": container,
        "RestartPolicy": {"Condition": "any", "Delay": 2 * _NS, "MaxAttempts": 0},
        "Placement": placement,
        "ForceUpdate": 0,
    }
    if networks is not None:
        template["Networks"] = networks
    body: dict[str, Any] = {
        "Name": service_name(inputs.app, role),
        "Labels": service_labels,
        "TaskTemplate": template,
        "Mode": mode,
        "UpdateConfig": _update(order, monitor, "rollback"),
        "RollbackConfig": _update(order, monitor, "pause"),
        "EndpointSpec": endpoint,
    }
    body["Labels"] = {**service_labels, SPEC_HASH: spec_hash(body)}
    return body


def spec_hash(body: Mapping[str, Any]) -> str:
    """A fingerprint of a spec (without its own label): unchanged specs are not updated."""
    shown = EngineServiceSpec(body).fingerprinted(SPEC_HASH)
    return hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()[:16]


def service_specs(
    app: AppDefinition, inputs: Inputs, swarm: SwarmSettings
) -> dict[str, dict[str, Any]]:
    """compose service -> its Swarm service spec: accessories, roles, then the proxy (the order
    they are created in)."""
    specs: dict[str, dict[str, Any]] = {}
    tls = inputs.tls if app.proxy is not None else None
    acme = tls if tls is not None and tls.ordered else None
    if tls is not None and app.proxy is not None:
        specs[swarm_tls.CERTSYNC] = _certsync(inputs, inputs.images[app.proxy], tls, swarm)
    for accessory in app.accessories:
        spec = app.spec(accessory.service)
        constraints = [f"node.labels.{accessory_label(inputs.app, accessory.service)}==true"]
        environment = dict(spec.environment)
        extra_mounts = []
        if (
            acme is not None
            and app.proxy is not None
            and accessory.service == swarm_tls.ACME_CLIENT
        ):
            environment.update(
                swarm_tls.client_environment(inputs.app, acme, app.proxy, inputs.nodes)
            )
            constraints.append(swarm_tls.ON_A_MANAGER)
            extra_mounts = swarm_tls.client_mounts()
        specs[accessory.service] = _service(
            inputs,
            spec,
            kind="accessory",
            mode={"Replicated": {"Replicas": 1}},
            container=_container(
                spec,
                inputs.images[accessory.service],
                environment,
                list(inputs.secrets.get(accessory.service, [])),
            ),
            order="stop-first",
            monitor=swarm.monitor,
            placement={"Constraints": constraints},
            extra_mounts=extra_mounts,
        )
    for role in app.roles:
        spec = app.spec(role.service)
        default = inputs.nodes if role.proxy_port is not None else 1
        specs[role.service] = _service(
            inputs,
            spec,
            kind="role",
            mode={"Replicated": {"Replicas": swarm.replicas_of(role.service, default)}},
            container=_container(
                spec,
                inputs.images[role.service],
                {
                    k: v
                    for k, v in {**spec.environment, **inputs.environment}.items()
                    if k not in inputs.leave_out
                },
                list(inputs.secrets.get(role.service, [])),
            ),
            order="start-first" if role.proxy_port is not None else "stop-first",
            monitor=swarm.monitor,
        )
    proxied = app.proxied
    if app.proxy is not None and proxied is not None:
        spec = app.spec(app.proxy)
        upstream = f"tasks.{service_name(inputs.app, proxied.service)}:{proxied.proxy_port}"
        environment = {
            **spec.environment,
            "NGINX_UPSTREAM": upstream,
            "UPSTREAM_RECHECK_SECONDS": "1",
            **(swarm_tls.proxy_environment(tls) if tls is not None else {}),
        }
        specs[app.proxy] = _service(
            inputs,
            spec,
            kind="proxy",
            mode={"Global": {}},
            container=_container(
                spec,
                inputs.images[app.proxy],
                environment,
                list(inputs.secrets.get(app.proxy, [])),
            ),
            # Host-mode ports: a new proxy task cannot bind the port before the old one is gone.
            order="stop-first",
            monitor=swarm.monitor,
            ports=_proxy_ports(inputs),
            extra_mounts=(
                [swarm_tls.tls_mount(inputs.app, swarm_tls.TLS_DIR, read_only=True)]
                if tls is not None
                else []
            ),
            left_out_volumes=swarm_tls.client_volumes(app) if acme is not None else frozenset(),
        )
    return specs


def _certsync(
    inputs: Inputs, image: str, tls: swarm_tls.SwarmTls, swarm: SwarmSettings
) -> dict[str, Any]:
    """The global service writing the certificate into every node's `tls` volume
    (`swarm/tls.py`), from the proxy's image. Its secrets: the given chain and key (files: part
    of its fingerprint, so a changed certificate is an update), or what certbot last gave it
    (acme: left out of it, so a renewal is no change to deploy)."""
    container: dict[str, Any] = {
        "Image": image,
        "Labels": {},
        "Command": list(swarm_tls.CERTSYNC_COMMAND),
        "Env": tls.certsync_environment(),
        "Secrets": [] if tls.ordered else [dict(ref) for ref in tls.secrets],
        "StopGracePeriod": 2 * _NS,
        # The proxy image's own check asks nginx, which this task does not run.
        "Healthcheck": {"Test": ["NONE"]},
        "Mounts": [swarm_tls.tls_mount(inputs.app, "/certificate", read_only=False)],
    }
    body = _body(
        inputs,
        swarm_tls.CERTSYNC,
        kind="accessory",
        mode={"Global": {}},
        container=container,
        order="stop-first",
        monitor=swarm.monitor,
        placement={},
        networks=None,
        endpoint={"Mode": "dnsrr"},
    )
    if tls.ordered:
        container["Secrets"] = [dict(ref) for ref in tls.secrets]
    return body


def _proxy_ports(inputs: Inputs) -> list[dict[str, Any]]:
    published = {PROXY_PORT: inputs.http_port}
    if inputs.https_port is not None:
        published[TLS_PORT] = inputs.https_port
    return [
        {"Protocol": "tcp", "TargetPort": target, "PublishedPort": port, "PublishMode": "host"}
        for target, port in published.items()
    ]


def changes(current: Mapping[str, Any] | None, wanted: Mapping[str, Any]) -> list[str]:
    """What an update would change, one `path: old -> new` line each (secrets by name only)."""
    if current is None:
        return ["(new service)"]
    old, new = _flatten(normal(current)), _flatten(normal(wanted))
    lines = []
    for key in sorted(set(new) | set(old)):
        if key.endswith((SPEC_HASH, ".SecretID")):
            continue
        if key not in new and key in old and _defaulted(key):
            continue
        if old.get(key) != new.get(key):
            lines.append(f"{key}: {_short(old.get(key))} -> {_short(new.get(key))}")
    return lines


def _defaulted(key: str) -> bool:
    """Fields the engine fills in itself when a spec leaves them out."""
    return any(
        part in key
        for part in (
            "Isolation",
            "Resources",
            "Platforms",
            "ForceUpdate",
            "DNSConfig",
            "Runtime",
            "LogDriver",
            "Placement.Platforms",
        )
    )


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        out = {}
        for i, item in enumerate(value):
            out.update(_flatten(item, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def _short(value: Any) -> str:
    text = "-" if value is None else json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:77] + "..."
