"""The SSH hosts as a deploy target (`deploy.targets.Target`)."""

from __future__ import annotations

from stackctl.deploy.target import DeployRun


class SshTarget:
    name = "hosts"

    def plan(self, run: DeployRun) -> list[str]:
        from stackctl.deploy.plan import describe_plan
        from stackctl.deploy.release import (
            chosen_values,
            missing_secrets,
            source_version,
            unwanted_secrets,
        )

        missing = missing_secrets(run.settings, run.app, run.environment)
        version = source_version(run.settings.project_dir).release()
        chosen = chosen_values(run.app, run.environment)
        return describe_plan(
            run.settings,
            run.app,
            version,
            missing_secrets=missing,
            chosen=chosen,
            unwanted_secrets=unwanted_secrets(run.app, run.environment),
        )

    def deploy(self, run: DeployRun, *, message: str = "") -> str:
        from stackctl.deploy.release import check_secrets
        from stackctl.deploy.ssh.run import deploy

        check_secrets(run.settings, run.app, run.environment)
        images = run.images
        deploy(
            run.local, run.settings, run.app, images, run.environment, run.console, message=message
        )
        return f"[bold green]deployed[/] {images.version} to {len(run.settings.hosts)} host(s)"

    def rollback(self, run: DeployRun, *, version: str | None = None) -> None:
        from stackctl.deploy.ssh.run import rollback

        rollback(run.settings, run.app, run.console, version=version)

    def ps(self, run: DeployRun) -> list[str]:
        from stackctl.deploy.ssh.run import versions

        lines = []
        for name, kept in versions(run.settings).items():
            lines.append(f"{name}:")
            lines += [f"  {line}" for line in kept or ["  (no release)"]]
        return lines
