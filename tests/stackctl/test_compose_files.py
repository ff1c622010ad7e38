"""The file formats under compose.yaml: durations, YAML as compose reads it, dotenv files."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackctl.compose.durations import parse_duration
from stackctl.compose.envfiles import read_dotenv, read_env_file
from stackctl.compose.yamlfile import load_yaml
from stackctl.errors import ComposeError
from stackctl.stack.workspace import load_workspace


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5s", 5),
        ("500ms", 0.5),
        ("1m30s", 90),
        ("1h", 3600),
        ("1.5m", 90),
        ("2h45m10s", 9910),
        ("250us", 0.00025),
        ("0", 0),
    ],
)
def test_duration_in_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5", "5x", "s", "-5s", "5 s", "1m 30s", "٥s"])
def test_malformed_duration_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="expected a number with a unit"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        pytest.param("no", "no", id="no-is-a-string"),
        pytest.param("on", "on", id="on-is-a-string"),
        pytest.param("8080:80", "8080:80", id="colon-numbers-are-a-string"),
        pytest.param("2024-01-01", "2024-01-01", id="dates-are-strings"),
        pytest.param("010", 8, id="leading-zero-is-octal-as-in-compose-v2"),
        pytest.param("0o17", 15, id="octal"),
        pytest.param("0x1f", 31, id="hex"),
        pytest.param("true", True, id="true"),
        pytest.param("1.5", 1.5, id="float"),
        pytest.param("~", None, id="null"),
    ],
)
def test_yaml_scalars_follow_yaml_1_2(text: str, value: object) -> None:
    assert load_yaml(f"key: {text}\n", "compose.yaml") == {"key": value}


def test_yaml_numeric_keys_become_strings() -> None:
    assert load_yaml("80: http\ntrue: yes\n", "compose.yaml") == {"80": "http", "true": "yes"}


def test_yaml_merge_keys_may_be_overridden() -> None:
    text = "base: &b {a: 1, b: 2}\nderived: {<<: *b, b: 3}\n"

    assert load_yaml(text, "compose.yaml") == {
        "base": {"a": 1, "b": 2},
        "derived": {"a": 1, "b": 3},
    }


def test_yaml_compose_only_tags_are_an_error_with_a_position() -> None:
    with pytest.raises(
        ComposeError, match=r"^compose.yaml: line 2, column 8: invalid YAML: .*!reset"
    ):
        load_yaml("a: 1\nports: !reset []\n", "compose.yaml")


def test_env_file_reads_quotes_export_and_comments(tmp_path: Path) -> None:
    env = tmp_path / "app.env"
    env.write_text("# comment\nexport A=1\nB='two words'\nC=\"x\\ny\" # note\n\nD=\nE\n")

    assert read_env_file(env, "app.env") == {
        "A": "1",
        "B": "two words",
        "C": "x\ny",
        "D": "",
        "E": None,
    }


def test_env_file_error_counts_blank_lines(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("A=1\n\n\nnot valid\n")

    with pytest.raises(ComposeError, match=r'^\.env: line 4: cannot parse "not valid"'):
        read_env_file(env, ".env")


def test_env_file_unterminated_quote_is_an_error(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text('A="open\nB=2\n')

    with pytest.raises(ComposeError, match=r'^\.env: line 1: cannot parse "A=\\"open"'):
        read_env_file(env, ".env")


def test_a_malformed_dotenv_line_stops_the_workspace_naming_it(tmp_path: Path) -> None:
    """Settings read .env too: the line compose refuses is never skipped by another reader."""
    (tmp_path / "compose.yaml").write_text("services:\n  redis:\n    image: redis:7\n")
    (tmp_path / ".env").write_text("STACK_MODE=production\nnot valid\n")

    with pytest.raises(ComposeError, match=r'^\.env: line 2: cannot parse "not valid"'):
        load_workspace(tmp_path, environ={})


def test_dotenv_bare_names_set_nothing_and_no_file_is_empty(tmp_path: Path) -> None:
    assert read_dotenv(tmp_path) == {}
    (tmp_path / ".env").write_text("A=1\nB\n")
    assert read_dotenv(tmp_path) == {"A": "1"}


def test_dotenv_interpolates_as_compose_v2(tmp_path: Path) -> None:
    # `docker compose config` 2.26 gives these values for this .env.
    (tmp_path / ".env").write_text(
        "HOST=db\n"
        "URL=postgres://${HOST}:5432/app\n"
        'Q="${HOST:-z}-$HOST"\n'
        "S='${HOST}'\n"
        "T=${U:-def}\n"
        "U=${HOST}\n"
        'IMAGE_NAME="${IMAGE_NAME:-backend}"\n'
    )

    assert read_dotenv(tmp_path, {}) == {
        "HOST": "db",
        "URL": "postgres://db:5432/app",
        "Q": "db-db",
        "S": "${HOST}",
        "T": "def",
        "U": "db",
        "IMAGE_NAME": "backend",
    }


def test_dotenv_takes_the_environment_before_its_own_earlier_lines(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("HOST=db\nURL=${HOST}:5432\n")

    assert read_dotenv(tmp_path, {"HOST": "envhost"})["URL"] == "envhost:5432"


def test_dotenv_required_variable_names_the_line(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("A=1\n\nB=${MISSING:?set it}\n")

    with pytest.raises(
        ComposeError, match=r"^\.env: line 3: B: required variable MISSING is missing a value"
    ):
        read_dotenv(tmp_path, {})


def test_settings_and_compose_read_one_interpolated_dotenv(tmp_path: Path) -> None:
    """The project name `invoke config` prints is the one the containers are labelled with."""
    (tmp_path / "compose.yaml").write_text(
        "services:\n  redis:\n    image: redis:7\n    labels: {stack: '${COMPOSE_PROJECT_NAME}'}\n"
    )
    (tmp_path / ".env").write_text("PREFIX=shop\nCOMPOSE_PROJECT_NAME=${PREFIX}-dev\n")

    found = load_workspace(tmp_path, environ={})

    assert found.settings.project_name == "shop-dev"
    assert found.project.name == "shop-dev"
    assert found.project.services["redis"].labels == {"stack": "shop-dev"}


@pytest.mark.parametrize(
    ("name_line", "environ", "expected"),
    [
        pytest.param("name: ${P:-named}\n", {}, "named", id="from-name"),
        pytest.param("name: ${P:-named}\n", {"P": "other"}, "other", id="from-interpolated-name"),
        pytest.param("", {}, "shop", id="from-folder"),
        pytest.param("name: named\n", {"COMPOSE_PROJECT_NAME": "env"}, "env", id="from-env"),
    ],
)
def test_the_file_sees_the_project_name_as_compose_v2(
    tmp_path: Path, name_line: str, environ: dict[str, str], expected: str
) -> None:
    project_dir = tmp_path / "Shop"
    project_dir.mkdir()
    (project_dir / "compose.yaml").write_text(
        name_line
        + "services:\n  web:\n    image: app\n    labels: {stack: $COMPOSE_PROJECT_NAME}\n"
    )

    found = load_workspace(project_dir, environ=environ)

    assert found.project.name == expected
    assert found.project.services["web"].labels == {"stack": expected}
