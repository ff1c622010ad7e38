"""`invoke doctor`: what a newcomer or a fresh ECS host gets wrong, one line each, with the fix.

Every check is a small function given what it needs (a client factory, a port prober, ...), so
tests can hand it a failure. Checks that wait on the network or on other programs run in
background threads: the whole run stays within a few seconds even when nothing answers. Secrets
are named, never shown.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from stackctl.compose import Project
from stackctl.engine import DEFAULT_HOST
from stackctl.engine.models import EngineVersion, disk_usage_images
from stackctl.errors import EngineUnreachable, SettingsError, StackError
from stackctl.settings import StackSettings, load_settings
from stackctl.stack.portholders import PortHolder, port_holders
from stackctl.stack.probes import bind_error, head_error, pyenv_versions, runnable_python, shown_url
from stackctl.tls.settings import HttpsSettings

if TYPE_CHECKING:
    import docker

Status = Literal["ok", "warn", "fail"]

DEFAULT_PIP_INDEX = "https://pypi.org/simple"
DOCKER_DATA_DIR = Path("/var/lib/docker")
GB = 1_000_000_000
RECLAIMABLE_WARN_BYTES = 2 * GB
DISK_WARN_BYTES = 5 * GB
DISK_FAIL_BYTES = 1 * GB
URL_TIMEOUT = 2.0
# Budgets for the background checks: a registry gets its own timeout plus a little, the engine
# (an ssh:// host can be slow to shake hands) and the interpreters get more.
URL_BUDGET = URL_TIMEOUT + 0.5
SLOW_BUDGET = 15.0
# The app's own check starts a Python that imports the whole app: about 1.5 s on an idle machine,
# over 15 s seen on a loaded 2-core one.
APP_BUDGET = 30.0
# The setting that moves a published port, where compose.yaml interpolates one.
PORT_SETTINGS = {"nginx": ("NGINX_HOST", "NGINX_PORT")}
_PYTHON_CLASSIFIER = re.compile(r"Programming Language :: Python :: (3\.\d+)\b")


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    """One line: what was found, or what to do."""
    blocks_up: bool = False


class DiskUsage(Protocol):
    @property
    def free(self) -> int: ...


ClientFactory = Callable[[StackSettings], "docker.DockerClient"]
PortProbe = Callable[[str, int, str], "int | None"]
UrlProbe = Callable[[str, float], "str | None"]
FindPython = Callable[[str], "str | None"]
AppSettingsCheck = Callable[[Mapping[str, str], Path], Check]


def connect_quickly(settings: StackSettings) -> docker.DockerClient:
    from stackctl.engine import connect

    return connect(settings, timeout=5)


def blocking(checks: Sequence[Check]) -> list[Check]:
    return [check for check in checks if check.status == "fail" and check.blocks_up]


def summary(checks: Sequence[Check]) -> str:
    counts = {status: sum(c.status == status for c in checks) for status in ("ok", "warn", "fail")}
    blockers = blocking(checks)
    verdict = (
        f"{len(blockers)} blocking `invoke up`: {', '.join(c.name for c in blockers)}"
        if blockers
        else "nothing blocks `invoke up`"
    )
    return f"{counts['ok']} ok, {counts['warn']} to look at, {counts['fail']} failed: {verdict}"


def diagnose(
    project_dir: Path,
    compose_file: str = "compose.yaml",
    environ: Mapping[str, str] | None = None,
    *,
    connect: ClientFactory = connect_quickly,
    check_app: AppSettingsCheck | None = None,
) -> list[Check]:
    """Load the workspace as `invoke up` would, then run every check; never raises StackError."""
    from stackctl.compose.envfiles import read_dotenv
    from stackctl.stack.workspace import load_workspace

    environ = dict(os.environ if environ is None else environ)
    try:
        dotenv = read_dotenv(project_dir, environ)
    except StackError:
        dotenv = {}  # load_workspace meets the same error: it is the first line
    project: Project | None = None
    https_settings: HttpsSettings | None = None
    try:
        found = load_workspace(project_dir, environ=environ, compose_file=compose_file)
    except StackError as exc:
        first = Check("stack settings", "fail", str(exc), blocks_up=True)
        try:
            settings = load_settings(project_dir, environ, dotenv, compose_file)
        except SettingsError:
            settings = load_settings(project_dir, {}, {}, compose_file)
    else:
        settings, project, https_settings = found.settings, found.project, found.https
        first = Check(
            "stack settings",
            "ok",
            f"project {project.name}: {len(project.services)} services, {settings.mode} mode",
        )
    checks = run_checks(
        settings, project, environ={**dotenv, **environ}, connect=connect, check_app=check_app
    )
    https = check_https(https_settings, project_dir) if https_settings else []
    return [first, *checks, *https, check_tool_environment(project_dir)]


def check_https(https: HttpsSettings, project_dir: Path) -> list[Check]:
    """Which certificate each host name will have, where from, when it expires (read only)."""
    if https.mode == "off":
        return [
            Check("https", "ok", "off: plain HTTP (STACK_HTTPS=local|files|acme|lb serves HTTPS)")
        ]
    import datetime as dt

    from stackctl.tls.prepare import planned_certificates

    now = dt.datetime.now(dt.timezone.utc)
    try:
        rows = planned_certificates(https, project_dir, now)
    except StackError as exc:
        return [Check("https", "fail", str(exc), blocks_up=True)]
    return [Check(f"https {row.host}", "ok", row.describe(now)) for row in rows]


def run_checks(
    settings: StackSettings,
    project: Project | None,
    *,
    environ: Mapping[str, str],
    connect: ClientFactory = connect_quickly,
    probe_port: PortProbe = bind_error,
    probe_url: UrlProbe = head_error,
    disk_usage: Callable[[str], DiskUsage] = shutil.disk_usage,
    find_python: FindPython = runnable_python,
    pythons: Sequence[str] | None = None,
    installed_pythons: Sequence[str] | None = None,
    docker_data_dir: Path = DOCKER_DATA_DIR,
    check_app: AppSettingsCheck | None = None,
) -> list[Check]:
    """Every check, in the order a newcomer fixes them: engine first, settings last."""
    targets = registry_targets(settings)
    registries = [
        _started(functools.partial(_as_list, check_registry, name, url, setting, probe_url))
        for name, url, setting in targets
    ]
    versions = nox_pythons(settings.project_dir) if pythons is None else list(pythons)
    installed = pyenv_versions(environ) if installed_pythons is None else installed_pythons
    interpreters = _started(
        functools.partial(_as_list, check_pythons, versions, find_python, installed)
    )
    instance = settings.project_dir / "instance"
    app = _started(functools.partial(_as_list, check_app, environ, instance) if check_app else list)
    engine = _started(functools.partial(engine_checks, settings, project, connect, probe_port))

    checks = _finished(engine, SLOW_BUDGET, Check("Docker engine", "fail", _late(SLOW_BUDGET)))
    for registry, (name, _, _) in zip(registries, targets, strict=True):
        checks += _finished(registry, URL_BUDGET, Check(name, "warn", _late(URL_BUDGET)))
    checks.append(check_disk(disk_usage, docker_data_dir))
    late = _late(SLOW_BUDGET)
    checks += _finished(interpreters, SLOW_BUDGET, Check("Pythons for nox", "warn", late))
    checks += _finished(app, APP_BUDGET, Check("app settings", "warn", _late(APP_BUDGET)))
    return checks


def engine_checks(
    settings: StackSettings,
    project: Project | None,
    connect: ClientFactory,
    probe_port: PortProbe,
) -> list[Check]:
    engine, client = check_engine(settings, connect)
    try:
        holders = port_holders(client) if client is not None else {}
        ports = check_ports(project, holders, probe_port) if project is not None else []
        return [engine, check_base_images(client, settings), *ports, check_reclaimable(client)]
    finally:
        if client is not None:
            client.close()


def check_engine(
    settings: StackSettings, connect: ClientFactory
) -> tuple[Check, docker.DockerClient | None]:
    try:
        client = connect(settings)
        version = EngineVersion(client.version())
    except EngineUnreachable as exc:
        return Check("Docker engine", "fail", str(exc), blocks_up=True), None
    except Exception as exc:  # the engine answered the ping, then refused: its words, one line
        detail = f"the engine answered but failed: {_one_line(exc)}"
        return Check("Docker engine", "fail", detail, blocks_up=True), None
    where = settings.docker_host or DEFAULT_HOST
    found = f"Docker {version.version} (API {version.api_version})"
    return Check("Docker engine", "ok", f"{found} at {where}"), client


def check_base_images(client: docker.DockerClient | None, settings: StackSettings) -> Check:
    if client is None:
        return Check("base images", "warn", "not checked: no engine answers")
    from stackctl.images.baseimages import missing_base_images

    missing = missing_base_images(client, settings)
    if missing:
        detail = (
            f"missing {', '.join(missing)}: run `invoke base` (builds them offline), "
            "or set PYTHON_BASE_IMAGE / NGINX_BASE_IMAGE / REDIS_BASE_IMAGE to images you have"
        )
        return Check("base images", "fail", detail, blocks_up=True)
    present = ", ".join(dict.fromkeys(settings.base_images.values()))
    return Check("base images", "ok", present)


def check_reclaimable(client: docker.DockerClient | None) -> Check:
    """Space held by images no container uses, as `docker system df` counts it (what a layer
    shares with a used image is not reclaimable). `invoke up` removes what its own rebuilds
    leave behind; this shows the rest."""
    if client is None:
        return Check("reclaimable space", "warn", "not checked: no engine answers")
    from docker.errors import APIError

    try:
        images = disk_usage_images(client.api)
    except APIError as exc:
        # The engine runs one disk-usage count at a time ("a disk usage operation is already
        # running" while another `docker system df` or doctor counts): a fact, not a fault.
        reason = " ".join(str(exc.explanation or exc).split())
        return Check("reclaimable space", "warn", f"not counted now: the engine says {reason}")
    unused = [image for image in images if not image.containers]
    reclaimable = sum(max(0, image.size - max(0, image.shared_size)) for image in unused)
    dangling = sum(1 for image in unused if not image.tags)
    found = f"{reclaimable / GB:.1f} GB in {len(unused)} unused images ({dangling} untagged)"
    if reclaimable >= RECLAIMABLE_WARN_BYTES:
        return Check(
            "reclaimable space", "warn", f"{found}: `docker image prune` frees the untagged"
        )
    return Check("reclaimable space", "ok", found)


def check_ports(
    project: Project,
    holders: Mapping[tuple[int, str], PortHolder],
    probe_port: PortProbe,
) -> list[Check]:
    checks = []
    for service, spec in project.services.items():
        for port in spec.ports:
            if port.published is None:
                continue
            address = f"{port.host_ip or '0.0.0.0'}:{port.published}"
            name = f"port {address} ({service})"
            holder = holders.get((port.published, port.protocol))
            if holder and holder.project == project.name and holder.service == service:
                detail = f"published by this stack's {service} ({holder.container})"
                checks.append(Check(name, "ok", detail))
                continue
            problem = probe_port(port.host_ip, port.published, port.protocol)
            checks.append(_port_check(name, service, port.published, problem, holder))
    return checks


def _port_check(
    name: str, service: str, port: int, problem: int | None, holder: PortHolder | None
) -> Check:
    host_setting, port_setting = PORT_SETTINGS.get(service, ("", ""))
    move = (
        f"set {port_setting} to a free port"
        if port_setting
        else f"change services.{service}.ports in the compose file"
    )
    if problem is None:
        return Check(name, "ok", "free")
    if problem == errno.EADDRINUSE:
        who = (
            f"container {holder.container}: stop it (`docker stop {holder.container}`)"
            if holder
            else f"another process: stop it (`ss -ltnp 'sport = :{port}'` names it)"
        )
        return Check(name, "fail", f"taken by {who} or {move}", blocks_up=True)
    if problem == errno.EADDRNOTAVAIL:
        fix = f"set {host_setting}" if host_setting else move
        detail = f"not an address of this host: {fix} (127.0.0.1 for this host only)"
        return Check(name, "fail", detail, blocks_up=True)
    reason = errno.errorcode.get(problem, str(problem))
    return Check(name, "warn", f"cannot test it here ({reason}); the engine may still bind it")


def registry_targets(settings: StackSettings) -> list[tuple[str, str, str]]:
    """(check name, configured URL, setting that changes it) for each package registry."""
    return [
        ("pip index", settings.pip_index_url or DEFAULT_PIP_INDEX, "PIP_INDEX_URL"),
        ("Debian mirror", settings.debian_mirror, "DEBIAN_MIRROR"),
    ]


def check_registry(name: str, url: str, setting: str, probe_url: UrlProbe) -> Check:
    probe = url.rstrip("/") + ("/dists/bookworm/Release" if setting == "DEBIAN_MIRROR" else "/pip/")
    problem = probe_url(probe, URL_TIMEOUT)
    if problem is None:
        return Check(name, "ok", f"{shown_url(url)} answers")
    detail = (
        f"{shown_url(url)}: {problem}: builds work from cached layers only; "
        f"set {setting} to a mirror you can reach"
    )
    return Check(name, "warn", detail)


def check_disk(disk_usage: Callable[[str], DiskUsage], docker_data_dir: Path) -> Check:
    where = docker_data_dir if docker_data_dir.exists() else Path("/")
    free = disk_usage(str(where)).free
    found = f"{free / GB:.1f} GB free at {where}"
    fix = "free space (`docker image prune`, `docker builder prune`)"
    if free < DISK_FAIL_BYTES:
        return Check("disk space", "fail", f"{found}: builds will fail: {fix}", blocks_up=True)
    if free < DISK_WARN_BYTES:
        return Check("disk space", "warn", f"{found}: under 5 GB: {fix}")
    return Check("disk space", "ok", found)


def nox_pythons(project_dir: Path) -> list[str]:
    """The versions nox's `python_versions(pyproject)` reads: the 3.X classifiers."""
    pyproject = project_dir / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8") if pyproject.is_file() else ""
    return list(dict.fromkeys(_PYTHON_CLASSIFIER.findall(text)))


def check_pythons(
    versions: Sequence[str], find_python: FindPython, installed: Sequence[str]
) -> Check:
    if not versions:
        return Check("Pythons for nox", "warn", "no Python 3.X classifiers in pyproject.toml")
    # Each lookup may start a pyenv shim (~0.15 s): look them up side by side.
    with ThreadPoolExecutor(max_workers=len(versions)) as pool:
        found = dict(zip(versions, pool.map(find_python, versions), strict=True))
    missing = [v for v in versions if found[v] is None]
    if not missing:
        return Check("Pythons for nox", "ok", ", ".join(versions))
    current = f"{sys.version_info.major}.{sys.version_info.minor}"
    wanted = sorted(versions, key=lambda v: v != current)
    newest = {v: _newest_patch(v, installed) for v in wanted}
    if all(newest.values()):
        fix = f"export PYENV_VERSION={':'.join(str(newest[v]) for v in wanted)}"
    else:
        absent = [v for v in missing if not newest[v]]
        fix = (
            f"install {', '.join(f'python{v}' for v in absent)} (e.g. `pyenv install {absent[0]}`)"
        )
    names = ", ".join(f"python{v}" for v in missing)
    return Check("Pythons for nox", "warn", f"{names} not found on PATH: {fix}")


def _newest_patch(version: str, installed: Sequence[str]) -> str | None:
    patches = [v for v in installed if re.fullmatch(rf"{re.escape(version)}\.\d+", v)]
    return max(patches, key=lambda v: int(v.rsplit(".", 1)[1]), default=None)


def app_settings_check(command: Sequence[str]) -> AppSettingsCheck:
    """The app's own settings check, run as `command` plus `--instance-path DIR` with the stack's
    environment. The app owns its rules; stackctl never imports it (tasks.py names the command).

    The command prints one JSON line `{"config", "status", "detail"}` naming settings, never
    their values.
    """

    def check(environ: Mapping[str, str], instance_path: Path) -> Check:
        shown = " ".join(command)
        try:
            done = subprocess.run(
                [*command, "--instance-path", str(instance_path)],
                env=dict(environ),
                capture_output=True,
                text=True,
                timeout=APP_BUDGET,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return Check("app settings", "warn", f"`{shown}` did not run: {_one_line(exc)}")
        return app_report(done.stdout, done.returncode, shown)

    return check


def app_report(stdout: str, code: int, shown: str, where: str = "") -> Check:
    """The app's settings check as a Check, from its output (one JSON line `{"config", "status",
    "detail", "credentials"}` naming settings, never their values) and exit code; `where` is
    added to the check's name (a deploy host)."""
    name = f"app settings{f' on {where}' if where else ''}"
    try:
        report = json.loads(stdout.strip().splitlines()[-1])
        config, status, detail = report["config"], report["status"], report["detail"]
    except (IndexError, ValueError, KeyError, TypeError):
        # Its stderr may hold a traceback with values in it: point at the command instead.
        detail = f"`{shown}` exited with code {code} and no answer: run it to see why"
        return Check(name, "warn", detail)
    if status not in ("ok", "warn", "fail"):
        return Check(name, "warn", f"`{shown}` answered {status!r}")
    # Where the app's OSS credentials come from (no secrets: the app says it in words).
    credentials = report.get("credentials")
    if isinstance(credentials, str) and credentials and status != "fail":
        detail = f"{detail}; OSS credentials: {credentials}"
    name = f"app settings ({config}){f' on {where}' if where else ''}"
    return Check(name, status, str(detail), blocks_up=status == "fail")


def check_tool_environment(
    project_dir: Path,
    prefix: str = sys.prefix,
    base_prefix: str = sys.base_prefix,
    stdlib: str | None = None,
) -> Check:
    """The tools belong in the project's .venv (README command 1 makes it): a system Python
    marked externally managed (PEP 668: Debian 12+, Ubuntu 23.04+) refuses `pip install`."""
    name = "tools' Python"
    venv = project_dir / ".venv"
    if Path(prefix).resolve() == venv.resolve():
        return Check(name, "ok", f"running from the project's {venv}")
    if prefix != base_prefix:
        return Check(name, "ok", f"running from the virtual environment {prefix}")
    fix = "run `bash .ci/setup-host` (it makes .venv), then `.venv/bin/invoke ...`"
    if not (venv / "bin" / "invoke").exists():
        fix = f"no {venv} yet: {fix}"
    stdlib = stdlib or sysconfig.get_path("stdlib")
    if (Path(stdlib) / "EXTERNALLY-MANAGED").is_file():
        detail = (
            f"invoke runs on the system Python {prefix}, externally managed (PEP 668): "
            f"`pip install` there fails with externally-managed-environment; {fix}"
        )
        return Check(name, "warn", detail)
    return Check(name, "warn", f"invoke runs outside the project's .venv ({prefix}): {fix}")


def _as_list(check: Callable[..., Check], *args: Any) -> list[Check]:
    return [check(*args)]


def _started(job: Callable[[], list[Check]]) -> Callable[[float], list[Check] | None]:
    """Run `job` in a daemon thread (a hung DNS lookup must not hold the exit); the returned
    function waits until `budget` seconds after the start for the result, None when late."""
    box: list[list[Check] | BaseException] = []

    def run() -> None:
        try:
            box.append(job())
        except BaseException as exc:  # handed to the caller, never lost in the thread
            box.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    thread.start()

    def result(budget: float) -> list[Check] | None:
        thread.join(max(0.0, budget - (time.monotonic() - started)))
        if not box:
            return None
        if isinstance(box[0], BaseException):
            raise box[0]
        return box[0]

    return result


def _finished(
    result: Callable[[float], list[Check] | None], budget: float, late: Check
) -> list[Check]:
    found = result(budget)
    return [late] if found is None else found


def _late(budget: float) -> str:
    return f"no answer within {budget:g} s"


def _one_line(exc: BaseException) -> str:
    text = getattr(exc, "explanation", None) or str(exc) or type(exc).__name__
    return str(text).splitlines()[0][:160]
