"""The local ECS metadata service: role discovery, hardened mode, rotation before expiry."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from fakeoss.metadata import (
    CREDENTIALS_PATH,
    TOKEN_HEADER,
    TOKEN_PATH,
    TOKEN_TTL_HEADER,
    MetadataService,
    RunningMetadata,
    running_metadata,
)
from fakeoss.policy import Policy
from fakeoss.sts import TokenIssuer


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def metadata(clock: Clock) -> Iterator[RunningMetadata]:
    service = MetadataService(
        TokenIssuer("account-secret"), "gallery-app", Policy.allow_all(), 60, clock=clock
    )
    with running_metadata(service) as running:
        yield running


def token(metadata: RunningMetadata, ttl: str = "60") -> requests.Response:
    return requests.put(metadata.url + TOKEN_PATH, headers={TOKEN_TTL_HEADER: ttl}, timeout=5)


def credentials(metadata: RunningMetadata) -> dict[str, str]:
    answer = requests.get(metadata.url + CREDENTIALS_PATH + "gallery-app", timeout=5)
    assert answer.status_code == 200
    found: dict[str, str] = json.loads(answer.text)
    return found


def test_the_role_name_is_discovered(metadata: RunningMetadata) -> None:
    answer = requests.get(metadata.url + CREDENTIALS_PATH, timeout=5)
    assert (answer.status_code, answer.text) == (200, "gallery-app")


def test_credentials_come_in_ecs_s_shape(metadata: RunningMetadata) -> None:
    found = credentials(metadata)
    assert found["Code"] == "Success"
    assert found["AccessKeyId"].startswith("STS.")
    assert found["Expiration"] == "2027-01-15T08:01:00Z"
    assert set(found) >= {"AccessKeySecret", "SecurityToken", "LastUpdated"}


def test_the_same_credentials_until_half_their_lifetime(
    metadata: RunningMetadata, clock: Clock
) -> None:
    first = credentials(metadata)["AccessKeyId"]
    clock.now += 29
    assert credentials(metadata)["AccessKeyId"] == first
    clock.now += 1
    assert credentials(metadata)["AccessKeyId"] != first
    assert metadata.service.rotations == 1


def test_a_session_token_is_needed_in_hardened_only_mode(metadata: RunningMetadata) -> None:
    metadata.service.hardened_only = True
    path = metadata.url + CREDENTIALS_PATH
    assert requests.get(path, timeout=5).status_code == 403
    session = token(metadata).text
    assert requests.get(path, headers={TOKEN_HEADER: session}, timeout=5).status_code == 200
    assert requests.get(path, headers={TOKEN_HEADER: "forged"}, timeout=5).status_code == 401


def test_a_session_token_expires_after_its_ttl(metadata: RunningMetadata, clock: Clock) -> None:
    session = token(metadata, "10").text
    clock.now += 11
    answer = requests.get(
        metadata.url + CREDENTIALS_PATH, headers={TOKEN_HEADER: session}, timeout=5
    )
    assert answer.status_code == 401


@pytest.mark.parametrize("ttl", ["", "0", "21601", "ten"])
def test_a_session_token_needs_a_ttl_in_range(metadata: RunningMetadata, ttl: str) -> None:
    assert token(metadata, ttl).status_code == 400


def test_an_instance_without_a_role_has_no_credentials(metadata: RunningMetadata) -> None:
    metadata.service.role = None
    assert requests.get(metadata.url + CREDENTIALS_PATH, timeout=5).status_code == 404


def test_another_role_has_no_credentials(metadata: RunningMetadata) -> None:
    answer = requests.get(metadata.url + CREDENTIALS_PATH + "admin", timeout=5)
    assert answer.status_code == 404


def test_the_command_refuses_a_bad_policy_file_in_one_line(tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text("{not json")
    result = subprocess.run(
        [sys.executable, "-m", "fakeoss.metadata", "--access-key-secret", "s",
         "--role", "r", "--policy-file", str(policy), "--port", "0"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "--policy-file" in result.stderr
