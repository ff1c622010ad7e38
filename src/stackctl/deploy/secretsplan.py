"""What a dry run says of the release's secrets, the same for both targets: which secrets each
`x-deploy.secrets-by` value ships and which it never does, how to check the app's credentials
where it runs (`x-deploy.check`), and what a deploy would refuse (secrets given for nothing,
secrets missing). Names only: a value never reaches these lines."""

from __future__ import annotations

from collections.abc import Mapping

from stackctl.deploy.appdef import AppDefinition
from stackctl.deploy.release import chosen_values, missing_secrets, unwanted_secrets
from stackctl.deploy.settings import DeploySettings


def secrets_plan(
    settings: DeploySettings,
    app: AppDefinition,
    environment: Mapping[str, str],
    *,
    doctor_reaches: bool,
) -> list[str]:
    """The lines, from the release's values `environment`; `doctor_reaches`: `invoke doctor
    --host` can run the app's check where this target runs the release (the SSH hosts' release
    containers; not yet a Swarm's tasks)."""
    lines = []
    for rule, value in chosen_values(app, environment):
        needed = ", ".join(rule.needed(value)) or "none"
        unused = ", ".join(rule.unused(value))
        lines.append(
            f"{rule.setting}={value} (the roles' environment): ships {needed}"
            + (f"; never ships {unused} (refused if given)" if unused else "")
        )
    if app.check and doctor_reaches:
        lines.append(
            f"check on the hosts: `invoke doctor --host all` runs `{' '.join(app.check)}` in the"
            " running release there (e.g. where its credentials come from, whether the host's"
            " metadata service answers with a role)"
        )
    elif app.check:
        lines.append(
            f"check on the swarm: `invoke doctor --host` runs `{' '.join(app.check)}` in an SSH"
            " deploy's release only, not yet in a Swarm task: on a node, `docker exec` it in a"
            f" task container of {app.checked_role} to see where its"
            " credentials come from"
        )
    unwanted = unwanted_secrets(app, environment)
    if unwanted:
        lines.append(
            "given but unused by this mode (a deploy refuses before it starts):"
            f" {', '.join(unwanted)}"
        )
    missing = missing_secrets(settings, app, environment)
    if missing:
        lines.append(f"missing secrets (a deploy refuses before it starts): {', '.join(missing)}")
    return lines
