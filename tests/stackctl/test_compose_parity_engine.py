"""Parity with compose v2: every compose file of the suite that stackctl accepts resolves, in
stackctl's model and in `docker compose config --format json`, to the same image, command,
environment, ports, mounts, networks, secrets, depends_on, healthcheck and labels (and the
other keys stackctl reads). A difference fails unless KNOWN_DIFFERENCES lists it with a reason.

compose v2 is the peer here only (src/ never runs it): `.ci/install-compose-v2` installs it. In
CI (CI=true) its absence fails the test instead of skipping it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from stackctl.compose import Project, ServiceSpec
from stackctl.compose.durations import parse_duration
from stackctl.plan.converge import image_name
from stackctl.plan.secretmounts import secret_target
from stackctl.stack.workspace import load_workspace
from support.compose_texts import COMPOSE_KEYS, SMALL_STACK

pytestmark = pytest.mark.engine

REPO = Path(__file__).resolve().parents[2]
PARITY_DIR = Path(__file__).resolve().parent / "compose_parity"
PROJECT = "parity"

# (fixture, service, field) -> why stackctl and compose v2 differ there on purpose.
KNOWN_DIFFERENCES: dict[tuple[str, str, str], str] = {}


def compose_v2() -> list[str]:
    """The compose v2 command line, or a skip (a failure under CI) naming how to install it."""
    found = shutil.which("docker")
    if found is not None:
        answer = subprocess.run(
            [found, "compose", "version"], capture_output=True, text=True, check=False
        )
        if answer.returncode == 0 and "version v1" not in answer.stdout.lower():
            return [found, "compose"]
    reason = (
        "compose v2 is not installed (`docker compose version` fails): run .ci/install-compose-v2"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def inline_fixtures(root: Path) -> Iterator[tuple[str, Path, dict[str, str]]]:
    """The engine tests' own stacks, written out as their tests write them."""
    keys = root / "engine-compose-keys"
    keys.mkdir()
    (keys / "compose.yaml").write_text(COMPOSE_KEYS)
    (keys / "db_password.txt").write_text("not-a-real-password\n")
    yield "engine-compose-keys", keys, {"API_KEY": "not-a-real-key", "COMPOSE_PROFILES": "debug"}
    small = root / "engine-small"
    small.mkdir()
    (small / "compose.yaml").write_text(SMALL_STACK)
    yield "engine-small", small, {"COMPOSE_PROFILES": "sick"}


def fixtures(root: Path) -> list[tuple[str, Path, dict[str, str]]]:
    """(name, project folder, extra environment) for every compose file compared. The deploy
    tests' override files and the develop override are read over the project's compose.yaml
    (COMPOSE_FILE for compose v2, STACK_MODE=develop for stackctl's own override)."""
    found = [
        (folder.name, folder, {}) for folder in sorted(PARITY_DIR.iterdir()) if folder.is_dir()
    ]
    found.append(("project-production", REPO, {"STACK_MODE": "production"}))
    develop = {
        "STACK_MODE": "develop",
        "COMPOSE_FILE": "compose.yaml:containers/compose.develop.yaml",
    }
    found.append(("project-develop", REPO, develop))
    deploy = root / "deploy"
    deploy.mkdir()
    for file in sorted((REPO / "tests" / "deploy").glob("compose.*.yaml")):
        # An override of the project's file: stackctl reads it where its develop override is.
        folder = deploy / file.stem
        shutil.copytree(REPO / "containers", folder / "containers")
        shutil.copy(REPO / "compose.yaml", folder / "compose.yaml")
        shutil.copy(file, folder / "containers" / "compose.develop.yaml")
        (folder / "SECRET_KEY").write_text("not-a-real-key\n")
        found.append((file.stem, folder, {**develop, "DEPLOY_TEST_SECRETS_DIR": str(folder)}))
    found.extend(inline_fixtures(root))
    return found


def environment(extra: Mapping[str, str]) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/root"),
        "COMPOSE_PROJECT_NAME": PROJECT,
        **extra,
    }


def compose_model(command: list[str], folder: Path, environ: Mapping[str, str]) -> dict[str, Any]:
    answer = subprocess.run(
        [*command, "config", "--format", "json"],
        cwd=folder,
        env=dict(environ),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert answer.returncode == 0, f"compose v2 refused {folder}: {answer.stderr.strip()}"
    model: dict[str, Any] = json.loads(answer.stdout)
    return model


def seconds(text: object, default: float) -> float:
    return default if text is None else parse_duration(str(text))


def compose_port(port: Mapping[str, Any]) -> tuple[str, int | None, int, str]:
    published = int(port["published"]) if port.get("published") else None
    return (port.get("host_ip", ""), published, int(port["target"]), port.get("protocol", "tcp"))


def from_compose(
    name: str, service: Mapping[str, Any], project: Mapping[str, Any]
) -> dict[str, Any]:
    """compose v2's service, in the shapes `from_stackctl` gives."""
    check = service.get("healthcheck")
    healthcheck = None
    if check is not None:
        test = ["NONE"] if check.get("disable") else list(check.get("test") or [])
        healthcheck = (
            test,
            seconds(check.get("interval"), 30),
            seconds(check.get("timeout"), 30),
            seconds(check.get("start_period"), 0),
            check.get("retries", 3),
        )
    deploy = service.get("deploy") or {}
    limits = (deploy.get("resources") or {}).get("limits") or {}
    return {
        "image": service.get("image") or f"{PROJECT}-{name}",
        "command": service.get("command"),
        "entrypoint": service.get("entrypoint"),
        "environment": {
            k: v for k, v in (service.get("environment") or {}).items() if v is not None
        },
        "ports": sorted(map(compose_port, service.get("ports") or []), key=repr),
        "mounts": [
            (m["type"], m.get("source", ""), m["target"], bool(m.get("read_only", False)))
            for m in service.get("volumes") or []
        ],
        "networks": {
            net: sorted((settings or {}).get("aliases") or [])
            for net, settings in (service.get("networks") or {}).items()
        },
        "secrets": [
            (s["source"], secret_target(s.get("target") or s["source"]))
            for s in service.get("secrets") or []
        ],
        "secret_sources": {
            s["source"]: project["secrets"][s["source"]].get("file")
            or project["secrets"][s["source"]].get("environment")
            for s in service.get("secrets") or []
        },
        "depends_on": {
            dep: settings.get("condition", "service_started")
            for dep, settings in (service.get("depends_on") or {}).items()
        },
        "healthcheck": healthcheck,
        "labels": dict(service.get("labels") or {}),
        "expose": [str(port) for port in service.get("expose") or []],
        "container_name": service.get("container_name"),
        "network_mode": service.get("network_mode"),
        "replicas": deploy.get("replicas", service.get("scale", 1)),
        "limits": {
            "cpus": limits.get("cpus", service.get("cpus")),
            "memory": int(limits.get("memory") or service.get("mem_limit") or 0) or None,
            "pids": limits.get("pids", service.get("pids_limit")),
        },
        "privileged": bool(service.get("privileged", False)),
        "read_only": bool(service.get("read_only", False)),
        "security_opt": list(service.get("security_opt") or []),
        "shm_size": int(service["shm_size"]) if service.get("shm_size") else None,
        "tmpfs": list(service.get("tmpfs") or []),
        "dns": list(service.get("dns") or []),
        "dns_search": list(service.get("dns_search") or []),
        "pid": service.get("pid"),
        "ipc": service.get("ipc"),
        "group_add": [str(group) for group in service.get("group_add") or []],
        "restart": service.get("restart", "no"),
        "user": service.get("user"),
        "hostname": service.get("hostname"),
        "init": bool(service.get("init", False)),
        "cap_add": sorted(service.get("cap_add") or []),
        "sysctls": {k: str(v) for k, v in (service.get("sysctls") or {}).items()},
        "extra_hosts": list(service.get("extra_hosts") or []),
        "ipv4_addresses": {
            net: (settings or {}).get("ipv4_address")
            for net, settings in (service.get("networks") or {}).items()
        },
    }


def from_stackctl(project: Project, spec: ServiceSpec) -> dict[str, Any]:
    check = spec.healthcheck
    limits = spec.deploy.resources.limits
    return {
        "image": image_name(project, spec),
        "command": spec.command,
        "entrypoint": spec.entrypoint,
        "environment": dict(spec.environment),
        "ports": sorted(
            ((p.host_ip, p.published, p.target, p.protocol) for p in spec.ports), key=repr
        ),
        "mounts": [(m.type, m.source, m.target, m.read_only) for m in spec.volumes],
        "networks": {name: sorted(net.aliases) for name, net in spec.networks.items()},
        "secrets": [(s.source, secret_target(s.file_name)) for s in spec.secrets],
        "secret_sources": {
            s.source: str(project.secrets[s.source].file or "")
            or project.secrets[s.source].environment
            for s in spec.secrets
        },
        "depends_on": {dep: on.condition for dep, on in spec.depends_on.items()},
        "healthcheck": None
        if check is None
        else (check.test, check.interval, check.timeout, check.start_period, check.retries),
        "labels": dict(spec.labels),
        "expose": spec.expose,
        "container_name": spec.container_name,
        "network_mode": spec.network_mode,
        "replicas": spec.replicas,
        "limits": {"cpus": limits.cpus, "memory": limits.memory, "pids": limits.pids},
        "privileged": spec.privileged,
        "read_only": spec.read_only,
        "security_opt": spec.security_opt,
        "shm_size": spec.shm_size,
        "tmpfs": spec.tmpfs,
        "dns": spec.dns,
        "dns_search": spec.dns_search,
        "pid": spec.pid,
        "ipc": spec.ipc,
        "group_add": spec.group_add,
        "restart": spec.restart,
        "user": spec.user,
        "hostname": spec.hostname,
        "init": spec.init,
        "cap_add": sorted(spec.cap_add),
        "sysctls": dict(spec.sysctls),
        "extra_hosts": spec.extra_hosts,
        "ipv4_addresses": {name: net.ipv4_address for name, net in spec.networks.items()},
    }


def differences(name: str, folder: Path, extra: Mapping[str, str], command: list[str]) -> list[str]:
    environ = environment(extra)
    theirs = compose_model(command, folder, environ)
    ours = load_workspace(folder, environ=environ).project
    found: list[str] = []
    for key, network in ours.networks.items():
        if key not in theirs.get("networks", {}):
            continue  # compose v2 lists only the networks a service joins
        ipam = (theirs["networks"][key].get("ipam") or {}).get("config") or []
        got = (
            [pool.model_dump(exclude_none=True) for pool in network.ipam.config]
            if network.ipam
            else []
        )
        if ipam != got:
            found.append(f"{name}: networks.{key}.ipam: compose v2 {ipam!r}, stackctl {got!r}")
    if sorted(theirs["services"]) != sorted(ours.services):
        found.append(f"{name}: services {sorted(theirs['services'])} != {sorted(ours.services)}")
    for service in sorted(set(theirs["services"]) & set(ours.services)):
        expected = from_compose(service, theirs["services"][service], theirs)
        got = from_stackctl(ours, ours.services[service])
        for field, value in expected.items():
            if got[field] != value and (name, service, field) not in KNOWN_DIFFERENCES:
                found.append(
                    f"{name}: {service}.{field}: compose v2 {value!r}, stackctl {got[field]!r}"
                )
    return found


def test_stackctl_resolves_every_accepted_fixture_as_compose_v2_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command = compose_v2()
    compared = fixtures(tmp_path)

    found = [
        line
        for name, folder, extra in compared
        for line in differences(name, folder, extra, command)
    ]

    assert found == []
    with capsys.disabled():
        print(f"\ncompose v2 parity: {len(compared)} compose files compared")
    assert len(compared) >= 14
