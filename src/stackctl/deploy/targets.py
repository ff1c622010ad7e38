"""Choosing the deploy target: `invoke deploy|rollback|ps --target` or DEPLOY_TARGET names it,
stackctl picks the implementation (tasks.py never does)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from stackctl.deploy.target import Target
from stackctl.errors import SettingsError

TARGETS = ("hosts", "swarm")


def deploy_target(given: str | None, environ: Mapping[str, str], dotenv: Mapping[str, str]) -> str:
    """--target, else DEPLOY_TARGET (environment, then .env), else `hosts` (the SSH deploy)."""
    value = given or environ.get("DEPLOY_TARGET") or dotenv.get("DEPLOY_TARGET") or "hosts"
    if value not in TARGETS:
        raise SettingsError(
            f"deploy target {value!r} is unknown (DEPLOY_TARGET or --target): use one of"
            f" {', '.join(TARGETS)}"
        )
    return value


def choose(
    given: str | None, dotenv: Mapping[str, str], environ: Mapping[str, str] | None = None
) -> Target:
    """The target --target / DEPLOY_TARGET names (a one-line error for an unknown one)."""
    if deploy_target(given, os.environ if environ is None else environ, dotenv) == "swarm":
        from stackctl.deploy.swarm.target import SwarmTarget

        return SwarmTarget()
    from stackctl.deploy.ssh.target import SshTarget

    return SshTarget()
