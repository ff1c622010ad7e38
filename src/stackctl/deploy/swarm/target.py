"""The hosts' swarm as a deploy target (`deploy.targets.Target`)."""

from __future__ import annotations

from stackctl.deploy.swarm.settings import SwarmSettings, load_swarm_settings
from stackctl.deploy.target import DeployRun
from stackctl.errors import UsageError


class SwarmTarget:
    name = "swarm"

    def options(self, run: DeployRun) -> SwarmSettings:
        return load_swarm_settings(run.settings.hosts, dotenv=run.dotenv)

    def plan(self, run: DeployRun) -> list[str]:
        from stackctl.deploy.release import check_secrets
        from stackctl.deploy.swarm.run import dry_run

        check_secrets(run.settings, run.app, run.environment)
        options = self.options(run)
        return dry_run(run.local, run.settings, options, run.app, run.images, run.environment)

    def deploy(self, run: DeployRun, *, message: str = "") -> str:
        from stackctl.deploy.release import check_secrets
        from stackctl.deploy.swarm.run import deploy

        check_secrets(run.settings, run.app, run.environment)
        images = run.images
        options = self.options(run)
        deploy(run.local, run.settings, options, run.app, images, run.environment, run.console)
        return f"[bold green]deployed[/] {images.version} to the swarm"

    def rollback(self, run: DeployRun, *, version: str | None = None) -> None:
        from stackctl.deploy.swarm.run import rollback

        if version is not None:
            raise UsageError(
                "rollback --target swarm goes back to each service's previous spec"
                " (Swarm keeps one): drop --version, or deploy that version"
            )
        rollback(run.settings, self.options(run), run.app, run.console)

    def ps(self, run: DeployRun) -> list[str]:
        from stackctl.deploy.swarm.run import ps

        return ps(run.settings, run.app)
