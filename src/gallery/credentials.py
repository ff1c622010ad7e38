"""Where the app's OSS credentials come from: the provider OSS_CREDENTIALS chooses.

    access-key      an AccessKey pair (OSS_ACCESS_KEY_ID/_SECRET): today's, static
    sts-token       STS credentials given as secrets (the pair and OSS_SECURITY_TOKEN)
    ecs-ram-role    the ECS instance's RAM role, from the metadata service (OSS_ECS_*)
    oidc-role-arn   a RAM role assumed with an OIDC token (CI, ACK's RRSA; OSS_OIDC_*)

The two role modes use Alibaba's own `alibabacloud-credentials` providers, wrapped for oss2's
ProviderAuth: oss2 asks for credentials on every request it signs, the provider answers from
its cache and fetches new ones ahead of expiry. A failure to get credentials is an oss2
RequestError (CredentialsUnavailable), so a request answers 503 and a Celery job retries, as
for OSS being down. `check_credentials` fetches once at start and turns what went wrong into
one line naming the setting (ConfigError).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import oss2
from oss2.credentials import Credentials, CredentialsProvider, StaticCredentialsProvider

from gallery.settings import SECRETS_DIR, ConfigError, Settings

# ECS credentials live six hours and STS's at most twelve: an expiry further ahead than this
# (plus OSS's 15 minutes of tolerated skew) means this host's clock is behind.
LONGEST_CREDENTIAL_SECONDS = 12 * 3600
CLOCK_SKEW_SECONDS = 15 * 60


class CredentialsUnavailable(oss2.exceptions.RequestError):  # type: ignore[misc]
    """The provider could not hand out credentials (metadata service or STS unreachable, or
    refusing). str(self.reason) is one line without secrets."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(reason)
        self.source = source
        self.reason = reason


class SdkCredentials(CredentialsProvider):  # type: ignore[misc]
    """oss2's credentials provider over an alibabacloud-credentials provider."""

    def __init__(self, provider: Any, source: str) -> None:
        self._provider = provider
        self.source = source

    def get_credentials(self) -> Credentials:
        try:
            found = self._provider.get_credentials()
        except Exception as exc:  # the SDK raises CredentialException, RetryError, OSError...
            raise CredentialsUnavailable(self.source, one_line(exc)) from None
        return Credentials(
            found.get_access_key_id(),
            found.get_access_key_secret(),
            found.get_security_token() or "",
        )

    def expiration(self) -> float | None:
        """The current credentials' expiry (Unix time), None for credentials that do not."""
        found = self._provider.get_credentials()
        expiration = found.get_expiration()
        return float(expiration) if expiration else None


class SecretFileCredentials(CredentialsProvider):  # type: ignore[misc]
    """sts-token given as secret files: read again whenever one of them changes, so whatever
    renews the token outside the app (a sidecar, a cron job, `invoke deploy`) is followed
    without a restart. Write the three files together (a folder swap, as Kubernetes does):
    a request signed between two writes would pair a new id with an old token."""

    NAMES = ("OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET", "OSS_SECURITY_TOKEN")

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._seen: tuple[int, ...] = ()
        self._credentials = Credentials("", "", "")

    def get_credentials(self) -> Credentials:
        with self._lock:
            try:
                stamps = tuple((self.folder / n).stat().st_mtime_ns for n in self.NAMES)
                if stamps != self._seen:
                    values = [(self.folder / n).read_text("utf-8").strip() for n in self.NAMES]
                    self._credentials = Credentials(*values)
                    self._seen = stamps
            except OSError as exc:
                raise CredentialsUnavailable("sts-token", one_line(exc)) from None
            return self._credentials


def secrets_folder(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("SECRETS_DIR") or SECRETS_DIR)


def secrets_folder_has_token(environ: Mapping[str, str]) -> bool:
    return (secrets_folder(environ) / "OSS_SECURITY_TOKEN").is_file()


def credentials_provider(settings: Settings) -> CredentialsProvider:
    """The provider OSS_CREDENTIALS names, built from the settings (nothing fetched yet)."""
    mode = settings.OSS_CREDENTIALS
    if mode == "sts-token" and secrets_folder_has_token(os.environ):
        return SecretFileCredentials(secrets_folder(os.environ))
    if mode in ("access-key", "sts-token"):
        return StaticCredentialsProvider(
            settings.OSS_ACCESS_KEY_ID.get_secret_value(),
            settings.OSS_ACCESS_KEY_SECRET.get_secret_value(),
            settings.OSS_SECURITY_TOKEN.get_secret_value() if mode == "sts-token" else "",
        )
    from alibabacloud_credentials.http import HttpOptions
    from alibabacloud_credentials.provider import OIDCRoleArnCredentialsProvider

    from gallery.ecsrole import EcsRoleProvider

    _quiet_sdk_logger()  # after the imports: each SDK module adds its handler as it loads

    # The SDK counts milliseconds. One OSS timeout per call: a host with no metadata service
    # costs start-up at most that long in hardened mode, which fails at its first call (with
    # it off, the SDK falls back to a second call without a session token).
    timeout_ms = int(settings.OSS_TIMEOUT * 1000)
    options = HttpOptions(connect_timeout=timeout_ms, read_timeout=timeout_ms)
    if mode == "ecs-ram-role":
        provider: Any = EcsRoleProvider(
            metadata_url=settings.OSS_ECS_METADATA_URL,
            role_name=settings.OSS_ECS_ROLE_NAME or None,
            hardened_only=settings.OSS_ECS_HARDENED_MODE,
            http_options=options,
        )
        return SdkCredentials(provider, mode)
    provider = OIDCRoleArnCredentialsProvider(
        role_arn=settings.OSS_OIDC_ROLE_ARN,
        oidc_provider_arn=settings.OSS_OIDC_PROVIDER_ARN,
        oidc_token_file_path=settings.OSS_OIDC_TOKEN_FILE,
        role_session_name=settings.OSS_ROLE_SESSION_NAME,
        duration_seconds=settings.OSS_ROLE_DURATION_SECONDS,
        sts_endpoint=settings.OSS_STS_ENDPOINT,
        http_options=options,
    )
    return SdkCredentials(provider, mode)


def check_credentials(
    settings: Settings, provider: CredentialsProvider, now: float | None = None
) -> float | None:
    """Fetch credentials once, as the app does at start; ConfigError (one line) if that fails
    or they cannot be used from this host (expired by its clock, or expiring too far ahead).
    Returns their expiry (Unix time), None for credentials that do not expire."""
    if not isinstance(provider, SdkCredentials):
        return None  # static keys: nothing to fetch; OSS itself says whether they hold
    try:
        provider.get_credentials()
        expiration = provider.expiration()
    except CredentialsUnavailable as exc:
        raise ConfigError(_fetch_failed(settings, exc.reason)) from None
    now = time.time() if now is None else now
    if expiration is None:
        return None
    if expiration <= now:
        raise ConfigError(
            f"OSS_CREDENTIALS={settings.OSS_CREDENTIALS}: the credentials it got expired at "
            f"{_utc(expiration)}, before this host's clock ({_utc(now)}): the clock is ahead; "
            "synchronise it (chrony/NTP), OSS refuses requests more than 15 minutes off"
        )
    if expiration - now > LONGEST_CREDENTIAL_SECONDS + CLOCK_SKEW_SECONDS:
        raise ConfigError(
            f"OSS_CREDENTIALS={settings.OSS_CREDENTIALS}: the credentials it got expire at "
            f"{_utc(expiration)}, further ahead than STS credentials can live by this host's "
            f"clock ({_utc(now)}): the clock is behind; synchronise it (chrony/NTP), OSS "
            "refuses requests more than 15 minutes off"
        )
    return expiration


def _fetch_failed(settings: Settings, reason: str) -> str:
    mode = settings.OSS_CREDENTIALS
    if "No cached value was found" in reason:
        # The SDK drops credentials whose expiry is already past by this host's clock.
        return (
            f"OSS_CREDENTIALS={mode}: the credentials it got had already expired by this "
            "host's clock: the clock is ahead; synchronise it (chrony/NTP), OSS refuses "
            "requests more than 15 minutes off"
        )
    if mode == "ecs-ram-role":
        return _metadata_failed(settings, reason)
    if mode == "oidc-role-arn":
        if "No such file" in reason or "Errno" in reason:
            return (
                f"OSS_OIDC_TOKEN_FILE={settings.OSS_OIDC_TOKEN_FILE!r}: cannot be read "
                f"({_short(reason)}): the CI job must write the forge's OIDC token there"
            )
        if _unreachable(reason):
            return (
                f"OSS_STS_ENDPOINT={settings.OSS_STS_ENDPOINT!r}: STS did not answer within "
                f"OSS_TIMEOUT={settings.OSS_TIMEOUT:g} s ({_unreachable(reason)})"
            )
        return (
            f"OSS_OIDC_ROLE_ARN={settings.OSS_OIDC_ROLE_ARN!r}: STS refused the OIDC token "
            f"exchange: {_sts_error(reason)}"
        )
    return f"OSS_CREDENTIALS={mode}: {_short(reason)}"


def _metadata_failed(settings: Settings, reason: str) -> str:
    url = settings.OSS_ECS_METADATA_URL
    role = settings.OSS_ECS_ROLE_NAME
    if _unreachable(reason):
        return (
            f"OSS_ECS_METADATA_URL={url}: no ECS metadata service answered within "
            f"OSS_TIMEOUT={settings.OSS_TIMEOUT:g} s ({_unreachable(reason)}): on ECS attach a "
            "RAM role to the instance; elsewhere choose another OSS_CREDENTIALS"
        )
    if "HttpCode=404" in reason:
        if role:
            return (
                f"OSS_ECS_ROLE_NAME={role!r}: the metadata service at {url} has no credentials "
                "for this role: attach it to the instance (ECS console: Instance > Attach/"
                "Detach RAM Role) or fix the name"
            )
        return (
            f"OSS_CREDENTIALS=ecs-ram-role: the instance has no RAM role attached (metadata "
            f"service at {url}): attach one, or set OSS_ECS_ROLE_NAME"
        )
    if "HttpCode=401" in reason or "HttpCode=403" in reason:
        return (
            f"OSS_ECS_HARDENED_MODE={settings.OSS_ECS_HARDENED_MODE}: the metadata service at "
            f"{url} refused the request ({_short(reason)}): check the instance's metadata "
            "access settings (hardened mode)"
        )
    return (
        f"OSS_ECS_METADATA_URL={url}: the metadata service's answer was not credentials "
        f"({_short(reason)})"
    )


def _unreachable(reason: str) -> str:
    """'connection refused' or 'timed out' when the reason is one of those, else ''."""
    if "timed out" in reason or "Timeout" in reason:
        return "timed out"
    if "Connection refused" in reason or "NewConnectionError" in reason:
        return "connection refused"
    if "Name or service not known" in reason or "NameResolutionError" in reason:
        return "name not resolved"
    return ""


def _sts_error(reason: str) -> str:
    """STS's Code and Message out of the SDK's message, which quotes STS's JSON answer."""
    start = reason.find("{")
    if start >= 0:
        try:
            answer = json.loads(reason[start:])
            return f"{answer.get('Code')}: {answer.get('Message')}"
        except ValueError:
            pass
    return _short(reason)


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


def _short(reason: str, limit: int = 240) -> str:
    return reason if len(reason) <= limit else reason[: limit - 3] + "..."


def _utc(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


def _quiet_sdk_logger() -> None:
    # alibabacloud-credentials gives its "credentials" logger a stderr handler of its own and
    # logs each failed fetch several times, the first with a traceback. What went wrong reaches
    # the operator as one line from here instead: ConfigError at start, the 503's log line
    # after (errors.render_no_credentials).
    sdk = logging.getLogger("credentials")
    for handler in list(sdk.handlers):
        sdk.removeHandler(handler)
    sdk.addHandler(logging.NullHandler())
    sdk.propagate = False
