"""`invoke doctor`: each check with its dependencies handed in, then the real command."""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import docker.errors
import pytest

from stackctl import labels
from stackctl.compose import PortSpec, Project, ServiceSpec
from stackctl.doctor import doctor
from stackctl.doctor.doctor import Check, PortHolder
from stackctl.errors import EngineUnreachable
from stackctl.settings import (
    DEFAULT_NGINX_BASE,
    DEFAULT_PYTHON_BASE,
    DEFAULT_REDIS_BASE,
    StackSettings,
)
from stackctl.stack.probes import bind_error, head_error, runnable_python, shown_url

ROOT = Path(__file__).resolve().parents[2]
GB = 1_000_000_000
MB = 1_000_000


def settings(tmp_path: Path, **values: Any) -> StackSettings:
    return StackSettings(
        project_dir=tmp_path, compose_file=tmp_path / "compose.yaml", project_name="t", **values
    )


def project(tmp_path: Path, port: int = 8080, host_ip: str = "127.0.0.1") -> Project:
    nginx = ServiceSpec(name="nginx", ports=[PortSpec(host_ip=host_ip, published=port, target=80)])
    redis = ServiceSpec(name="redis", ports=[PortSpec(target=6379)])
    return Project(
        name="t",
        services={"nginx": nginx, "redis": redis},
        volumes={},
        compose_file=tmp_path / "compose.yaml",
        project_dir=tmp_path,
    )


class FakeApi:
    def __init__(self, images: set[str], containers: list[dict[str, Any]]) -> None:
        self.images = images
        self.running = containers
        self.disk_images: list[dict[str, Any]] = []

    def inspect_image(self, name: str) -> dict[str, Any]:
        if name not in self.images:
            raise docker.errors.ImageNotFound(name)
        return {"Id": name}

    def containers(self) -> list[dict[str, Any]]:
        return self.running

    def df(self) -> dict[str, Any]:
        return {"Images": self.disk_images}


class FakeClient:
    def __init__(
        self, images: set[str] | None = None, containers: list[dict[str, Any]] | None = None
    ) -> None:
        default = {DEFAULT_PYTHON_BASE, DEFAULT_NGINX_BASE, DEFAULT_REDIS_BASE}
        self.api = FakeApi(default if images is None else images, containers or [])

    def version(self) -> dict[str, str]:
        return {"Version": "20.10.24", "ApiVersion": "1.41"}

    def close(self) -> None:
        pass


def unreachable(_: StackSettings) -> Any:
    raise EngineUnreachable("no Docker engine answers at unix:///x.sock: start it (`dockerd &`)")


def container(name: str, project: str, service: str, port: int) -> dict[str, Any]:
    return {
        "Names": [f"/{name}"],
        "Labels": {labels.PROJECT: project, labels.SERVICE: service},
        "Ports": [{"IP": "127.0.0.1", "PrivatePort": 80, "PublicPort": port, "Type": "tcp"}],
    }


def free(host_ip: str, port: int, protocol: str) -> int | None:
    return None


def in_use(host_ip: str, port: int, protocol: str) -> int | None:
    return errno.EADDRINUSE


def never_probed(host_ip: str, port: int, protocol: str) -> int | None:
    raise AssertionError("a port this stack publishes itself is not probed")


@dataclass(frozen=True)
class Usage:
    free: int


def run(tmp_path: Path, **overrides: Any) -> list[Check]:
    given: dict[str, Any] = {
        "environ": {},
        "connect": lambda _: FakeClient(),
        "probe_port": free,
        "probe_url": lambda url, timeout: None,
        "disk_usage": lambda path: Usage(free=50 * GB),
        "find_python": lambda version: f"/usr/bin/python{version}",
        "pythons": ["3.10", "3.11"],
        "installed_pythons": [],
    }
    given.update(overrides)
    stack_settings = given.pop("settings", settings(tmp_path))
    return doctor.run_checks(stack_settings, given.pop("project", project(tmp_path)), **given)


def named(checks: list[Check], prefix: str) -> Check:
    return next(check for check in checks if check.name.startswith(prefix))


def test_a_healthy_machine_has_nothing_blocking(tmp_path: Path) -> None:
    checks = run(tmp_path, environ={"SECRET_KEY": "x" * 40})
    assert [c for c in checks if c.status != "ok"] == []
    assert doctor.summary(checks).endswith("nothing blocks `invoke up`")


def test_engine_version_is_shown(tmp_path: Path) -> None:
    check = named(run(tmp_path), "Docker engine")
    assert check.status == "ok"
    assert "Docker 20.10.24 (API 1.41)" in check.detail


def test_an_unreachable_engine_blocks_up_with_its_fix(tmp_path: Path) -> None:
    checks = run(tmp_path, connect=unreachable)
    engine = named(checks, "Docker engine")
    assert (engine.status, engine.blocks_up) == ("fail", True)
    assert "start it" in engine.detail
    assert named(checks, "base images").status == "warn"
    assert doctor.blocking(checks) == [engine]


def test_an_engine_failing_after_the_ping_is_one_line(tmp_path: Path) -> None:
    class Broken(FakeClient):
        def version(self) -> dict[str, str]:
            raise RuntimeError("500 Server Error\nmore")

    engine = named(run(tmp_path, connect=lambda _: Broken()), "Docker engine")
    assert engine.status == "fail"
    assert engine.detail == "the engine answered but failed: 500 Server Error"


def test_a_missing_base_image_is_named_with_invoke_base(tmp_path: Path) -> None:
    given = settings(tmp_path, python_base_image="doctor-test/missing:1")
    check = named(run(tmp_path, settings=given), "base images")
    assert (check.status, check.blocks_up) == ("fail", True)
    assert "doctor-test/missing:1" in check.detail
    assert "`invoke base`" in check.detail


def test_a_free_port_is_ok_and_unpublished_ports_are_not_checked(tmp_path: Path) -> None:
    ports = [c for c in run(tmp_path) if c.name.startswith("port ")]
    assert ports == [Check("port 127.0.0.1:8080 (nginx)", "ok", "free")]


def test_a_port_taken_by_another_process_blocks_up_and_names_the_setting(tmp_path: Path) -> None:
    check = named(run(tmp_path, probe_port=in_use), "port 127.0.0.1:8080")
    assert (check.status, check.blocks_up) == ("fail", True)
    assert "another process" in check.detail
    assert "NGINX_PORT" in check.detail
    assert ":8080" in check.detail


def test_a_port_published_by_this_stack_is_not_a_problem(tmp_path: Path) -> None:
    client = FakeClient(containers=[container("t-nginx-1", "t", "nginx", 8080)])
    checks = run(tmp_path, connect=lambda _: client, probe_port=never_probed)
    check = named(checks, "port 127.0.0.1:8080")
    assert check.status == "ok"
    assert "this stack's nginx (t-nginx-1)" in check.detail


def test_a_port_published_by_another_project_names_its_container(tmp_path: Path) -> None:
    client = FakeClient(containers=[container("other-nginx-1", "other", "nginx", 8080)])
    check = named(run(tmp_path, connect=lambda _: client, probe_port=in_use), "port ")
    assert check.status == "fail"
    assert "`docker stop other-nginx-1`" in check.detail


def test_a_host_address_not_on_this_machine_names_nginx_host(tmp_path: Path) -> None:
    checks = run(
        tmp_path,
        project=project(tmp_path, host_ip="203.0.113.9"),
        probe_port=lambda host, port, protocol: errno.EADDRNOTAVAIL,
    )
    check = named(checks, "port 203.0.113.9:8080")
    assert (check.status, check.blocks_up) == ("fail", True)
    assert "set NGINX_HOST" in check.detail


def test_port_holders_come_from_the_running_containers() -> None:
    client = FakeClient(containers=[container("t-nginx-1", "t", "nginx", 8080)])
    assert doctor.port_holders(client) == {
        (8080, "tcp"): PortHolder(container="t-nginx-1", project="t", service="nginx")
    }


def test_an_unreachable_registry_warns_with_its_url_and_setting(tmp_path: Path) -> None:
    asked: list[str] = []

    def refused(url: str, timeout: float) -> str:
        asked.append(url)
        return "no answer (Connection refused)"

    given = settings(tmp_path, pip_index_url="https://mirror.example/simple")
    checks = run(tmp_path, settings=given, probe_url=refused)
    pip, debian = named(checks, "pip index"), named(checks, "Debian mirror")
    assert (pip.status, pip.blocks_up) == ("warn", False)
    assert "https://mirror.example/simple" in pip.detail
    assert "PIP_INDEX_URL" in pip.detail
    assert "http://deb.debian.org/debian" in debian.detail
    assert "DEBIAN_MIRROR" in debian.detail
    assert sorted(asked) == [
        "http://deb.debian.org/debian/dists/bookworm/Release",
        "https://mirror.example/simple/pip/",
    ]


def test_the_default_pip_index_is_pypi(tmp_path: Path) -> None:
    assert named(run(tmp_path), "pip index").detail == "https://pypi.org/simple answers"


def test_credentials_in_an_index_url_are_never_shown(tmp_path: Path) -> None:
    given = settings(tmp_path, pip_index_url="https://user:tok3n-value@mirror.example/simple")
    checks = run(tmp_path, settings=given, probe_url=lambda url, timeout: "answered HTTP 401")
    detail = named(checks, "pip index").detail
    assert "tok3n-value" not in detail
    assert "https://***@mirror.example/simple" in detail


def test_a_registry_that_hangs_is_reported_within_the_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(doctor, "URL_BUDGET", 0.2)
    release = threading.Event()
    answered = threading.Event()

    def hangs(url: str, timeout: float) -> None:
        release.wait(5)
        answered.set()

    checks = run(tmp_path, probe_url=hangs)
    assert not answered.is_set()  # doctor reported while the probe still hung
    release.set()
    assert named(checks, "pip index") == Check("pip index", "warn", "no answer within 0.2 s")


@pytest.mark.parametrize(
    ("free_bytes", "status", "blocks_up"),
    [(50 * GB, "ok", False), (3 * GB, "warn", False), (GB // 2, "fail", True)],
)
def test_disk_space_thresholds(
    tmp_path: Path, free_bytes: int, status: str, blocks_up: bool
) -> None:
    check = doctor.check_disk(lambda path: Usage(free=free_bytes), tmp_path)
    assert (check.status, check.blocks_up) == (status, blocks_up)
    assert f"at {tmp_path}" in check.detail


def test_disk_space_falls_back_to_the_root_without_docker_data(tmp_path: Path) -> None:
    seen: list[str] = []

    def usage(path: str) -> Usage:
        seen.append(path)
        return Usage(free=50 * GB)

    doctor.check_disk(usage, tmp_path / "no-docker-here")
    assert seen == ["/"]


def test_nox_pythons_are_the_classifiers_of_pyproject() -> None:
    assert doctor.nox_pythons(ROOT) == ["3.10", "3.11", "3.12", "3.13"]


def test_missing_pythons_installed_by_pyenv_get_the_pyenv_version_line() -> None:
    current = f"{sys.version_info.major}.{sys.version_info.minor}"
    versions = sorted({"3.10", "3.12", current})
    others_installed = ["3.10.2", "3.10.13", "3.12.1", "3.9.18"]
    installed = [v for v in others_installed if not v.startswith(f"{current}.")]
    installed.append(f"{current}.7")
    check = doctor.check_pythons(
        versions, lambda v: "/bin/python" if v == current else None, installed
    )
    assert (check.status, check.blocks_up) == ("warn", False)
    assert check.detail.startswith("python3.1")
    others = ":".join(f"{v}.13" if v == "3.10" else f"{v}.1" for v in versions if v != current)
    assert check.detail.endswith(f"export PYENV_VERSION={current}.7:{others}")


def test_missing_pythons_without_pyenv_say_install() -> None:
    check = doctor.check_pythons(["3.99"], lambda v: None, [])
    assert check.detail == (
        "python3.99 not found on PATH: install python3.99 (e.g. `pyenv install 3.99`)"
    )


# The app's own check, run the way `invoke doctor` runs it: a subprocess, never an import.
check_app = doctor.app_settings_check([sys.executable, "-m", "gallery.checkconfig"])
PRODUCTION = {
    "FLASK_CONFIG": "production",
    "SECRET_KEY": "k" * 40,
    "OSS_ACCESS_KEY_ID": "real-id-value",
    "OSS_ACCESS_KEY_SECRET": "real-secret-value",
    "GALLERY_API_TOKEN": "real-token-value",
    "GALLERY_ADMIN_PASSWORD_HASH": "scrypt:real",
}


def test_develop_with_the_default_secret_key_is_a_warning(tmp_path: Path) -> None:
    check = check_app({}, tmp_path)
    assert check.name == "app settings (develop)"
    assert (check.status, check.blocks_up) == ("warn", False)
    assert "SECRET_KEY" in check.detail


def test_production_without_a_secret_key_blocks_up_naming_it(tmp_path: Path) -> None:
    check = check_app({**PRODUCTION, "SECRET_KEY": ""}, tmp_path)
    assert check.name == "app settings (production)"
    assert (check.status, check.blocks_up) == ("fail", True)
    assert check.detail.startswith("SECRET_KEY is not set")


def test_production_with_the_development_api_token_is_refused(tmp_path: Path) -> None:
    check = check_app({**PRODUCTION, "GALLERY_API_TOKEN": "dev-gallery-token"}, tmp_path)
    assert (check.status, check.blocks_up) == ("fail", True)
    assert check.detail.startswith("GALLERY_API_TOKEN is not set")


def test_production_with_the_fake_oss_key_id_passes_as_the_app_starts(tmp_path: Path) -> None:
    """The drift this check once had: the app accepts any non-empty OSS key id."""
    from gallery.settings import load_settings

    environ = {**PRODUCTION, "OSS_ACCESS_KEY_ID": "fakeoss-id"}
    load_settings("production", instance_path=tmp_path, environ=environ)
    check = check_app(environ, tmp_path)
    assert (check.name, check.status) == ("app settings (production)", "ok")


def test_the_check_says_where_the_app_s_oss_credentials_come_from(tmp_path: Path) -> None:
    check = check_app(PRODUCTION, tmp_path)
    assert check.detail.endswith(
        "; OSS credentials: an AccessKey pair "
        "(OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET): long-lived"
    )
    assert "real-secret-value" not in check.detail


def test_an_instance_config_counts_like_the_app_reads_it(tmp_path: Path) -> None:
    (tmp_path / "config.py").write_text('GALLERY_API_TOKEN = "dev-gallery-token"\n')
    environ = {k: v for k, v in PRODUCTION.items() if k != "GALLERY_API_TOKEN"}
    check = check_app(environ, tmp_path)
    assert check.detail.startswith("GALLERY_API_TOKEN is not set")


def test_secret_values_never_appear_in_any_check(tmp_path: Path) -> None:
    secrets = {
        "SECRET_KEY": "sk-never-shown-1",
        "OSS_ACCESS_KEY_ID": "id-never-shown-2",
        "OSS_ACCESS_KEY_SECRET": "secret-never-shown-3",
        "GALLERY_API_TOKEN": "token-never-shown-4",
        "GALLERY_ADMIN_PASSWORD_HASH": "hash-never-shown-5",
    }
    for config in ("develop", "production"):
        environ = {"FLASK_CONFIG": config, **secrets}
        checks = run(tmp_path, environ=environ, check_app=check_app)
        text = "\n".join(f"{c.name} {c.detail}" for c in checks)
        assert named(checks, "app settings").status == "ok"
        for value in secrets.values():
            assert value not in text


def test_an_unknown_flask_config_blocks_up(tmp_path: Path) -> None:
    check = check_app({"FLASK_CONFIG": "staging"}, tmp_path)
    assert (check.status, check.blocks_up) == ("fail", True)
    assert "FLASK_CONFIG" in check.detail


def test_a_check_command_without_an_answer_is_a_warning_naming_it(tmp_path: Path) -> None:
    script = tmp_path / "broken_check.py"
    script.write_text("raise SystemExit('value-never-shown')\n")
    command = [sys.executable, str(script)]
    check = doctor.app_settings_check(command)({}, tmp_path)
    assert (check.name, check.status, check.blocks_up) == ("app settings", "warn", False)
    assert "exited with code 1" in check.detail
    assert "value-never-shown" not in check.detail


def test_a_broken_compose_file_is_the_first_line(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services: [\n")
    checks = doctor.diagnose(tmp_path, environ={}, connect=unreachable)
    assert checks[0].name == "stack settings"
    assert (checks[0].status, checks[0].blocks_up) == ("fail", True)
    assert not any(c.name.startswith("port ") for c in checks)


def test_bind_error_says_a_listened_port_is_in_use() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        assert bind_error("127.0.0.1", port) == errno.EADDRINUSE
    assert bind_error("127.0.0.1", port) is None


class Answers(BaseHTTPRequestHandler):
    def do_HEAD(self) -> None:
        self.send_response(200 if self.path == "/simple/pip/" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def local_index() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_head_error_is_none_when_the_url_answers(local_index: str) -> None:
    assert head_error(f"{local_index}/simple/pip/", 2) is None
    assert head_error(f"{local_index}/nothing", 2) == "answered HTTP 404"


def test_head_error_names_a_refused_connection() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert (head_error(f"http://127.0.0.1:{port}/", 2) or "").startswith("no answer")


@pytest.mark.parametrize("host", ["10.1.2.3", "172.17.0.2", "192.168.1.1"])
def test_head_error_never_contacts_a_private_address(host: str) -> None:
    assert head_error(f"http://{host}/debian", 2) == (
        f"{host} resolves to a 10.x/172.x/192.168.x address: not probed"
    )


def test_shown_url_masks_credentials() -> None:
    assert shown_url("https://u:p@h.example/simple") == "https://***@h.example/simple"
    assert shown_url("https://h.example/simple") == "https://h.example/simple"


def test_runnable_python_finds_this_interpreter_and_not_an_absent_one() -> None:
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    if runnable_python(version) is None:
        pytest.skip(f"python{version} is not on PATH here")
    assert runnable_python("3.99") is None


def closed_url(path: str) -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}{path}"


def invoke_doctor(**env: str) -> subprocess.CompletedProcess[str]:
    # The registries point at a closed local port: these tests send nothing off this machine
    # and do not depend on a registry answering.
    registries = {"PIP_INDEX_URL": closed_url("/simple"), "DEBIAN_MIRROR": closed_url("/debian")}
    # The tests read plain text: the pipelines' FORCE_COLOR would colour rich's output here.
    plain = {name: value for name, value in os.environ.items() if name != "FORCE_COLOR"}
    return subprocess.run(
        [sys.executable, "-m", "invoke", "doctor"],
        cwd=ROOT,
        env={**plain, **registries, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def line_of(output: str, name: str) -> str:
    return next(line for line in output.splitlines() if f" {name}" in line)


def test_invoke_doctor_with_the_engine_stopped_names_the_fix() -> None:
    # How fast it says so is for a benchmark: a timed assert fails on a loaded machine.
    result = invoke_doctor(DOCKER_HOST="unix:///nonexistent.sock")
    assert result.returncode == 1, result.stdout + result.stderr
    engine = line_of(result.stdout, "Docker engine")
    assert engine.lstrip().startswith("✗")
    assert "unix:///nonexistent.sock" in engine
    assert "start it" in engine
    assert "blocking `invoke up`: Docker engine" in result.stdout.splitlines()[-1]
    assert "Traceback" not in result.stderr


def test_invoke_doctor_never_prints_a_secret_value() -> None:
    result = invoke_doctor(
        DOCKER_HOST="unix:///nonexistent.sock",
        FLASK_CONFIG="production",
        SECRET_KEY="doctor-secret-value-1",
        OSS_ACCESS_KEY_SECRET="doctor-secret-value-2",
        PIP_INDEX_URL=closed_url("/simple").replace("http://", "http://user:doctor-secret-3@"),
    )
    assert "app settings (production)" in result.stdout
    for value in ("doctor-secret-value-1", "doctor-secret-value-2", "doctor-secret-3"):
        assert value not in result.stdout + result.stderr


@pytest.mark.engine
def test_invoke_doctor_names_a_missing_base_image_and_invoke_base() -> None:
    result = invoke_doctor(PYTHON_BASE_IMAGE="doctor-test/missing:1")
    assert result.returncode == 1, result.stdout + result.stderr
    base = line_of(result.stdout, "base images")
    assert base.lstrip().startswith("✗")
    assert "doctor-test/missing:1" in base
    assert "`invoke base`" in base


@pytest.mark.engine
def test_invoke_doctor_names_a_taken_port_and_the_fix() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        result = invoke_doctor(NGINX_HOST="127.0.0.1", NGINX_PORT=str(port))
    assert result.returncode == 1, result.stdout + result.stderr
    line = line_of(result.stdout, f"port 127.0.0.1:{port} (nginx)")
    assert line.lstrip().startswith("✗")
    assert "taken by another process" in line
    assert "set NGINX_PORT to a free port" in line


def test_tools_in_the_projects_venv_are_fine(tmp_path: Path) -> None:
    venv = tmp_path / ".venv"
    venv.mkdir()
    check = doctor.check_tool_environment(tmp_path, prefix=str(venv), base_prefix="/usr")
    assert check.status == "ok"


def test_tools_on_an_externally_managed_python_name_pep_668_and_the_fix(tmp_path: Path) -> None:
    stdlib = tmp_path / "lib" / "python3.11"
    stdlib.mkdir(parents=True)
    (stdlib / "EXTERNALLY-MANAGED").write_text("[externally-managed]\n")
    check = doctor.check_tool_environment(
        tmp_path, prefix="/usr", base_prefix="/usr", stdlib=str(stdlib)
    )
    assert (check.status, check.blocks_up) == ("warn", False)
    assert "PEP 668" in check.detail
    assert "no " + str(tmp_path / ".venv") in check.detail
    assert "bash .ci/setup-host" in check.detail


def test_tools_outside_the_venv_on_an_unmanaged_python_point_at_the_venv(tmp_path: Path) -> None:
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "invoke").touch()
    check = doctor.check_tool_environment(
        tmp_path, prefix="/opt/py", base_prefix="/opt/py", stdlib=str(tmp_path)
    )
    assert check.status == "warn"
    assert "PEP 668" not in check.detail
    assert "`.venv/bin/invoke ...`" in check.detail


def test_reclaimable_space_counts_unused_images_less_what_they_share() -> None:
    client = FakeClient()
    client.api.disk_images = [
        {"Size": 3 * GB, "SharedSize": 0, "Containers": 0, "RepoTags": []},
        {"Size": 200 * MB, "SharedSize": 150 * MB, "Containers": 0, "RepoTags": ["a/web:v1"]},
        {"Size": 9 * GB, "SharedSize": 0, "Containers": 2, "RepoTags": ["a/web:latest"]},
    ]

    check = doctor.check_reclaimable(client)  # type: ignore[arg-type]

    assert check.status == "warn"
    assert check.detail.startswith("3.0 GB in 2 unused images (1 untagged)")
    assert "docker image prune" in check.detail


def test_little_reclaimable_space_is_fine() -> None:
    client = FakeClient()
    client.api.disk_images = [{"Size": 5 * MB, "SharedSize": -1, "Containers": 0, "RepoTags": []}]

    check = doctor.check_reclaimable(client)  # type: ignore[arg-type]

    assert (check.status, check.detail) == ("ok", "0.0 GB in 1 unused images (1 untagged)")


def test_a_disk_usage_count_already_running_is_a_warning_not_a_crash() -> None:
    import docker.errors

    client = FakeClient()

    def refuse() -> dict[str, object]:
        raise docker.errors.APIError(
            "500 Server Error", explanation="a disk usage operation is already running"
        )

    client.api.df = refuse  # type: ignore[method-assign]

    check = doctor.check_reclaimable(client)  # type: ignore[arg-type]

    assert check.status == "warn"
    assert check.detail == (
        "not counted now: the engine says a disk usage operation is already running"
    )


def test_a_host_s_app_check_is_named_after_its_host_and_config() -> None:
    line = (
        '{"config": "production", "status": "fail", "detail": "OSS_ECS_METADATA_URL=http://m:8100:'
        ' no ECS metadata service answered", "credentials": "the ECS instance\'s RAM role"}'
    )

    check = doctor.app_report(f"{line}\n", 1, "python -m app.check", "10.0.0.5:22")

    assert check.name == "app settings (production) on 10.0.0.5:22"
    assert check.status == "fail"
    assert check.detail.startswith("OSS_ECS_METADATA_URL=http://m:8100: no ECS metadata")


def test_a_host_s_app_check_without_an_answer_points_at_the_command() -> None:
    check = doctor.app_report("", 1, "python -m app.check", "10.0.0.5:22")

    assert check.name == "app settings on 10.0.0.5:22"
    assert check.status == "warn"
    assert (
        check.detail == "`python -m app.check` exited with code 1 and no answer: run it to see why"
    )
