"""A deploy's target is chosen inside stackctl, and every target answers the same calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from invoke import Program
from rich.console import Console

from stackctl.deploy.appdef import load_for_deploy
from stackctl.deploy.settings import load_deploy_settings
from stackctl.deploy.ssh.target import SshTarget
from stackctl.deploy.swarm.settings import SwarmSettings
from stackctl.deploy.swarm.target import SwarmTarget
from stackctl.deploy.target import DeployRun, Target
from stackctl.deploy.targets import choose
from stackctl.errors import SettingsError, UsageError
from support.tasks_module import load_tasks

ROOT = Path(__file__).resolve().parents[2]
APP_SECRETS = {"SECRET_KEY": "k", "GALLERY_API_TOKEN": "t", "GALLERY_ADMIN_PASSWORD_HASH": "h"}


def no_engine(stack: Any) -> Any:
    raise AssertionError("this command must not reach the local engine")


def run_for(hosts: str = "a,b", environment: dict[str, str] | None = None) -> DeployRun:
    settings = load_deploy_settings(ROOT, environ={"DEPLOY_HOSTS": hosts})
    stack, app = load_for_deploy(ROOT, settings.hosts, None, environ={})
    return DeployRun(settings, app, stack, environment or {}, Console(quiet=True), no_engine)


def web_updated(run: DeployRun, options: SwarmSettings) -> list[str]:
    """Stands in for the release built and compared with a swarm."""
    return ["aliecs_web: update"]


def never_compared(run: DeployRun, options: SwarmSettings) -> list[str]:
    raise AssertionError("a dry run whose deploy would refuse must not compare the services")


def test_the_option_then_deploy_target_then_the_hosts_choose_the_target() -> None:
    assert isinstance(choose(None, {}, {}), SshTarget)
    assert isinstance(choose(None, {"DEPLOY_TARGET": "swarm"}, {}), SwarmTarget)
    assert isinstance(choose(None, {}, {"DEPLOY_TARGET": "swarm"}), SwarmTarget)
    assert isinstance(choose("hosts", {}, {"DEPLOY_TARGET": "swarm"}), SshTarget)
    with pytest.raises(SettingsError, match="deploy target 'k8s' is unknown"):
        choose("k8s", {}, {})


def test_both_targets_answer_the_target_interface() -> None:
    targets: list[Target] = [SshTarget(), SwarmTarget()]
    assert [t.name for t in targets] == ["hosts", "swarm"]


def test_the_ssh_dry_run_builds_nothing_and_contacts_no_host() -> None:
    lines = SshTarget().plan(run_for())
    assert "batch 1: root@a:22" in lines
    assert any("FLASK_CONFIG=production" in line for line in lines)  # from x-deploy.env


def test_a_swarm_rollback_to_a_version_is_a_usage_error_before_any_host() -> None:
    with pytest.raises(UsageError, match="previous spec"):
        SwarmTarget().rollback(run_for(), version="abc")


@pytest.mark.parametrize(
    ("mode", "keys", "shipped"),
    [
        (
            "access-key",
            {"OSS_ACCESS_KEY_ID": "LTAIx", "OSS_ACCESS_KEY_SECRET": "shh"},
            "ships OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET; never ships OSS_SECURITY_TOKEN"
            " (refused if given)",
        ),
        (
            "ecs-ram-role",
            {},
            "ships none; never ships OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET,"
            " OSS_SECURITY_TOKEN (refused if given)",
        ),
    ],
)
def test_the_swarm_dry_run_says_which_oss_secrets_ship_after_the_service_changes(
    mode: str, keys: dict[str, str], shipped: str
) -> None:
    run = run_for(environment={**APP_SECRETS, "OSS_CREDENTIALS": mode, **keys})

    lines = SwarmTarget(service_changes=web_updated).plan(run)

    assert lines[:3] == [
        "aliecs_web: update",
        "HTTPS: off (plain HTTP on port 80; STACK_HTTPS=acme|files|lb serves HTTPS)",
        f"OSS_CREDENTIALS={mode} (the roles' environment): {shipped}",
    ]
    assert lines[3].startswith(
        "check on the swarm: `invoke doctor --host` runs `python -m gallery.checkconfig` in an"
        " SSH deploy's release only"
    )
    assert len(lines) == 4
    assert not any(value in "\n".join(lines) for value in ("LTAIx", "shh"))


def test_the_swarm_dry_run_names_unused_and_missing_secrets_and_compares_nothing() -> None:
    given = {**APP_SECRETS, "OSS_CREDENTIALS": "ecs-ram-role", "OSS_ACCESS_KEY_ID": "LTAIx"}
    del given["GALLERY_API_TOKEN"]
    run = run_for(environment=given)

    lines = SwarmTarget(service_changes=never_compared).plan(run)

    assert lines[-3:] == [
        "given but unused by this mode (a deploy refuses before it starts): OSS_ACCESS_KEY_ID",
        "missing secrets (a deploy refuses before it starts): GALLERY_API_TOKEN",
        "services not compared with the swarm (nothing built, no node contacted): a deploy"
        " refuses until the secrets above are right",
    ]
    assert "LTAIx" not in "\n".join(lines)


def test_both_dry_runs_say_the_same_of_https_and_the_secrets_but_how_to_check_them() -> None:
    given = {**APP_SECRETS, "OSS_CREDENTIALS": "ecs-ram-role", "OSS_ACCESS_KEY_ID": "LTAIx"}
    del given["SECRET_KEY"]
    run = run_for(environment=given)

    ssh = SshTarget().plan(run)
    swarm = SwarmTarget(service_changes=never_compared).plan(run)

    def without_check(lines: list[str]) -> list[str]:
        return [line for line in lines if not line.startswith("check on the ")]

    assert without_check(ssh)[-4:] == without_check(swarm)[:4]
    assert swarm[0].startswith("HTTPS: off")
    assert ssh[-1] == "missing secrets (a deploy refuses before it starts): SECRET_KEY"
    assert any(line.startswith("check on the hosts: `invoke doctor --host all`") for line in ssh)


def test_doctor_on_a_swarm_is_refused_in_one_line_before_any_node() -> None:
    with pytest.raises(UsageError) as refused:
        SwarmTarget().doctor(run_for("root@127.0.0.1:9"))

    assert str(refused.value).startswith(
        "doctor --host checks an SSH deploy's release; a Swarm's tasks are not checked yet"
    )
    assert "`docker exec` `python -m gallery.checkconfig` in a task container of web" in str(
        refused.value
    )


def test_doctor_on_the_ssh_hosts_checks_each_host_and_names_one_it_cannot_reach() -> None:
    # Port 9 on loopback: nothing answers there.
    checks = SshTarget().doctor(run_for("root@127.0.0.1:9"))

    assert [(c.name, c.status) for c in checks] == [
        ("https", "ok"),  # plain HTTP: said, nothing to check
        ("host 127.0.0.1:9", "fail"),
    ]


def test_invoke_doctor_host_with_the_swarm_target_exits_2_naming_the_limit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DEPLOY_TARGET", "swarm")
    program = Program(namespace=load_tasks().ns)

    with pytest.raises(SystemExit) as exited:
        program.run(["invoke", "doctor", "--host", "root@127.0.0.1:9"])

    assert exited.value.code == 2
    assert "a Swarm's tasks are not checked yet" in capsys.readouterr().err
