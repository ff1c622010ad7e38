"""`invoke deploy.exec`, checked before any host is contacted: which hosts it runs on, each bad
input one line; and the one-off container it creates, built from the running role container's
inspection (no engine)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from invoke import Program

from stackctl.deploy import labels
from stackctl.deploy.appdef import AppDefinition, load_app
from stackctl.deploy.oneoff import ExecRequest, exec_request
from stackctl.deploy.settings import DeploySettings, load_deploy_settings
from stackctl.deploy.ssh.oneoff import (
    IN_TERMINAL,
    WATCHED,
    exited,
    oneoff_request,
)
from stackctl.engine.models import Container
from stackctl.errors import UsageError
from support.tasks_module import load_tasks

COMPOSE = """
services:
  web:
    image: app
    healthcheck: {test: ["CMD", "true"]}
  worker:
    image: app
x-deploy:
  roles:
    web: {}
    worker: {hosts: [b, c]}
"""


@pytest.fixture
def app(tmp_path: Path) -> AppDefinition:
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(COMPOSE))
    return load_app(tmp_path / "compose.yaml", {}, hosts=("a", "b", "c"))


@pytest.fixture
def settings(tmp_path: Path) -> DeploySettings:
    return load_deploy_settings(tmp_path, environ={"DEPLOY_HOSTS": "a,b,c"})


def test_it_runs_on_the_role_s_first_host_by_default(
    app: AppDefinition, settings: DeploySettings
) -> None:
    assert exec_request(app, settings, "web", ["true"]).hosts == ("a",)
    assert exec_request(app, settings, "worker", ["true"]).hosts == ("b",)


def test_all_hosts_is_every_host_the_role_runs_on_in_deploy_hosts_order(
    app: AppDefinition, settings: DeploySettings
) -> None:
    assert exec_request(app, settings, "worker", ["true"], all_hosts=True).hosts == ("b", "c")


def test_host_picks_hosts_of_deploy_hosts(app: AppDefinition, settings: DeploySettings) -> None:
    request = exec_request(app, settings, "web", ["true"], hosts=["c", "b"])
    assert request.hosts == ("c", "b")


def test_the_request_says_whether_the_hosts_were_named(
    app: AppDefinition, settings: DeploySettings
) -> None:
    assert not exec_request(app, settings, "web", ["true"]).named_hosts
    assert exec_request(app, settings, "web", ["true"], hosts=["b"]).named_hosts
    assert exec_request(app, settings, "worker", ["true"], all_hosts=True).named_hosts


@pytest.mark.parametrize(
    ("role", "command", "options", "error"),
    [
        (
            "wbe",
            ["true"],
            {},
            "deploy.exec: 'wbe' is no role of compose.yaml's x-deploy (use one of web, worker)",
        ),
        ("web", [], {}, "deploy.exec: no command given: `invoke deploy.exec web -- COMMAND`"),
        (
            "web",
            ["true"],
            {"hosts": ["d"]},
            "--host 'd' is not one of DEPLOY_HOSTS (a, b, c): give it as listed there",
        ),
        (
            "worker",
            ["true"],
            {"hosts": ["a"]},
            "deploy.exec: worker does not run on a"
            " (compose.yaml x-deploy.roles.worker.hosts: b, c)",
        ),
        (
            "web",
            ["true"],
            {"hosts": ["a"], "all_hosts": True},
            "deploy.exec: give --host or --all-hosts, not both",
        ),
        (
            "web",
            ["sh"],
            {"interactive": True, "on_terminal": False},
            "deploy.exec --interactive needs a terminal (stdin and stdout are not one here):"
            " run it from a terminal, or without --interactive to stream the output",
        ),
        (
            "worker",
            ["sh"],
            {"interactive": True, "all_hosts": True},
            "deploy.exec --interactive runs on one host, not 2 (b, c): give one --host",
        ),
    ],
)
def test_bad_input_is_one_line(
    app: AppDefinition,
    settings: DeploySettings,
    role: str,
    command: list[str],
    options: dict[str, object],
    error: str,
) -> None:
    with pytest.raises(UsageError) as raised:
        exec_request(app, settings, role, command, **options)  # type: ignore[arg-type]
    assert str(raised.value) == error


def test_interactive_runs_on_the_role_s_first_host_or_the_one_given(
    app: AppDefinition, settings: DeploySettings
) -> None:
    request = exec_request(app, settings, "web", ["flask", "shell"], interactive=True)
    elsewhere = exec_request(app, settings, "worker", ["sh"], interactive=True, hosts=["c"])

    assert (request.hosts, request.interactive) == (("a",), True)
    assert elsewhere.hosts == ("c",)
    assert request.audited == "exec --interactive web -- flask shell"


def test_the_audit_log_keeps_the_command_as_typed_quoted_where_needed() -> None:
    request = ExecRequest("web", ("flask", "gallery", "gc", "--min-age", "1 h"), ("a",))
    assert request.audited == "exec web -- flask gallery gc --min-age '1 h'"
    reused = ExecRequest("worker", ("celery", "inspect", "active"), ("a",), reuse=True)
    assert reused.audited == "exec --reuse worker -- celery inspect active"


def test_a_command_s_exit_code_is_its_audit_result() -> None:
    assert exited(0) == "ok"
    assert exited(3) == "failed: exited with code 3"


ROLE_CONTAINER = Container(
    {
        "Id": "c0ffee",
        "Name": "/deploytest-web-abc123",
        "Image": "sha256:1234",
        "State": {"Status": "running", "Running": True},
        "Config": {
            "Env": ["FLASK_CONFIG=production", "PATH=/opt/venv/bin:/usr/bin"],
            "User": "app",
            "WorkingDir": "/app",
            "Labels": {labels.RELEASE: "abc123", labels.ROLE: "web"},
        },
        "Mounts": [
            {
                "Type": "volume",
                "Name": "deploytest-web-abc123-secrets",
                "Destination": "/run/secrets",
                "RW": False,
            },
            {"Type": "volume", "Name": "deploytest_cache", "Destination": "/cache", "RW": True},
            {"Type": "bind", "Source": "/etc/hosts", "Destination": "/etc/hosts", "RW": False},
        ],
    }
)


def test_the_one_off_copies_the_running_role_container_and_is_removed_by_the_engine() -> None:
    request = oneoff_request(
        ROLE_CONTAINER,
        app="deploytest",
        role="web",
        command=["flask", "--app", "gallery", "gallery", "rebuild-index"],
        name="deploytest-web-exec-1",
    )

    assert request.image == "sha256:1234"
    assert request.options["command"] == [
        "sh",
        "-c",
        WATCHED,
        "sh",
        *["flask", "--app", "gallery", "gallery", "rebuild-index"],
    ]
    assert request.options["environment"] == [
        "FLASK_CONFIG=production",
        "PATH=/opt/venv/bin:/usr/bin",
    ]
    assert (request.options["user"], request.options["working_dir"]) == ("app", "/app")
    assert request.host["auto_remove"] is True
    assert request.host["network_mode"] == request.network == "deploytest"
    mounts = [(m["Target"], m["Source"], m["ReadOnly"]) for m in request.host["mounts"]]
    assert mounts == [
        ("/run/secrets", "deploytest-web-abc123-secrets", True),
        ("/cache", "deploytest_cache", False),
    ]


def test_the_one_off_s_input_is_the_attach_stream_closed_when_its_client_goes() -> None:
    request = oneoff_request(
        ROLE_CONTAINER, app="deploytest", role="web", command=["true"], name="x"
    )

    assert request.options["stdin_open"] is True
    assert request.options["tty"] is False


def test_docker_py_closes_the_input_when_the_client_goes_for_a_one_off_s_options() -> None:
    from docker.types import ContainerConfig

    request = oneoff_request(
        ROLE_CONTAINER, app="deploytest", role="web", command=["true"], name="x"
    )
    options = {k: v for k, v in request.options.items() if k != "name"}

    config = ContainerConfig("1.41", request.image, **options)

    assert (config["OpenStdin"], config["StdinOnce"], config["AttachStdin"]) == (True, True, True)


def test_an_interactive_one_off_has_a_tty_and_its_command_under_a_shell() -> None:
    request = oneoff_request(
        ROLE_CONTAINER,
        app="deploytest",
        role="web",
        command=["flask", "shell"],
        name="x",
        terminal=True,
    )

    assert request.options["tty"] is True
    assert request.options["stdin_open"] is True
    assert request.options["command"] == ["sh", "-c", IN_TERMINAL, "sh", "flask", "shell"]
    assert request.host["auto_remove"] is True


def test_the_one_off_is_labelled_as_an_exec_of_the_role_s_release() -> None:
    request = oneoff_request(
        ROLE_CONTAINER, app="deploytest", role="web", command=["true"], name="x"
    )

    assert request.options["labels"] == {
        labels.APP: "deploytest",
        labels.KIND: "exec",
        labels.ROLE: "web",
        labels.RELEASE: "abc123",
    }


tasks = load_tasks()


class NoHostReached:
    def execute(self, *args: object) -> int:
        pytest.fail("deploy.exec reached a host")


def test_the_command_line_s_bad_input_is_one_line_before_any_host(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DEPLOY_HOSTS", "10.0.0.5,10.0.0.6")
    monkeypatch.setattr(tasks, "choose_target", lambda given: NoHostReached())
    with pytest.raises(SystemExit) as exited:
        Program(namespace=tasks.ns).run(["invoke", "deploy.exec", "wbe", "--", "true"])

    assert exited.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "error: deploy.exec: 'wbe' is no role of compose.yaml's x-deploy (use one of web, worker)"
    )


def test_interactive_without_a_terminal_is_refused_in_one_line_before_any_host(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DEPLOY_HOSTS", "10.0.0.5,10.0.0.6")
    monkeypatch.setattr(tasks, "choose_target", lambda given: NoHostReached())
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(SystemExit) as exited:
        Program(namespace=tasks.ns).run(
            ["invoke", "deploy.exec", "--interactive", "web", "--", "flask", "shell"]
        )

    assert exited.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "error: deploy.exec --interactive needs a terminal (stdin and stdout are not one here):"
        " run it from a terminal, or without --interactive to stream the output"
    )


def test_swarm_refuses_interactive_in_one_line_naming_what_to_use(
    settings: DeploySettings, app: AppDefinition
) -> None:
    from stackctl.deploy.swarm.target import SwarmTarget
    from stackctl.deploy.target import DeployRun

    run = DeployRun(settings, app, None, {}, None, lambda stack: None)  # type: ignore[arg-type]
    request = ExecRequest("web", ("flask", "shell"), ("a",), interactive=True)
    with pytest.raises(UsageError) as raised:
        SwarmTarget().execute(run, request, print)
    assert str(raised.value) == (
        "deploy.exec --interactive is built for an SSH deploy's hosts: on a Swarm, run the"
        f" command without it, or `docker exec -it` in a task of {settings.app}_web on its node"
        " (`invoke ps --target swarm` names them)"
    )
