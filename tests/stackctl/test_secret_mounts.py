"""compose `secrets:` under `invoke up`: each file bind-mounted read-only at /run/secrets/NAME,
and the same variable left out of the container's environment. No engine."""

from __future__ import annotations

from pathlib import Path

from stackctl.compose import load_project
from stackctl.plan.converge import MountConfig, container_config


def test_a_service_secret_is_a_read_only_mount_and_not_in_the_environment(tmp_path: Path) -> None:
    (tmp_path / "key.txt").write_text("s3cr3t")
    (tmp_path / "compose.yaml").write_text(
        "secrets:\n  SECRET_KEY: {file: ./key.txt}\n"
        "services:\n  web:\n    image: app\n"
        "    environment: {SECRET_KEY: '', OTHER: x}\n"
        "    secrets: [SECRET_KEY, {source: SECRET_KEY, target: api_key, mode: 0400}]\n"
    )
    project = load_project(tmp_path / "compose.yaml", {})

    config = container_config(project, project.services["web"], "sha256:x")

    assert config.environment == {"OTHER": "x"}
    assert config.mounts == (
        MountConfig("bind", str(tmp_path / "key.txt"), "/run/secrets/SECRET_KEY", read_only=True),
        MountConfig("bind", str(tmp_path / "key.txt"), "/run/secrets/api_key", read_only=True),
    )
    assert project.services["web"].secrets[1].mode == 0o400


def test_a_service_without_secrets_keeps_its_config_hash_inputs(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web:\n    image: app\n    environment: {A: b}\n"
    )
    project = load_project(tmp_path / "compose.yaml", {})

    config = container_config(project, project.services["web"], "sha256:x")

    assert config.environment == {"A": "b"}
    assert config.mounts == ()
