"""Which OSS secrets a release ships depends on where the app's credentials come from:
compose.yaml's `x-deploy.secrets-by` maps each OSS_CREDENTIALS value to the secrets it needs.
The role modes ship no key: one given anyway is refused in one line, and the roles' environment
does not even name it. No engine, no host."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackctl.deploy.appdef import AppDefinition, load_app
from stackctl.deploy.errors import DeployFailed
from stackctl.deploy.release import (
    check_secrets,
    missing_secrets,
    release_environment,
    secret_names,
    unused_secrets,
)
from stackctl.deploy.settings import DeploySettings, load_deploy_settings
from stackctl.deploy.ssh.containers import service_request
from stackctl.errors import ComposeError

ROOT = Path(__file__).resolve().parents[2]
APP_SECRETS = {"SECRET_KEY": "k", "GALLERY_API_TOKEN": "t", "GALLERY_ADMIN_PASSWORD_HASH": "h"}


def settings_with(tmp_path: Path, lines: dict[str, str]) -> DeploySettings:
    secrets_file = tmp_path / "secrets.env"
    secrets_file.write_text("".join(f"{k}={v}\n" for k, v in lines.items()))
    return load_deploy_settings(
        ROOT, environ={"DEPLOY_HOSTS": "a", "DEPLOY_SECRETS_FILE": str(secrets_file)}
    )


def app_with(environ: dict[str, str] | None = None) -> AppDefinition:
    return load_app(ROOT / "compose.yaml", environ or {})


def test_the_access_key_mode_needs_the_key_pair() -> None:
    settings = load_deploy_settings(ROOT, environ={"DEPLOY_HOSTS": "a"})

    names = secret_names(settings, app_with(), {"OSS_CREDENTIALS": "access-key"})

    assert "OSS_ACCESS_KEY_ID" in names
    assert "OSS_ACCESS_KEY_SECRET" in names


def test_the_ram_role_mode_needs_no_oss_secret(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, {**APP_SECRETS, "OSS_CREDENTIALS": "ecs-ram-role"})
    app = app_with()
    environment = release_environment(settings, environ={}, app=app)

    assert secret_names(settings, app, environment) == (
        "SECRET_KEY",
        "GALLERY_API_TOKEN",
        "GALLERY_ADMIN_PASSWORD_HASH",
    )
    assert missing_secrets(settings, app, environment) == []
    check_secrets(settings, app, environment)  # nothing refused


def test_the_mode_may_come_from_the_deploying_environment_through_compose(
    tmp_path: Path,
) -> None:
    # The pipelines set OSS_CREDENTIALS in the deploy job: compose.yaml's web and worker
    # interpolate it into their environment.
    settings = settings_with(tmp_path, APP_SECRETS)
    app = app_with({"OSS_CREDENTIALS": "ecs-ram-role"})
    environment = release_environment(
        settings, environ={"OSS_ACCESS_KEY_ID": "not-picked"}, app=app
    )

    assert "OSS_ACCESS_KEY_ID" not in environment
    assert missing_secrets(settings, app, environment) == []


def test_the_sts_token_mode_also_needs_the_token(tmp_path: Path) -> None:
    settings = settings_with(
        tmp_path,
        {**APP_SECRETS, "OSS_CREDENTIALS": "sts-token", "OSS_ACCESS_KEY_ID": "STS.i"},
    )
    app = app_with()
    environment = release_environment(settings, environ={}, app=app)

    assert missing_secrets(settings, app, environment) == [
        "OSS_ACCESS_KEY_SECRET",
        "OSS_SECURITY_TOKEN",
    ]


def test_a_key_given_in_the_ram_role_mode_is_refused_in_one_line_without_its_value(
    tmp_path: Path,
) -> None:
    settings = settings_with(
        tmp_path,
        {
            **APP_SECRETS,
            "OSS_CREDENTIALS": "ecs-ram-role",
            "OSS_ACCESS_KEY_ID": "LTAI-never-shown",
            "OSS_ACCESS_KEY_SECRET": "secret-never-shown",
        },
    )
    app = app_with()

    with pytest.raises(DeployFailed) as refused:
        check_secrets(settings, app, release_environment(settings, environ={}, app=app))

    message = str(refused.value)
    assert message.startswith(
        "secret OSS_ACCESS_KEY_ID is given but OSS_CREDENTIALS=ecs-ram-role does not use it"
    )
    assert "long-lived" in message
    assert "nothing was started" in message
    assert "(given: OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET)" in message
    assert "never-shown" not in message
    assert "\n" not in message


def test_a_key_interpolated_into_compose_s_environment_is_refused_too(tmp_path: Path) -> None:
    # A key left in the deploying shell or .env would reach the roles through compose.yaml.
    settings = settings_with(tmp_path, {**APP_SECRETS, "OSS_CREDENTIALS": "ecs-ram-role"})
    app = app_with({"OSS_ACCESS_KEY_SECRET": "from-the-shell"})

    with pytest.raises(DeployFailed, match="secret OSS_ACCESS_KEY_SECRET is given but"):
        check_secrets(settings, app, release_environment(settings, environ={}, app=app))


def test_an_unknown_mode_is_refused_naming_the_listed_ones(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, {**APP_SECRETS, "OSS_CREDENTIALS": "ram-user"})

    with pytest.raises(DeployFailed) as refused:
        release_environment(settings, environ={}, app=app_with())

    assert str(refused.value) == (
        "compose.yaml: x-deploy.secrets-by.OSS_CREDENTIALS: the roles' OSS_CREDENTIALS="
        "'ram-user' is none of its values (access-key, sts-token, ecs-ram-role, oidc-role-arn):"
        " set OSS_CREDENTIALS to one of them (DEPLOY_SECRETS_FILE, the environment or .env);"
        " nothing was started"
    )


def test_the_roles_environment_does_not_name_a_key_in_the_ram_role_mode(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, {**APP_SECRETS, "OSS_CREDENTIALS": "ecs-ram-role"})
    app = app_with()
    environment = release_environment(settings, environ={}, app=app)

    request = service_request(
        settings,
        app.spec("web"),
        name="aliecs-web-v1",
        image="aliecs/web:v1",
        environment=app.role_environment(environment),
        container_labels={},
        aliases=[],
        secrets_in=None,
        restart="no",
        leave_out=unused_secrets(app, environment),
    )

    names = set(request.options["environment"])
    assert "OSS_CREDENTIALS" in names
    assert not [n for n in names if n.startswith("OSS_ACCESS_KEY_") or n == "OSS_SECURITY_TOKEN"]


def test_deploy_secret_names_still_replace_the_list(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, {"OSS_CREDENTIALS": "access-key"})
    settings = settings.model_copy(update={"secret_names": ("ONLY_THIS",)})

    assert secret_names(settings, app_with(), {"OSS_CREDENTIALS": "access-key"}) == ("ONLY_THIS",)


def test_secrets_by_without_values_is_refused_naming_the_key(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "x-deploy: {roles: {worker: {}}, secrets-by: {MODE: {}}}\n"
        "services: {worker: {image: app}}\n"
    )

    with pytest.raises(ComposeError, match=r"x-deploy\.secrets-by\.MODE: no values"):
        load_app(tmp_path / "compose.yaml", {})


def test_the_check_command_is_a_list_of_words(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "x-deploy: {roles: {worker: {}}, check: 7}\nservices: {worker: {image: app}}\n"
    )

    with pytest.raises(ComposeError, match=r"x-deploy\.check: expected a command"):
        load_app(tmp_path / "compose.yaml", {})
    assert app_with().check == ("python", "-m", "gallery.checkconfig")


def test_the_dry_run_says_which_oss_secrets_ship_and_how_to_check_the_hosts(
    tmp_path: Path,
) -> None:
    from stackctl.deploy.secretsplan import secrets_plan

    settings = settings_with(tmp_path, {**APP_SECRETS, "OSS_CREDENTIALS": "ecs-ram-role"})
    app = app_with()
    environment = release_environment(settings, environ={}, app=app)

    lines = secrets_plan(settings, app, environment, doctor_reaches=True)

    assert (
        "OSS_CREDENTIALS=ecs-ram-role (the roles' environment): ships none; never ships"
        " OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET, OSS_SECURITY_TOKEN (refused if given)"
    ) in lines
    assert any(
        line.startswith("check on the hosts: `invoke doctor --host all` runs `python -m gallery")
        for line in lines
    )


def test_the_dry_run_names_a_key_the_deploy_would_refuse(tmp_path: Path) -> None:
    from stackctl.deploy.secretsplan import secrets_plan

    settings = settings_with(
        tmp_path, {**APP_SECRETS, "OSS_CREDENTIALS": "ecs-ram-role", "OSS_ACCESS_KEY_ID": "LTAIx"}
    )
    app = app_with()
    environment = release_environment(settings, environ={}, app=app)

    lines = secrets_plan(settings, app, environment, doctor_reaches=True)

    assert lines[-1] == (
        "given but unused by this mode (a deploy refuses before it starts): OSS_ACCESS_KEY_ID"
    )
    assert "LTAIx" not in "\n".join(lines)
