"""`python -m gallery.checkconfig`: the app's own answer to "would it start?", names only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gallery.checkconfig import check_config, main

PRODUCTION = {
    "FLASK_CONFIG": "production",
    "SECRET_KEY": "k" * 40,
    "OSS_ACCESS_KEY_ID": "fakeoss-id",
    "OSS_ACCESS_KEY_SECRET": "secret-value",
    "GALLERY_API_TOKEN": "token-value",
    "GALLERY_ADMIN_PASSWORD_HASH": "scrypt:hash-value",
}


def test_production_with_every_secret_set_starts(tmp_path: Path) -> None:
    report = check_config(PRODUCTION, tmp_path)
    assert (report.config, report.status) == ("production", "ok")


def test_develop_with_the_default_secret_key_is_a_warning(tmp_path: Path) -> None:
    report = check_config({}, tmp_path)
    assert (report.config, report.status) == ("develop", "warn")


def test_an_invalid_url_is_named_without_its_value(tmp_path: Path) -> None:
    report = check_config({**PRODUCTION, "REDIS_URL": "http://:hunter2@redis"}, tmp_path)
    assert report.status == "fail"
    assert report.detail.startswith("setting REDIS_URL is invalid: ")
    assert "hunter2" not in report.detail


def test_the_command_prints_one_json_line_and_exits_1_when_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in {**PRODUCTION, "SECRET_KEY": ""}.items():
        monkeypatch.setenv(name, value)
    assert main(["--instance-path", str(tmp_path)]) == 1
    printed = json.loads(capsys.readouterr().out)
    assert printed["status"] == "fail"
    assert printed["detail"].startswith("SECRET_KEY is not set")
    assert "secret-value" not in printed["detail"]


def test_the_command_loads_no_web_or_queue_libraries(tmp_path: Path) -> None:
    """`invoke doctor` runs it on every call: the app's libraries are no part of the answer."""
    probe = (
        "import sys; from gallery.checkconfig import main; "
        f"main(['--instance-path', {str(tmp_path)!r}]); "
        "print(sorted(m for m in ('flask', 'celery', 'oss2', 'redis', 'PIL') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env={}
    )
    answer, loaded = result.stdout.splitlines()
    assert json.loads(answer)["config"] == "develop"
    assert loaded == "[]"


def test_a_ram_role_mode_without_a_metadata_service_fails_naming_the_setting(
    tmp_path: Path,
) -> None:
    from support.loopback import closed_port_url

    environ = {
        **PRODUCTION,
        "OSS_CREDENTIALS": "ecs-ram-role",
        "OSS_ECS_METADATA_URL": closed_port_url("http"),
        "OSS_TIMEOUT": "0.5",
    }
    report = check_config(environ, tmp_path)
    assert report.status == "fail"
    assert report.detail.startswith("OSS_ECS_METADATA_URL=http://127.0.0.1:")
    assert report.detail.endswith("(the app refuses to start)")


def test_the_answer_says_where_credentials_come_from_without_secrets(tmp_path: Path) -> None:
    report = check_config(PRODUCTION, tmp_path)
    assert report.credentials.startswith("an AccessKey pair")
    assert "secret-value" not in report.credentials


def test_a_ram_role_mode_names_its_metadata_service_and_the_credentials_expiry(
    tmp_path: Path,
) -> None:
    from fakeoss.metadata import MetadataService, running_metadata
    from fakeoss.policy import Policy
    from fakeoss.sts import TokenIssuer

    service = MetadataService(TokenIssuer("s"), "gallery-app", Policy.allow_all(), 60)
    with running_metadata(service) as metadata:
        environ = {
            **{k: v for k, v in PRODUCTION.items() if not k.startswith("OSS_ACCESS")},
            "OSS_CREDENTIALS": "ecs-ram-role",
            "OSS_ECS_METADATA_URL": metadata.url,
        }
        report = check_config(environ, tmp_path)
    assert report.status == "ok"
    assert report.credentials.startswith(
        f"the ECS instance's RAM role (discovered) from the metadata service at {metadata.url}"
    )
    assert "; current ones expire at " in report.credentials
