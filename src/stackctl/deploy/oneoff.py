"""`invoke deploy.exec`, the pure part (Kamal's `app exec`): what a user asked for (a role, a
command, which hosts, a one-off container or the running one) checked before any host is
contacted, and the line the audit log keeps. The targets run it (`deploy/ssh/oneoff.py`,
`deploy/swarm/oneoff.py`)."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from stackctl.deploy.appdef import AppDefinition
from stackctl.deploy.logview import chosen_hosts
from stackctl.deploy.settings import DeploySettings
from stackctl.errors import UsageError


@dataclass(frozen=True)
class ExecRequest:
    role: str
    command: tuple[str, ...]
    hosts: tuple[str, ...]
    """DEPLOY_HOSTS entries to run on, in their order (never empty)."""
    reuse: bool = False
    """In the running role container (`docker exec`), not a one-off one."""
    named_hosts: bool = False
    """--host or --all-hosts chose `hosts` (not the role's first host by default): the Swarm
    target's --reuse takes a task on any node unless the nodes were named."""

    @property
    def audited(self) -> str:
        """The audit log's command: `exec web -- flask db upgrade`."""
        how = "exec --reuse" if self.reuse else "exec"
        return f"{how} {self.role} -- {shlex.join(self.command)}"


def exec_request(
    app: AppDefinition,
    settings: DeploySettings,
    role: str,
    command: Sequence[str],
    *,
    hosts: Sequence[str] = (),
    all_hosts: bool = False,
    reuse: bool = False,
    interactive: bool = False,
) -> ExecRequest:
    """The command's options checked and read, each bad one a one-line UsageError: the role's
    first host by default, `hosts` (DEPLOY_HOSTS entries), or every host the role runs on."""
    if interactive:
        raise UsageError(
            "deploy.exec --interactive is not built (a terminal over the hosts' SSH transport):"
            " run the command without it, or `ssh -t HOST docker exec -it CONTAINER SH`"
            " (`invoke deploy.versions` names the containers)"
        )
    names = [r.service for r in app.roles]
    if role not in names:
        raise UsageError(
            f"deploy.exec: {role!r} is no role of {app.shown_as}'s x-deploy"
            f" (use one of {', '.join(names)})"
        )
    if not command:
        raise UsageError(f"deploy.exec: no command given: `invoke deploy.exec {role} -- COMMAND`")
    if all_hosts and hosts:
        raise UsageError("deploy.exec: give --host or --all-hosts, not both")
    on_role = [h for h in settings.hosts if any(r.service == role for r in app.roles_on(h))]
    picked = chosen_hosts(settings, hosts)
    elsewhere = [h for h in picked if h not in on_role]
    if elsewhere:
        raise UsageError(
            f"deploy.exec: {role} does not run on {elsewhere[0]} ({app.shown_as}"
            f" x-deploy.roles.{role}.hosts: {', '.join(on_role) or 'none'})"
        )
    if not on_role:
        raise UsageError(f"deploy.exec: {role} runs on none of DEPLOY_HOSTS")
    chosen = picked or (tuple(on_role) if all_hosts else (on_role[0],))
    return ExecRequest(
        role, tuple(command), tuple(chosen), reuse, named_hosts=bool(picked) or all_hosts
    )
