"""A deploy's target is chosen inside stackctl, and every target answers the same calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from stackctl.deploy.appdef import load_for_deploy
from stackctl.deploy.settings import load_deploy_settings
from stackctl.deploy.ssh.target import SshTarget
from stackctl.deploy.swarm.target import SwarmTarget
from stackctl.deploy.target import DeployRun, Target
from stackctl.deploy.targets import choose
from stackctl.errors import SettingsError, UsageError

ROOT = Path(__file__).resolve().parents[2]


def no_engine(stack: Any) -> Any:
    raise AssertionError("this command must not reach the local engine")


def run_for(hosts: str = "a,b") -> DeployRun:
    settings = load_deploy_settings(ROOT, environ={"DEPLOY_HOSTS": hosts})
    stack, app = load_for_deploy(ROOT, settings.hosts, None, environ={})
    return DeployRun(settings, app, stack, {}, Console(quiet=True), no_engine)


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
