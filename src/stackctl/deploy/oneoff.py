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
    interactive: bool = False
    """With a TTY wired to this side's terminal (one host)."""
    named_hosts: bool = False
    """--host or --all-hosts chose `hosts` (not the role's first host by default): the Swarm
    target's --reuse takes a task on any node unless the nodes were named."""

    @property
    def audited(self) -> str:
        """The audit log's command: `exec web -- flask db upgrade`."""
        how = " ".join(
            ["exec", *(["--reuse"] if self.reuse else []), *(["--interactive"] * self.interactive)]
        )
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
    on_terminal: bool = True,
) -> ExecRequest:
    """The command's options checked and read, each bad one a one-line UsageError: the role's
    first host by default, `hosts` (DEPLOY_HOSTS entries), or every host the role runs on.
    `--interactive` needs this side's stdin and stdout to be a terminal (`on_terminal`) and
    runs on one host."""
    if interactive and not on_terminal:
        raise UsageError(
            "deploy.exec --interactive needs a terminal (stdin and stdout are not one here):"
            " run it from a terminal, or without --interactive to stream the output"
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
    if interactive and len(chosen) > 1:
        raise UsageError(
            f"deploy.exec --interactive runs on one host, not {len(chosen)}"
            f" ({', '.join(chosen)}): give one --host"
        )
    return ExecRequest(
        role,
        tuple(command),
        tuple(chosen),
        reuse,
        interactive,
        named_hosts=bool(picked) or all_hosts,
    )
