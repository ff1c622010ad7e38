"""The app's settings: one validated object per process.

Precedence, lowest first: the config class of the chosen environment (develop, testing,
production), then `instance/config.py`, then environment variables, then a mapping of overrides
passed to `create_app` (tests). The result is validated once at start-up: a bad value stops the
app with one line naming the setting, never a traceback deep in a request.
"""

from __future__ import annotations

import os
import re
import runpy
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

# The value the develop and testing classes ship with; production refuses to run with it.
DEFAULT_SECRET_KEY = "dev-insecure-change-me"  # noqa: S105 (a known, refused-in-production value)
# The develop API token and admin password ("admin" / "admin"): documented, refused in production.
DEV_API_TOKEN = "dev-gallery-token"  # noqa: S105 (a known, refused-in-production value)
# generate_password_hash("admin"), refused in production.
DEV_ADMIN_PASSWORD_HASH = (
    "scrypt:32768:8:1$y4VbqmtPih1cCXvi$68f3ccd775ea23f1ee077c572eefc2dff07ab3d9d7e70655c4847440c"  # noqa: S105
    "352eddd6fe6d009be58803d574f262b699e125659e22fefcfd1b66aa2b8d51f03ed8018"
)
SECRET_SETTINGS = frozenset(
    {
        "SECRET_KEY",
        "OSS_ACCESS_KEY_ID",
        "OSS_ACCESS_KEY_SECRET",
        "OSS_SECURITY_TOKEN",
        "GALLERY_API_TOKEN",
        "GALLERY_ADMIN_PASSWORD_HASH",
    }
)
# Where the app's OSS credentials come from (gallery/credentials.py, README "Cloud credentials").
CREDENTIAL_MODES = ("access-key", "sts-token", "ecs-ram-role", "oidc-role-arn")
CredentialMode = Literal["access-key", "sts-token", "ecs-ram-role", "oidc-role-arn"]
# Alibaba's ECS instance metadata service, as every Alibaba SDK reaches it.
ECS_METADATA_URL = "http://100.100.100.200"
# The variables Alibaba's SDKs and CI integrations use, read when the OSS_ name is not set.
STANDARD_VARIABLES = {
    "OSS_OIDC_ROLE_ARN": "ALIBABA_CLOUD_ROLE_ARN",
    "OSS_OIDC_PROVIDER_ARN": "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
    "OSS_OIDC_TOKEN_FILE": "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
    "OSS_ROLE_SESSION_NAME": "ALIBABA_CLOUD_ROLE_SESSION_NAME",
    "OSS_ECS_ROLE_NAME": "ALIBABA_CLOUD_ECS_METADATA",
}


# instance/ lives at the project root in a checkout; an installed app sets GALLERY_INSTANCE_PATH.
# Here, not in the factory: `python -m gallery.checkconfig` needs it without importing the app.
PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Where compose and `invoke deploy` mount secret files.
SECRETS_DIR = "/run/secrets"


class ConfigError(Exception):
    """A setting is missing or invalid. str() is one line naming it and what to do."""


class Settings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    CONFIG_NAME: str
    DEBUG: bool = False
    TESTING: bool = False
    SECRET_KEY: SecretStr = SecretStr(DEFAULT_SECRET_KEY)
    OSS_ENDPOINT: str = Field(pattern=r"^https?://[^\s/]+/?$")
    OSS_BUCKET: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
    # --- OSS credentials (issue 28): OSS_CREDENTIALS chooses, the rest serve one mode each ---
    OSS_CREDENTIALS: CredentialMode = "access-key"
    # access-key and sts-token: the AccessKey pair (a RAM user's, or STS's temporary one).
    OSS_ACCESS_KEY_ID: SecretStr = SecretStr("")
    OSS_ACCESS_KEY_SECRET: SecretStr = SecretStr("")
    # sts-token: the security token that goes with the temporary pair.
    OSS_SECURITY_TOKEN: SecretStr = SecretStr("")
    # ecs-ram-role: the role attached to the instance (empty: ask the metadata service), the
    # service's address, and hardened mode (every call with a session token, no fallback).
    OSS_ECS_ROLE_NAME: str = Field(default="", pattern=r"^[A-Za-z0-9._-]{0,64}$")
    OSS_ECS_METADATA_URL: str = Field(default=ECS_METADATA_URL, pattern=r"^https?://[^\s/]+/?$")
    OSS_ECS_HARDENED_MODE: bool = True
    # oidc-role-arn: the role, the RAM OIDC provider and the file holding the forge's token.
    OSS_OIDC_ROLE_ARN: str = ""
    OSS_OIDC_PROVIDER_ARN: str = ""
    OSS_OIDC_TOKEN_FILE: str = ""
    OSS_ROLE_SESSION_NAME: str = Field(default="gallery", pattern=r"^[A-Za-z0-9.@_-]{2,64}$")
    OSS_ROLE_DURATION_SECONDS: int = Field(default=3600, ge=900, le=43200)
    # How requests are signed: v4 (OSS's current signature, needs the region) or v1.
    OSS_SIGNATURE_VERSION: Literal["v1", "v4"] = "v1"
    # The bucket's region (cn-hangzhou); empty: read from an oss-REGION... endpoint.
    OSS_REGION: str = Field(default="", pattern=r"^([a-z]{2,}(-[a-z0-9]+)+)?$")
    OSS_STS_ENDPOINT: str = Field(default="sts.aliyuncs.com", pattern=r"^(https?://)?[^\s/]+/?$")
    REDIS_URL: str = Field(pattern=r"^rediss?://")
    # Largest accepted request body in bytes (uploads); Flask answers 413 above it.
    MAX_CONTENT_LENGTH: int = Field(default=20 * 1024 * 1024, gt=0)
    # Decompression-bomb guard: images with more pixels than this are refused.
    MAX_IMAGE_PIXELS: int = Field(default=50_000_000, gt=0)
    # Seconds a readiness probe waits for each dependency.
    READINESS_TIMEOUT: float = Field(default=2.0, gt=0, le=30)
    SESSION_COOKIE_SECURE: bool = False
    SESSION_COOKIE_HTTPONLY: bool = True
    SESSION_COOKIE_SAMESITE: Literal["Lax", "Strict"] = "Lax"
    PREFERRED_URL_SCHEME: str = "http"
    # oss2 uses virtual-host style (BUCKET.HOST) for a named endpoint such as http://fakeoss:9000;
    # the fake server inside Docker only answers path style (HOST/BUCKET).
    OSS_PATH_STYLE: bool = False
    # Uploads larger than this go to OSS as a multipart upload, read from the spooled temporary
    # file one part at a time. OSS refuses parts under 100 KB except the last.
    OSS_MULTIPART_THRESHOLD: int = Field(default=8 * 1024 * 1024, ge=102_400)
    OSS_PART_SIZE: int = Field(default=4 * 1024 * 1024, ge=102_400)
    # Bearer token for the JSON API's writes (POST, DELETE).
    GALLERY_API_TOKEN: SecretStr = SecretStr("")
    # The one web user: name and a werkzeug.security password hash.
    GALLERY_ADMIN_USER: str = Field(default="admin", min_length=1)
    GALLERY_ADMIN_PASSWORD_HASH: SecretStr = SecretStr("")
    # True: reads (API, images, gallery page) need the token or a logged-in session.
    GALLERY_PRIVATE_READS: bool = False
    # Lifetime of the signed OSS URLs /images/<id> redirects to.
    SIGNED_URL_SECONDS: int = Field(default=300, ge=10, le=7 * 24 * 3600)
    # redirect: answer with a signed OSS URL (the browser must reach OSS_ENDPOINT);
    # proxy: stream the object through the app (when OSS_ENDPOINT is a name only the app resolves).
    IMAGE_DELIVERY: Literal["redirect", "proxy"] = "redirect"
    # Longest side of each thumbnail, in pixels, smallest first.
    THUMBNAIL_SIZES: tuple[int, ...] = Field(default=(320, 1024), min_length=1)
    THUMBNAIL_FORMAT: Literal["WEBP", "JPEG"] = "WEBP"
    # worker: the Celery worker makes thumbnail files; oss-process: OSS's image service resizes
    # the original on each request (x-oss-process), so thumbnails need no worker and no files.
    THUMBNAILS: Literal["worker", "oss-process"] = "worker"
    # A task a killed worker held comes back after this many seconds (Redis visibility timeout).
    CELERY_VISIBILITY_TIMEOUT: int = Field(default=600, ge=1)
    # Tasks run in the caller instead of a worker (a shell without a worker; never in production).
    CELERY_TASK_ALWAYS_EAGER: bool = False

    # --- resilience and abuse limits (issue 16) ---------------------------------------------
    # The Celery queue thumbnail jobs go to (tests give each test its own).
    CELERY_QUEUE: str = Field(default="celery", pattern=r"^[A-Za-z0-9._-]{1,100}$")
    # Connect and read timeout of every Redis call from a request, Celery's publish included:
    # a hung Redis costs a request this long, never the whole budget.
    REDIS_TIMEOUT: float = Field(default=0.5, gt=0, le=10)
    # Connect and read timeout of every OSS call (per socket read, not per transfer).
    OSS_TIMEOUT: float = Field(default=1.5, gt=0, le=120)
    # Pending images older than this are queued again by the worker's sweep (a job Redis lost).
    REQUEUE_AFTER_SECONDS: int = Field(default=120, ge=1)
    # Seconds between the worker's sweeps (re-queue, index repair, orphan collection).
    SWEEP_INTERVAL_SECONDS: int = Field(default=60, ge=1)
    # Originals without a record older than this are removed by `flask gallery gc`.
    ORPHAN_AGE_SECONDS: int = Field(default=3600, ge=0)
    # Image decodes at once per process: each near-limit image needs about 4 bytes per pixel.
    IMAGE_DECODE_CONCURRENCY: int = Field(default=1, ge=1, le=16)
    # Logged-in sessions: absolute lifetime and idle timeout (checked server-side).
    SESSION_LIFETIME_SECONDS: int = Field(default=12 * 3600, ge=60)
    SESSION_IDLE_SECONDS: int = Field(default=3600, ge=60)
    # Login throttling: failures allowed before back-off, and the longest back-off.
    LOGIN_FREE_FAILURES: int = Field(default=5, ge=1)
    LOGIN_MAX_BACKOFF_SECONDS: int = Field(default=900, ge=1)
    # Password checks at once per process: hashing never takes every request thread.
    PASSWORD_CHECK_CONCURRENCY: int = Field(default=1, ge=1, le=16)
    # Proxies in front of the app whose X-Forwarded-For/-Proto to trust (1 behind the stack's
    # nginx; 0 when clients reach gunicorn directly, where the header could be forged).
    TRUSTED_PROXIES: int = Field(default=0, ge=0, le=5)

    # --- metrics (issue 29) ------------------------------------------------------------------
    # The port gunicorn's master and the Celery worker serve Prometheus metrics on, apart from
    # the app's port so the public proxy never reaches them (gallery.metrics); 0 turns it off.
    METRICS_PORT: int = Field(default=9100, ge=0, le=65535)
    # Off: no request is counted or timed at all (the benchmark's "without metrics" side).
    METRICS_ENABLED: bool = True

    @field_validator(
        "GALLERY_API_TOKEN",
        "GALLERY_ADMIN_PASSWORD_HASH",
    )
    @classmethod
    def _not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            raise ValueError("must not be empty")
        return value

    @field_validator("THUMBNAIL_SIZES", mode="before")
    @classmethod
    def _sizes_from_text(cls, value: object) -> object:
        # From the environment: "320,1024".
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("THUMBNAIL_SIZES")
    @classmethod
    def _sizes_sorted_and_sane(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(size < 16 or size > 4096 for size in value):
            raise ValueError("each size must be between 16 and 4096")
        return tuple(sorted(set(value)))

    def flask_config(self) -> dict[str, Any]:
        """Plain values for app.config (Flask reads SECRET_KEY etc. as strings)."""
        values = self.model_dump()
        for name, value in values.items():
            if isinstance(value, SecretStr):
                values[name] = value.get_secret_value()
        return values


class DevelopConfig:
    """A workstation: the embedded fake OSS and a local Redis, no keys needed."""

    CONFIG_NAME = "develop"
    DEBUG = True
    SECRET_KEY = DEFAULT_SECRET_KEY
    OSS_ENDPOINT = "http://127.0.0.1:9000"
    OSS_BUCKET = "gallery"
    # The fake OSS server's own development keys, not cloud credentials.
    OSS_ACCESS_KEY_ID = "fakeoss-id"
    OSS_ACCESS_KEY_SECRET = "fakeoss-secret"  # noqa: S105 (the fake server's key)
    OSS_PATH_STYLE = True
    # The local ECS metadata service (`python -m fakeoss.metadata`), for OSS_CREDENTIALS=
    # ecs-ram-role on a workstation: never Alibaba's address outside production.
    OSS_ECS_METADATA_URL = "http://127.0.0.1:8100"
    REDIS_URL = "redis://127.0.0.1:6379/0"
    GALLERY_API_TOKEN = DEV_API_TOKEN
    GALLERY_ADMIN_USER = "admin"
    GALLERY_ADMIN_PASSWORD_HASH = DEV_ADMIN_PASSWORD_HASH
    # Inside the stack the browser cannot resolve the fake OSS's name: serve images through the app.
    IMAGE_DELIVERY = "proxy"


class TestingConfig(DevelopConfig):
    CONFIG_NAME = "testing"
    DEBUG = False
    TESTING = True
    IMAGE_DELIVERY = "redirect"
    # Many apps and workers at once: a test that serves metrics gives its own free port.
    METRICS_PORT = 0


class ProductionConfig(DevelopConfig):
    """Real OSS and a real secret key must come from the environment or instance/config.py."""

    CONFIG_NAME = "production"
    DEBUG = False
    SECRET_KEY = ""
    OSS_ENDPOINT = "https://oss-cn-hangzhou.aliyuncs.com"
    OSS_ACCESS_KEY_ID = ""
    OSS_ACCESS_KEY_SECRET = ""
    OSS_ECS_METADATA_URL = ECS_METADATA_URL
    OSS_PATH_STYLE = False
    GALLERY_API_TOKEN = ""
    GALLERY_ADMIN_PASSWORD_HASH = ""
    IMAGE_DELIVERY = "redirect"
    SESSION_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"


CONFIGS: dict[str, type] = {
    "develop": DevelopConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
DEFAULT_CONFIG = "develop"
FIELD_NAMES = frozenset(Settings.model_fields)


def class_values(config_class: type) -> dict[str, Any]:
    return {name: getattr(config_class, name) for name in dir(config_class) if name in FIELD_NAMES}


def instance_values(instance_path: Path) -> dict[str, Any]:
    """Upper-case names from instance/config.py, as Flask's from_pyfile would read them."""
    path = instance_path / "config.py"
    if not path.is_file():
        return {}
    try:
        namespace = runpy.run_path(str(path))
    except Exception as exc:  # a broken instance file must stop start-up with its name
        raise ConfigError(f"{path}: cannot be loaded: {type(exc).__name__}: {exc}") from None
    return {name: value for name, value in namespace.items() if name in FIELD_NAMES}


def secret_file_values(environ: Mapping[str, str]) -> dict[str, str]:
    """Settings given as files, one per setting named after it (compose and `invoke deploy`
    mount secrets at /run/secrets/NAME): they win over the environment, which then need not
    carry them (and `docker inspect` does not show them). SECRETS_DIR moves the folder."""
    folder = Path(environ.get("SECRETS_DIR") or SECRETS_DIR)
    if not folder.is_dir():
        return {}
    values = {}
    for name in sorted(FIELD_NAMES):
        path = folder / name
        if path.is_file():
            try:
                values[name] = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from None
    return values


def environment_values(environ: Mapping[str, str]) -> dict[str, str]:
    """Set variables; an empty one counts as unset (compose passes `${SECRET_KEY:-}` as "").
    Alibaba's standard names (ALIBABA_CLOUD_ROLE_ARN, ...) stand in for unset OSS_ ones."""
    values = {name: environ[name] for name in FIELD_NAMES if environ.get(name)}
    for name, standard in STANDARD_VARIABLES.items():
        if name not in values and environ.get(standard):
            values[name] = environ[standard]
    return values


def shown(name: str, value: object) -> str:
    """A value as it may appear in an error message: secrets never do."""
    if name in SECRET_SETTINGS:
        return "'***'" if value else "''"
    return repr(value)


def choose_config_name(config: str | None, environ: Mapping[str, str]) -> str:
    name = config or environ.get("FLASK_CONFIG") or DEFAULT_CONFIG
    if name not in CONFIGS:
        raise ConfigError(
            f"FLASK_CONFIG={name!r} is not a config: choose one of {', '.join(CONFIGS)}"
        )
    return name


# Each credential production refuses to run without, its development default, and how to make one.
_PRODUCTION_CREDENTIALS = (
    (
        "GALLERY_API_TOKEN",
        DEV_API_TOKEN,
        "production needs a long random API token "
        '(environment or instance/config.py), e.g. `python -c "import secrets; '
        'print(secrets.token_urlsafe(32))"`',
    ),
    (
        "GALLERY_ADMIN_PASSWORD_HASH",
        DEV_ADMIN_PASSWORD_HASH,
        "production needs the admin's password hash, "
        'e.g. `python -c "from werkzeug.security import generate_password_hash as h; '
        "print(h(input('password: ')))\"`",
    ),
)


def refuse_development_credentials(values: Mapping[str, Any]) -> None:
    for name, development, how in _PRODUCTION_CREDENTIALS:
        if str(values.get(name) or "") in ("", development):
            raise ConfigError(f"{name} is not set: {how}")


def load_settings(
    config_name: str,
    *,
    instance_path: Path,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = class_values(CONFIGS[config_name])
    values.update(instance_values(instance_path))
    values.update(environment_values(environ))
    values.update(secret_file_values(environ))
    values.update(overrides or {})
    values["CONFIG_NAME"] = config_name
    secret = str(values.get("SECRET_KEY") or "")
    if config_name == "production" and secret in ("", DEFAULT_SECRET_KEY):
        raise ConfigError(
            "SECRET_KEY is not set: production needs a long random SECRET_KEY "
            "(environment or instance/config.py), e.g. "
            '`python -c "import secrets; print(secrets.token_hex(32))"`'
        )
    if config_name == "production":
        refuse_development_credentials(values)
    try:
        settings = Settings.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "settings"
        raise ConfigError(
            f"setting {name}={shown(name, values.get(name))} is invalid: {err['msg']}"
        ) from None
    require_credential_settings(settings)
    if settings.OSS_SIGNATURE_VERSION == "v4" and not oss_region(settings):
        raise ConfigError(
            f"setting OSS_REGION='' is invalid: OSS_SIGNATURE_VERSION=v4 needs the bucket's "
            f"region, which OSS_ENDPOINT={settings.OSS_ENDPOINT!r} does not name "
            "(set OSS_REGION, e.g. cn-hangzhou)"
        )
    return settings


def oss_region(settings: Settings) -> str:
    """OSS_REGION, else the region an endpoint such as oss-cn-hangzhou(-internal).aliyuncs.com
    names; '' when neither says."""
    if settings.OSS_REGION:
        return settings.OSS_REGION
    host = settings.OSS_ENDPOINT.split("://", 1)[-1].split("/", 1)[0]
    match = re.fullmatch(r"oss-([a-z]{2,}(?:-[a-z0-9]+)+?)(?:-internal)?\.aliyuncs\.com", host)
    return match.group(1) if match else ""


# What each OSS_CREDENTIALS mode needs set, and what to do about it.
_NEEDED = {
    "access-key": (
        ("OSS_ACCESS_KEY_ID", "a RAM user's AccessKey id"),
        ("OSS_ACCESS_KEY_SECRET", "its secret"),
    ),
    "sts-token": (
        ("OSS_ACCESS_KEY_ID", "STS's temporary AccessKey id"),
        ("OSS_ACCESS_KEY_SECRET", "its secret"),
        ("OSS_SECURITY_TOKEN", "its security token"),
    ),
    "ecs-ram-role": (),
    "oidc-role-arn": (
        ("OSS_OIDC_ROLE_ARN", "the RAM role's ARN (or ALIBABA_CLOUD_ROLE_ARN)"),
        (
            "OSS_OIDC_PROVIDER_ARN",
            "the RAM OIDC provider's ARN (or ALIBABA_CLOUD_OIDC_PROVIDER_ARN)",
        ),
        ("OSS_OIDC_TOKEN_FILE", "the OIDC token's file (or ALIBABA_CLOUD_OIDC_TOKEN_FILE)"),
    ),
}


def require_credential_settings(settings: Settings) -> None:
    """Each credential mode's settings are set and well-formed; ConfigError names the first
    that is not (without its value when it is a secret)."""
    mode = settings.OSS_CREDENTIALS
    for name, what in _NEEDED[mode]:
        value = getattr(settings, name)
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if not text:
            raise ConfigError(
                f"setting {name}={shown(name, text)} is invalid: must not be empty "
                f"(OSS_CREDENTIALS={mode} needs {what})"
            )
    if mode == "sts-token":
        token = settings.OSS_SECURITY_TOKEN.get_secret_value()
        if any(ch.isspace() or not ch.isprintable() for ch in token):
            raise ConfigError(
                "setting OSS_SECURITY_TOKEN='***' is invalid: a security token is one line of "
                "printable text without spaces (copy it again from STS's AssumeRole answer)"
            )
    if mode == "oidc-role-arn":
        for name, kind in (
            ("OSS_OIDC_ROLE_ARN", "role"),
            ("OSS_OIDC_PROVIDER_ARN", "oidc-provider"),
        ):
            value = getattr(settings, name)
            if not re.fullmatch(rf"acs:ram::\d+:{kind}/[\w.@+=,-]+", value):
                raise ConfigError(
                    f"setting {name}={value!r} is invalid: expected acs:ram::ACCOUNT_ID:{kind}/NAME"
                )
