"""Deploy settings and the dry run: no engine, no host."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stackctl.deploy.appdef import load_app
from stackctl.deploy.plan import batches, describe_plan
from stackctl.deploy.release import SourceVersion, release_environment
from stackctl.deploy.settings import load_deploy_settings
from stackctl.errors import SettingsError

ROOT = Path(__file__).resolve().parents[2]


def test_hosts_take_the_default_user_and_port() -> None:
    settings = load_deploy_settings(
        ROOT, environ={"DEPLOY_HOSTS": "a.example, deploy@b.example:2222", "DEPLOY_SSH_PORT": "22"}
    )

    assert [a.base_url for a in settings.addresses] == [
        "ssh://root@a.example:22",
        "ssh://deploy@b.example:2222",
    ]


def test_a_host_option_overrides_the_environment() -> None:
    settings = load_deploy_settings(
        ROOT, environ={"DEPLOY_HOSTS": "a.example"}, overrides={"hosts": ("c.example",)}
    )

    assert settings.hosts == ("c.example",)


def test_no_hosts_is_refused_with_the_fix() -> None:
    with pytest.raises(SettingsError, match="set DEPLOY_HOSTS or give --host"):
        load_deploy_settings(ROOT, environ={})


def test_an_invalid_setting_names_its_variable() -> None:
    with pytest.raises(SettingsError, match="DEPLOY_KEEP_RELEASES='0'"):
        load_deploy_settings(ROOT, environ={"DEPLOY_HOSTS": "a", "DEPLOY_KEEP_RELEASES": "0"})


def test_hosts_go_in_batches_of_the_batch_size() -> None:
    settings = load_deploy_settings(
        ROOT, environ={"DEPLOY_HOSTS": "a,b,c", "DEPLOY_BATCH_SIZE": "2"}
    )

    assert [[a.host for a in batch] for batch in batches(settings)] == [["a", "b"], ["c"]]


def test_a_dirty_tree_gives_each_build_its_own_version() -> None:
    assert SourceVersion("abc", dirty=False).release("sha256:1234567890") == "abc"
    assert SourceVersion("abc", dirty=True).release("sha256:1234567890") == "abc-dirty-12345678"


def test_secrets_come_from_the_file_then_the_environment(tmp_path: Path) -> None:
    secrets_file = tmp_path / "secrets.env"
    secrets_file.write_text("SECRET_KEY=from-file\n")
    settings = load_deploy_settings(
        ROOT, environ={"DEPLOY_HOSTS": "a", "DEPLOY_SECRETS_FILE": str(secrets_file)}
    )

    app = load_app(ROOT / "compose.yaml", {})

    env = release_environment(
        settings, environ={"SECRET_KEY": "env", "GALLERY_API_TOKEN": "t"}, app=app
    )

    assert env == {"SECRET_KEY": "from-file", "GALLERY_API_TOKEN": "t"}
    assert app.role_environment(env) == {"FLASK_CONFIG": "production", **env}


def test_the_app_names_its_own_settings_and_secrets_in_x_deploy() -> None:
    settings = load_deploy_settings(ROOT, environ={"DEPLOY_HOSTS": "a"})
    app = load_app(ROOT / "compose.yaml", {"DEPLOY_FLASK_CONFIG": "testing"})

    assert app.env == {"FLASK_CONFIG": "testing"}
    assert "SECRET_KEY" in app.secrets
    assert release_environment(settings, environ={"SECRET_KEY": "s"}) == {}  # no app, no names
    assert release_environment(settings, environ={"SECRET_KEY": "s"}, app=app) == {
        "SECRET_KEY": "s"
    }
    plain, secret = app.plain_and_secret({"FLASK_CONFIG": "develop", "SECRET_KEY": "s"})
    assert (plain, secret) == ({"FLASK_CONFIG": "develop"}, {"SECRET_KEY": "s"})


def test_the_dry_run_prints_the_plan_without_secrets(tmp_path: Path) -> None:
    settings = load_deploy_settings(
        ROOT, environ={"DEPLOY_HOSTS": "a,b", "DEPLOY_RELEASE_COMMAND": "flask db upgrade"}
    )
    app = load_app(ROOT / "compose.yaml", {})

    plan = "\n".join(describe_plan(settings, app, "abc"))

    assert "batch 1: root@a:22" in plan
    assert "batch 2: root@b:22" in plan
    assert "run `flask db upgrade` in a one-off container" in plan
    assert "roles: web (proxied :8000), worker; accessories: redis; proxy: nginx" in plan
    assert "start aliecs-web-abc" in plan
    assert "start aliecs-worker-abc" in plan
    assert "start accessory aliecs-redis if missing (kept if running)" in plan
    assert "fakeoss" not in plan


def test_invoke_deploy_dry_run_contacts_no_host() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "invoke", "deploy", "--dry-run", "--host", "deploy@192.0.2.1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "batch 1: deploy@192.0.2.1:22" in result.stdout
    assert "roles: web (proxied :8000), worker" in result.stdout
