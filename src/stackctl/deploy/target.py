"""Where a deploy goes: one interface, two targets (`deploy/ssh/target.py`,
`deploy/swarm/target.py`), chosen by `deploy/targets.py` (not by the caller). A target takes a
`DeployRun` (the settings, the app definition, the release's run-time values, the console, and
the release's images built on first use) and does the rest:

- `plan` (the dry run): SSH, every step with no host contacted and nothing built; Swarm, the
  specs built and diffed against the swarm's.
- `deploy`: SSH, per host (lock, ship, accessories, cutover) in batches; Swarm, ship to every
  node and converge the services.
- `rollback`: SSH, a kept release's containers restarted; Swarm, each role's previous spec.
- `ps`: SSH, each host's kept releases (* the one serving); Swarm, each task with its node and
  health.
- `logs`: SSH, each host's containers of the role / accessory / proxy, read side by side;
  Swarm, the service's logs through a manager (every task's, from its node).
- `metrics`: the one-screen summary from every web, worker and proxy container (SSH: per
  host; Swarm: per task, on its node).
- `audit`: each host's audit log (`deploy/audit.py`; Swarm: each node keeps a copy).
- `doctor` (`invoke doctor --host`): SSH, the app's own check (`x-deploy.check`) in each host's
  running release; Swarm, not yet (refused in one line: its tasks are not checked).
- `execute`: `deploy.exec`, a command beside the running release (SSH: a one-off container of
  its image, or in the role's container; Swarm: a one-off job service of the role's spec on the
  node, or in a running task's container; `deploy/swarm/oneoff.py`).
- `details`: per host, each role, accessory and proxy container (version, state, health, up
  for how long); Swarm: per node, each task of the app's services and each one-off running.

Room is left for a TLS / proxy hook:
each is one more method here, and each target says what it does with it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from stackctl.deploy.appdef import AppDefinition
from stackctl.deploy.details import DetailRow
from stackctl.deploy.logview import LogLine, LogRequest
from stackctl.deploy.oneoff import ExecRequest
from stackctl.deploy.release import ReleaseImages
from stackctl.deploy.settings import DeploySettings

if TYPE_CHECKING:
    import docker
    from rich.console import Console

    from stackctl.doctor.doctor import Check
    from stackctl.settings import StackSettings


@dataclass
class DeployRun:
    """One command's inputs, the same for every target."""

    settings: DeploySettings
    app: AppDefinition
    stack: StackSettings
    environment: Mapping[str, str]
    """The release's run-time values (secrets file, environment): `release_environment`."""
    console: Console
    connect_local: Callable[[StackSettings], docker.DockerClient] = field(repr=False)
    """The local engine (where images are built), connected on first use."""
    dotenv: Mapping[str, str] = field(default_factory=dict)

    @functools.cached_property
    def local(self) -> docker.DockerClient:
        return self.connect_local(self.stack)

    @functools.cached_property
    def images(self) -> ReleaseImages:
        """The release's images, built with `invoke up`'s own build (once per command)."""
        from stackctl.deploy.release import build_release

        return build_release(self.local, self.stack, self.app, self.console)

    def say(self, line: str) -> None:
        self.console.print(line, markup=False, highlight=False)


class Target(Protocol):
    name: str

    def plan(self, run: DeployRun) -> list[str]:
        """The dry run: what a deploy would do, one line each; nothing changes anywhere."""
        ...

    def deploy(self, run: DeployRun, *, message: str = "") -> str:
        """Ship the release and move the app to it; the closing line."""
        ...

    def rollback(self, run: DeployRun, *, version: str | None = None) -> None:
        """Move the roles back (to `version` where the target keeps releases)."""
        ...

    def ps(self, run: DeployRun) -> list[str]:
        """What runs where, one line each."""
        ...

    def logs(self, run: DeployRun, request: LogRequest) -> Iterator[LogLine]:
        """The subject's log lines on the hosts (request.hosts: only those), --grep applied:
        a time-ordered snapshot, or followed until every stream ends."""
        ...

    def audit(self, run: DeployRun, hosts: tuple[str, ...], tail: int | None) -> list[str]:
        """The audit log (SSH: each host's; Swarm: the manager's copy, or the --host nodes'),
        the last `tail` entries of each."""
        ...

    def metrics(self, run: DeployRun, hosts: tuple[str, ...], seconds: float) -> str:
        """`invoke metrics`' one screen from the deployed containers (request.hosts: only
        those), scraped inside each through its host's engine."""
        ...

    def doctor(self, run: DeployRun) -> list[Check]:
        """`invoke doctor --host`: the app's own settings check (`x-deploy.check`) where the
        release runs, one Check per host."""
        ...

    def execute(self, run: DeployRun, request: ExecRequest, write: Callable[[bytes], None]) -> int:
        """`deploy.exec`: the command on each of request.hosts in turn, its output handed to
        `write` as it comes, each run in the host's audit log; the first non-zero exit code
        (0 when every host's command succeeded)."""
        ...

    def details(self, run: DeployRun, hosts: tuple[str, ...]) -> list[DetailRow]:
        """What each host (`hosts`: only those) runs for the app, a row per container, in
        DEPLOY_HOSTS order."""
        ...

    def certificates(self, run: DeployRun, *, renew: bool = False) -> None:
        """`deploy.certs`: the certificate each host's proxy serves, printed; `renew`: the ACME
        client renews first (audited) and every proxy has the new one before it returns."""
        ...
