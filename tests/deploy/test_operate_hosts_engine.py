"""Operating what was deployed, on two simulated ECS hosts deployed once for the module.

`deploy.logs --grep` finds an upload's request id in the proxy's log of the host that served it
(and not on the other); `deploy.exec` runs a command beside the running release in a one-off
container of its image, with the role's environment, secret files and network, on one host,
`--host` another or `--all-hosts` (a status per host), and leaves no container behind, also when
the deployer's connection drops mid-command; `--interactive` wires a terminal to it;
`deploy.details` lists both hosts' roles with the version; each host's audit log has a line per
action with the user and the version; `deploy.metrics` reads both hosts; a connection lost while
following logs fails in one line.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import os
import pty
import re
import select
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import docker
import pytest
from rich.console import Console

from stackctl.deploy import audit, fanout, hosts, labels
from stackctl.deploy.appdef import AppDefinition
from stackctl.deploy.errors import DeployFailed, LogsLost
from stackctl.deploy.hosts import connect_host
from stackctl.deploy.lock import default_holder
from stackctl.deploy.logview import LogLine, log_request, only_hosts
from stackctl.deploy.oneoff import exec_request
from stackctl.deploy.release import ReleaseImages, release_environment
from stackctl.deploy.settings import DeploySettings
from stackctl.deploy.ssh.oneoff import exec_on_host
from stackctl.deploy.ssh.proxy import proxy_name
from stackctl.deploy.ssh.run import deploy
from stackctl.deploy.ssh.target import SshTarget
from stackctl.deploy.target import DeployRun
from stackctl.engine.models import listed_containers
from stackctl.engine.terminal import wire
from stackctl.settings import load_settings
from support.deploy_hosts import (
    APP,
    SimulatedHost,
    build_release_images,
    deploy_settings,
    hosts_fixture,
    secret_value,
    upload_request_id,
    wait_reachable,
)
from support.terminals import set_size

pytestmark = [
    pytest.mark.engine,
    # paramiko's use of TripleDES, deprecated by cryptography.
    pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning"),
]

VERSION = f"operate-{uuid.uuid4().hex[:6]}"
"""This module's own tag: the deploy tests' v1/v2 tags may be in use by another run."""
EXEC_KIND = [f"{labels.APP}={APP}", f"{labels.KIND}=exec"]


@pytest.fixture(scope="module")
def two_hosts(
    local: docker.DockerClient, host_image: None, public_key: str
) -> Iterator[list[SimulatedHost]]:
    yield from hosts_fixture(local, public_key, 2)


@pytest.fixture(scope="module")
def settings(two_hosts: list[SimulatedHost], key_dir: Path) -> DeploySettings:
    found = deploy_settings(two_hosts, key_dir)
    wait_reachable(found)
    return found


@pytest.fixture(scope="module")
def deployed(
    local: docker.DockerClient, settings: DeploySettings, app: AppDefinition
) -> Iterator[ReleaseImages]:
    built = build_release_images(local, app, VERSION)
    console = Console(file=io.StringIO(), width=200)
    deploy(local, settings, app, built, release_environment(settings, environ={}), console)
    yield built
    for ref in set(built.roles.values()):
        local.api.remove_image(ref)  # the tag only: the image is the deploy tests' too


def no_engine(stack: object) -> docker.DockerClient:
    raise AssertionError("operating the hosts needs no local engine")


@pytest.fixture
def run(settings: DeploySettings, app: AppDefinition, deployed: ReleaseImages) -> DeployRun:
    stack = load_settings(app.project.project_dir, {"STACK_MODE": "production"})
    console = Console(file=io.StringIO(), width=200, force_terminal=False)
    return DeployRun(settings, app, stack, {}, console, no_engine)


@pytest.fixture
def names(settings: DeploySettings) -> list[str]:
    """The hosts as DEPLOY_HOSTS names them (127.0.0.1:PORT), in its order."""
    return [a.name for a in settings.addresses]


def said(run: DeployRun) -> str:
    output = run.console.file
    assert isinstance(output, io.StringIO)
    return output.getvalue()


def exec_on(
    run: DeployRun, role: str, *command: str, reuse: bool = False, **where: Any
) -> tuple[int, str]:
    """`deploy.exec ROLE -- COMMAND` (on the role's first host, or `hosts=`/`all_hosts=`): its
    exit code and its output."""
    output = bytearray()
    request = exec_request(run.app, run.settings, role, command, reuse=reuse, **where)
    code = SshTarget().execute(run, request, output.extend)
    return code, output.decode()


def exec_containers(settings: DeploySettings) -> dict[str, list[str]]:
    """Each host's one-off containers, running or not."""
    with fanout.connected(settings) as clients:
        return {
            address.name: [c.name for c in listed_containers(client.api, label=EXEC_KIND)]
            for address, client in clients.items()
        }


def audit_entries(settings: DeploySettings) -> dict[str, list[audit.AuditEntry]]:
    with fanout.connected(settings) as clients:
        return {a.name: audit.read(client, APP) for a, client in clients.items()}


def grep_proxy(run: DeployRun, pattern: str, within: float) -> list[LogLine]:
    """Every host's proxy lines matching `pattern`, read again until one is there: nginx writes
    its access log through a buffer flushed every second."""
    deadline = time.monotonic() + within
    while True:
        request = log_request(run.app, run.settings, "proxy", grep=pattern, now=time.time())
        found = list(SshTarget().logs(run, request))
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def test_an_upload_s_request_id_is_found_in_the_proxy_log_of_the_host_that_served_it(
    run: DeployRun, two_hosts: list[SimulatedHost], names: list[str]
) -> None:
    for served_by, name in zip(two_hosts, names, strict=True):
        request_id = upload_request_id(served_by.url)
        found = grep_proxy(run, request_id, within=15)

        assert [(line.host, line.container) for line in found] == [(name, proxy_name(APP))]
        assert "POST /api/images" in found[0].text


def test_each_host_s_audit_log_has_the_deploy_with_the_user_and_the_version(
    run: DeployRun, names: list[str]
) -> None:
    shown = SshTarget().audit(run, (), None)

    for entries in audit_entries(run.settings).values():
        deploys = [e for e in entries if e.command == "deploy" and e.version == VERSION]
        assert [(e.who, e.result) for e in deploys] == [(default_holder(), "ok")]
    assert [line for line in shown if not line.startswith(" ")] == [f"{n}:" for n in names]
    deploy_lines = [line for line in shown if f"  deploy  {VERSION}  ok" in line]
    assert len(deploy_lines) == 2


def test_deploy_metrics_reads_web_worker_and_proxy_on_both_hosts(
    run: DeployRun, names: list[str]
) -> None:
    screen = SshTarget().metrics(run, (), 0).splitlines()

    for host in names:
        for container in (f"{APP}-web-{VERSION}", f"{APP}-worker-{VERSION}", proxy_name(APP)):
            row = next(line for line in screen if line.startswith(f"{host} {container} "))
            assert "no metrics" not in row, screen


def test_details_lists_both_hosts_roles_with_the_version_accessories_and_proxy(
    run: DeployRun, names: list[str]
) -> None:
    rows = SshTarget().details(run, ())

    for host in names:
        mine = [r for r in rows if r.host == host]
        assert [(r.kind, r.service) for r in mine] == [
            ("role", "web"),
            ("role", "worker"),
            ("accessory", "fakeoss"),
            ("accessory", "redis"),
            ("proxy", "proxy"),
        ]
        assert [r.version for r in mine if r.kind == "role"] == [f"{VERSION} *"] * 2
        assert {r.state for r in mine} == {"running"}
        assert mine[0].health == "healthy"
        assert all(r.up != "-" for r in mine)
    assert [r.host for r in rows] == sorted([r.host for r in rows], key=names.index)


def test_rebuild_index_runs_on_the_role_s_first_host_and_its_status_comes_back(
    run: DeployRun, names: list[str]
) -> None:
    code, output = exec_on(run, "web", "flask", "gallery", "rebuild-index")

    assert code == 0, output
    assert output.startswith("index: "), output
    assert " added, " in output
    assert audit_entries(run.settings)[names[0]][-1].command == (
        "exec web -- flask gallery rebuild-index"
    )


def test_host_runs_it_on_that_host_only_and_audits_it_there(
    run: DeployRun, names: list[str]
) -> None:
    before = audit_entries(run.settings)

    code, output = exec_on(run, "web", "flask", "gallery", "rebuild-index", hosts=[names[1]])

    after = audit_entries(run.settings)
    assert code == 0, output
    assert output.startswith("index: "), output
    assert after[names[0]] == before[names[0]]
    assert after[names[1]][:-1] == before[names[1]]
    last = after[names[1]][-1]
    assert (last.who, last.command, last.version, last.result) == (
        default_holder(),
        "exec web -- flask gallery rebuild-index",
        VERSION,
        "ok",
    )


def test_all_hosts_runs_it_on_each_host_with_a_status_per_host(
    run: DeployRun, names: list[str]
) -> None:
    code, output = exec_on(run, "web", "flask", "gallery", "rebuild-index", all_hosts=True)

    assert code == 0, output
    assert output.count("index: ") == 2, output
    assert said(run).splitlines() == [f"{names[0]}:", f"{names[1]}:"]


def test_all_hosts_says_each_host_s_failure_and_exits_with_it(
    run: DeployRun, names: list[str]
) -> None:
    code, output = exec_on(run, "worker", "sh", "-c", "exit 4", all_hosts=True)

    assert (code, output) == (4, "")
    assert said(run).splitlines() == [
        f"{names[0]}:",
        f"{names[0]}: exited with code 4",
        f"{names[1]}:",
        f"{names[1]}: exited with code 4",
    ]


def test_the_one_off_gets_the_role_s_environment_secret_files_and_network(
    run: DeployRun,
) -> None:
    script = (
        "import hashlib, os, socket; print(os.environ['FLASK_CONFIG'],"
        " hashlib.sha256(open('/run/secrets/SECRET_KEY', 'rb').read().strip()).hexdigest(),"
        " socket.gethostbyname('redis'))"
    )
    code, output = exec_on(run, "web", "python", "-c", script)

    config, secret_digest, redis_address = output.split()
    assert code == 0, output
    assert config == "production"
    assert secret_digest == hashlib.sha256(secret_value().encode()).hexdigest()
    assert ipaddress.ip_address(redis_address)
    assert secret_value() not in output


def test_a_failing_command_s_exit_status_comes_back_and_is_audited(
    run: DeployRun, names: list[str]
) -> None:
    code, output = exec_on(run, "worker", "sh", "-c", "echo giving up >&2; exit 3")

    last = audit_entries(run.settings)[names[0]][-1]
    assert (code, output) == (3, "giving up\n")
    assert (last.who, last.command, last.version, last.result) == (
        default_holder(),
        "exec worker -- sh -c 'echo giving up >&2; exit 3'",
        VERSION,
        "failed: exited with code 3",
    )


def test_a_command_not_in_the_image_exits_127_with_one_line_and_leaves_no_container(
    run: DeployRun, names: list[str]
) -> None:
    code, output = exec_on(run, "web", "no-such-command", "--now")

    assert code == 127
    assert output.startswith("no-such-command: not found in the image (PATH /opt/venv/bin:")
    assert output.count("\n") == 1
    assert exec_containers(run.settings) == {name: [] for name in names}


def test_reuse_runs_in_the_running_role_container(run: DeployRun, names: list[str]) -> None:
    code, output = exec_on(run, "web", "cat", "/proc/1/cmdline", reuse=True)

    last = audit_entries(run.settings)[names[0]][-1]
    assert code == 0
    assert "gunicorn" in output
    assert (last.command, last.version, last.result) == (
        "exec --reuse web -- cat /proc/1/cmdline",
        VERSION,
        "ok",
    )


def test_no_one_off_container_is_left_and_every_run_is_audited(
    run: DeployRun, names: list[str]
) -> None:
    code, _ = exec_on(run, "web", "true")

    last = audit_entries(run.settings)[names[0]][-1]
    assert code == 0
    assert exec_containers(run.settings) == {name: [] for name in names}
    assert (last.who, last.command, last.version, last.result) == (
        default_holder(),
        "exec web -- true",
        VERSION,
        "ok",
    )


@pytest.fixture
def dropping(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Records the clients the command under test connects, and drops their SSH connections
    (the TCP socket shut, as a network that went away): nothing more reaches the host through
    them, a clean-up on this side included."""
    made: list[docker.DockerClient] = []
    connect = hosts.connect_host

    def recorded(*args: Any, **kwargs: Any) -> docker.DockerClient:
        client = connect(*args, **kwargs)
        made.append(client)
        return client

    monkeypatch.setattr(hosts, "connect_host", recorded)

    def drop() -> None:
        assert made, "nothing connected yet"
        for client in made:
            transport = client.api._custom_adapter.ssh_client.get_transport()
            transport.sock.shutdown(socket.SHUT_RDWR)

    return drop


class Outcome:
    """What a call made in a thread returned or raised."""

    def __init__(self, call: Callable[[], object]) -> None:
        self.value: object = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self.thread.start()

    def _run(self, call: Callable[[], object]) -> None:
        try:
            self.value = call()
        except BaseException as exc:
            self.error = exc

    def wait(self, seconds: float) -> None:
        self.thread.join(seconds)
        assert not self.thread.is_alive(), "the call did not end"


def dropped_mid_command(
    run: DeployRun,
    dropping: Callable[[], None],
    call: Callable[[], object],
    *,
    watcher: bool = False,
) -> tuple[str, Outcome]:
    """`call` started in a thread and its connection dropped once its one-off has started (and
    its watcher exec, if it has one); the one-off's exit code as the host's engine reported it
    when the container ended and was removed, and what the call did."""
    # Connected before the recording starts (`connect_host` as imported here): not dropped.
    observer = connect_host(run.settings.addresses[0], run.settings)
    events = observer.api.events(decode=True, filters={"type": "container", "label": EXEC_KIND})
    # The stream waits for events with no timeout of its own (and docker-py cannot cancel one
    # over SSH): the observer's connection closed after a bound ends the wait below instead of
    # hanging the session when an event never comes.
    bound = threading.Timer(90, observer.close)
    bound.start()
    try:
        running = Outcome(call)
        started = next(e for e in events if e["Action"] == "start")
        if watcher:
            next(e for e in events if e["Action"].startswith("exec_start"))
        dropping()
        died = next(e for e in events if e["Action"] == "die")
        destroyed = next(e for e in events if e["Action"] == "destroy")
    finally:
        bound.cancel()
        observer.close()
    running.wait(30)
    assert died["id"] == destroyed["id"] == started["id"]
    return str(died["Actor"]["Attributes"]["exitCode"]), running


def test_a_dropped_connection_ends_the_one_off_and_leaves_no_container(
    run: DeployRun, names: list[str], dropping: Callable[[], None]
) -> None:
    code, running = dropped_mid_command(run, dropping, partial(exec_on, run, "web", "sleep", "300"))

    # SIGTERM (143): ended by its watcher when its input closed, not by `sleep 300` ending.
    assert code == "143"
    assert isinstance(running.error, DeployFailed)
    assert str(running.error).startswith(
        f"{names[0]}: the connection was lost while `sleep 300` ran in web ("
    )
    assert exec_containers(run.settings) == {name: [] for name in names}


def test_a_dropped_connection_ends_an_interactive_one_off_too(
    run: DeployRun, names: list[str], dropping: Callable[[], None]
) -> None:
    keys, screen = pty.openpty()
    try:
        code, running = dropped_mid_command(
            run,
            dropping,
            partial(interactive_on_first, run, ["flask", "shell"], screen),
            watcher=True,
        )
    finally:
        os.close(keys)
        os.close(screen)

    # SIGHUP (129): hung up by the watcher beside it when this side's input ended.
    assert code == "129"
    assert isinstance(running.error, DeployFailed)
    assert exec_containers(run.settings) == {name: [] for name in names}


def test_a_connection_lost_while_following_logs_fails_in_one_line(
    run: DeployRun, names: list[str], dropping: Callable[[], None]
) -> None:
    request = log_request(
        run.app, run.settings, "web", follow=True, tail=1, hosts=[names[1]], now=time.time()
    )
    lines = SshTarget().logs(run, request)

    first = next(lines)
    dropping()
    with pytest.raises(LogsLost) as raised:
        next(lines)

    assert first.host == names[1]
    assert str(raised.value).startswith(f"host {names[1]}: the connection ")
    assert "\n" not in str(raised.value)


def test_interactive_wires_a_terminal_to_flask_shell_with_the_app_s_clients(
    run: DeployRun, settings: DeploySettings
) -> None:
    # `screen` is the terminal the one-off is wired to; `keys` is the user's side of it.
    keys, screen = pty.openpty()
    set_size(screen, 33, 101)
    typed = (
        b"import os; print('clients:', type(redis).__name__, type(bucket).__name__,"
        b" os.get_terminal_size())\rexit()\r"
    )
    try:
        shell = Outcome(partial(interactive_on_first, run, ["flask", "shell"], screen))
        seen = converse(keys, shell.thread, typed, seconds=60)
        shell.wait(5)
    finally:
        os.close(keys)
        os.close(screen)

    assert shell.error is None, shell.error
    assert shell.value == 0
    assert re.search(
        r"clients: \w*Redis Bucket os\.terminal_size\(columns=101, lines=33\)", seen
    ), seen
    assert audit_entries(settings)[settings.addresses[0].name][-1].command == (
        "exec --interactive web -- flask shell"
    )


def interactive_on_first(run: DeployRun, command: list[str], screen: int) -> int:
    """`deploy.exec --interactive web -- COMMAND` on the first host, wired to the terminal
    `screen` (as SshTarget.execute wires this side's own)."""
    request = exec_request(run.app, run.settings, "web", command, interactive=True)
    settings = only_hosts(run.settings, request.hosts)
    with fanout.connected(settings) as clients:
        ((address, client),) = clients.items()
        return exec_on_host(
            client,
            APP,
            address.name,
            request,
            write=lambda data: None,
            say=run.say,
            who=default_holder(),
            terminal=partial(wire, stdin=screen, stdout=screen),
        )


def converse(keys: int, thread: threading.Thread, typed: bytes, seconds: float) -> str:
    """What the terminal showed until `thread` ended (bounded by `seconds`), `typed` once the
    shell's first prompt showed."""
    seen = bytearray()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([keys], [], [], 0.2)
        if ready:
            seen += os.read(keys, 65536)
            if typed and b">>> " in seen:
                os.write(keys, typed)
                typed = b""
        elif not thread.is_alive():
            break
    return seen.decode("utf-8", "replace")
