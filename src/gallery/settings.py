"""The app's settings: one validated object per process.

Precedence, lowest first: the config class of the chosen environment (develop, testing,
production), then `instance/config.py`, then environment variables, then a mapping of overrides
passed to `create_app` (tests). The result is validated once at start-up: a bad value stops the
app with one line naming the setting, never a traceback deep in a request.
"""

from __future__ import annotations

import os
import runpy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

# The value the develop and testing classes ship with; production refuses to run with it.
DEFAULT_SECRET_KEY = "dev-insecure-change-me"  # noqa: S105 (a known, refused-in-production value)
SECRET_SETTINGS = frozenset(
    {
        "SECRET_KEY",
        "OSS_ACCESS_KEY_ID",
        "OSS_ACCESS_KEY_SECRET",
        "GALLERY_API_TOKEN",
        "GALLERY_ADMIN_PASSWORD_HASH",
    }
)


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
    OSS_ACCESS_KEY_ID: SecretStr
    OSS_ACCESS_KEY_SECRET: SecretStr
    REDIS_URL: str = Field(pattern=r"^rediss?://")
    # Largest accepted request body in bytes (uploads); Flask answers 413 above it.
    MAX_CONTENT_LENGTH: int = Field(default=20 * 1024 * 1024, gt=0)
    # Decompression-bomb guard: images with more pixels than this are refused.
    MAX_IMAGE_PIXELS: int = Field(default=50_000_000, gt=0)
    # Seconds a readiness probe waits for each dependency.
    READINESS_TIMEOUT: float = Field(default=2.0, gt=0, le=30)
    SESSION_COOKIE_SECURE: bool = False
    PREFERRED_URL_SCHEME: str = "http"

    @field_validator("OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET")
    @classmethod
    def _not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            raise ValueError("must not be empty")
        return value

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
    REDIS_URL = "redis://127.0.0.1:6379/0"


class TestingConfig(DevelopConfig):
    CONFIG_NAME = "testing"
    DEBUG = False
    TESTING = True


class ProductionConfig(DevelopConfig):
    """Real OSS and a real secret key must come from the environment or instance/config.py."""

    CONFIG_NAME = "production"
    DEBUG = False
    SECRET_KEY = ""
    OSS_ENDPOINT = "https://oss-cn-hangzhou.aliyuncs.com"
    OSS_ACCESS_KEY_ID = ""
    OSS_ACCESS_KEY_SECRET = ""
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


def environment_values(environ: Mapping[str, str]) -> dict[str, str]:
    return {name: environ[name] for name in FIELD_NAMES if name in environ}


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
    values.update(overrides or {})
    values["CONFIG_NAME"] = config_name
    secret = str(values.get("SECRET_KEY") or "")
    if config_name == "production" and secret in ("", DEFAULT_SECRET_KEY):
        raise ConfigError(
            "SECRET_KEY is not set: production needs a long random SECRET_KEY "
            "(environment or instance/config.py), e.g. "
            '`python -c "import secrets; print(secrets.token_hex(32))"`'
        )
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "settings"
        raise ConfigError(
            f"setting {name}={shown(name, values.get(name))} is invalid: {err['msg']}"
        ) from None
