from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gallery import ConfigError, create_app
from gallery.settings import DEFAULT_SECRET_KEY, DEV_ADMIN_PASSWORD_HASH, DEV_API_TOKEN, Settings

PRODUCTION_CREDENTIALS = {
    "SECRET_KEY": "x" * 64,
    "GALLERY_API_TOKEN": "t" * 43,
    "GALLERY_ADMIN_PASSWORD_HASH": "scrypt:32768:8:1$salt$" + "0" * 128,
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, instance_path: Path) -> None:
    """Start from no settings at all: every name the Settings model reads, and FLASK_CONFIG."""
    for name in (*Settings.model_fields, "FLASK_CONFIG"):
        monkeypatch.delenv(name, raising=False)


def test_default_config_is_develop() -> None:
    app = create_app()
    assert app.config["CONFIG_NAME"] == "develop"
    assert app.debug is True


def test_flask_config_variable_selects_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASK_CONFIG", "testing")
    assert create_app().config["CONFIG_NAME"] == "testing"


def test_config_name_argument_wins_over_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASK_CONFIG", "develop")
    app = create_app("testing")
    assert app.config["CONFIG_NAME"] == "testing"
    assert app.testing is True


def test_mapping_overrides_settings() -> None:
    app = create_app({"CONFIG_NAME": "testing", "MAX_CONTENT_LENGTH": 1234})
    assert app.config["MAX_CONTENT_LENGTH"] == 1234


def test_unknown_config_name_is_refused_naming_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"FLASK_CONFIG='staging'.*develop, testing, production"):
        create_app("staging")


def test_instance_config_overrides_the_config_class_defaults(instance_path: Path) -> None:
    (instance_path / "config.py").write_text('OSS_BUCKET = "from-instance"\nlowercase = 1\n')
    app = create_app("testing")
    assert app.config["OSS_BUCKET"] == "from-instance"
    assert "lowercase" not in app.config


def test_environment_overrides_instance_config(
    instance_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (instance_path / "config.py").write_text('OSS_BUCKET = "from-instance"\n')
    monkeypatch.setenv("OSS_BUCKET", "from-environment")
    assert create_app("testing").config["OSS_BUCKET"] == "from-environment"


def test_broken_instance_config_names_the_file(instance_path: Path) -> None:
    (instance_path / "config.py").write_text("OSS_BUCKET = (\n")
    with pytest.raises(ConfigError, match=r"instance/config.py: cannot be loaded: SyntaxError"):
        create_app("testing")


def test_production_without_secret_key_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^SECRET_KEY is not set"):
        create_app("production")


def test_production_with_the_default_secret_key_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SECRET_KEY", DEFAULT_SECRET_KEY)
    with pytest.raises(ConfigError, match=r"^SECRET_KEY is not set"):
        create_app("production")


def test_production_with_secret_and_keys_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PRODUCTION_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("OSS_ACCESS_KEY_ID", "id")
    monkeypatch.setenv("OSS_ACCESS_KEY_SECRET", "secret")
    app = create_app("production")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.debug is False


def test_production_without_oss_keys_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PRODUCTION_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=r"setting OSS_ACCESS_KEY_ID='' is invalid"):
        create_app("production")


def test_invalid_setting_names_it_and_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_CONTENT_LENGTH", "lots")
    with pytest.raises(ConfigError, match=r"setting MAX_CONTENT_LENGTH='lots' is invalid"):
        create_app("testing")


def test_invalid_secret_is_masked_in_the_message() -> None:
    with pytest.raises(ConfigError) as caught:
        create_app({"CONFIG_NAME": "testing", "OSS_ACCESS_KEY_SECRET": ""})
    assert "OSS_ACCESS_KEY_SECRET=''" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        create_app({"CONFIG_NAME": "testing", "OSS_ENDPOINT": "not a url"})
    assert "fakeoss-secret" not in str(caught.value)


def test_production_process_exits_non_zero_with_one_line(instance_path: Path) -> None:
    env = {
        "FLASK_CONFIG": "production",
        "GALLERY_INSTANCE_PATH": str(instance_path),
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import gallery.wsgi"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "SECRET_KEY" in lines[0]


@pytest.mark.parametrize("token", ["", DEV_API_TOKEN])
def test_production_without_its_own_api_token_is_refused(
    monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    for name, value in {**PRODUCTION_CREDENTIALS, "GALLERY_API_TOKEN": token}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=r"^GALLERY_API_TOKEN is not set"):
        create_app("production")


@pytest.mark.parametrize("password_hash", ["", DEV_ADMIN_PASSWORD_HASH])
def test_production_without_its_own_admin_password_is_refused(
    monkeypatch: pytest.MonkeyPatch, password_hash: str
) -> None:
    for name, value in {
        **PRODUCTION_CREDENTIALS,
        "GALLERY_ADMIN_PASSWORD_HASH": password_hash,
    }.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=r"^GALLERY_ADMIN_PASSWORD_HASH is not set"):
        create_app("production")


def test_develop_uses_path_style_oss_and_documented_dev_credentials() -> None:
    settings = create_app("develop").config["SETTINGS"]
    assert settings.OSS_PATH_STYLE is True
    assert settings.GALLERY_API_TOKEN.get_secret_value() == DEV_API_TOKEN
    assert settings.GALLERY_ADMIN_USER == "admin"


def test_production_uses_virtual_host_style_oss(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PRODUCTION_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("OSS_ACCESS_KEY_ID", "id")
    monkeypatch.setenv("OSS_ACCESS_KEY_SECRET", "secret")
    assert create_app("production").config["OSS_PATH_STYLE"] is False


def test_thumbnail_sizes_come_from_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THUMBNAIL_SIZES", "800, 200")
    assert create_app("testing").config["THUMBNAIL_SIZES"] == (200, 800)


def test_thumbnail_size_out_of_range_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THUMBNAIL_SIZES", "8")
    with pytest.raises(ConfigError, match=r"THUMBNAIL_SIZES='8' is invalid"):
        create_app("testing")


def test_api_token_is_masked_when_invalid() -> None:
    with pytest.raises(ConfigError) as caught:
        create_app({"CONFIG_NAME": "testing", "GALLERY_API_TOKEN": ""})
    assert "GALLERY_API_TOKEN=''" in str(caught.value)


def test_empty_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "")
    assert create_app("testing").config["SECRET_KEY"] == DEFAULT_SECRET_KEY
