"""Where the app's OSS credentials come from, said in one line: no SDK imported, no secret shown
(`python -m gallery.checkconfig` answers it for `invoke doctor` and a deploy's dry run)."""

from __future__ import annotations

from gallery.settings import Settings


def describe_source(settings: Settings) -> str:
    """Where the app's OSS credentials come from, in one line without secrets (checkconfig's
    answer, for `invoke doctor` and a deploy's dry run)."""
    mode = settings.OSS_CREDENTIALS
    if mode == "access-key":
        return "an AccessKey pair (OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET): long-lived"
    if mode == "sts-token":
        return "an STS token given as settings (OSS_SECURITY_TOKEN): renewed outside the app"
    if mode == "ecs-ram-role":
        role = repr(settings.OSS_ECS_ROLE_NAME) if settings.OSS_ECS_ROLE_NAME else "(discovered)"
        hardened = "hardened mode" if settings.OSS_ECS_HARDENED_MODE else "hardened mode off"
        return (
            f"the ECS instance's RAM role {role} from the metadata service at "
            f"{settings.OSS_ECS_METADATA_URL} ({hardened}): no key stored"
        )
    return (
        f"the RAM role {settings.OSS_OIDC_ROLE_ARN} assumed with the OIDC token in "
        f"{settings.OSS_OIDC_TOKEN_FILE} (STS at {settings.OSS_STS_ENDPOINT}): no key stored"
    )
