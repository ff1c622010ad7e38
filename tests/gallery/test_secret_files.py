"""Settings given as files under /run/secrets (compose secrets, `invoke deploy`): read, and
winning over the environment, so a secret need not be in a container's environment at all."""

from __future__ import annotations

from pathlib import Path

from gallery.settings import load_settings


def test_a_secret_file_gives_the_setting_and_wins_over_the_environment(tmp_path: Path) -> None:
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    (secrets_dir / "SECRET_KEY").write_text("k" * 40 + "\n")
    (secrets_dir / "REDIS_URL").write_text("rediss://r-bp1.redis.rds.aliyuncs.com:6380/0")
    environ = {
        "SECRETS_DIR": str(secrets_dir),
        "REDIS_URL": "redis://redis:6379/0",
        "OSS_ACCESS_KEY_ID": "from-env",
    }

    settings = load_settings("develop", instance_path=tmp_path, environ=environ)

    assert settings.SECRET_KEY.get_secret_value() == "k" * 40
    assert settings.REDIS_URL == "rediss://r-bp1.redis.rds.aliyuncs.com:6380/0"
    assert settings.OSS_ACCESS_KEY_ID.get_secret_value() == "from-env"


def test_no_secrets_folder_changes_nothing(tmp_path: Path) -> None:
    environ = {"SECRETS_DIR": str(tmp_path / "absent"), "SECRET_KEY": "e" * 40}

    settings = load_settings("develop", instance_path=tmp_path, environ=environ)

    assert settings.SECRET_KEY.get_secret_value() == "e" * 40
