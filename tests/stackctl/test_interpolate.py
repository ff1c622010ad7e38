"""Compose variable interpolation of one string."""

from __future__ import annotations

import pytest

from stackctl.compose.interpolate import InvalidTemplate, MissingRequiredVariable, interpolate

VARIABLES = {"TAG": "1.2", "EMPTY": "", "HOST": "redis"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("plain", "plain", id="no-variables"),
        pytest.param("$TAG", "1.2", id="bare"),
        pytest.param("${TAG}", "1.2", id="braced"),
        pytest.param("app:${TAG}-slim", "app:1.2-slim", id="inside-text"),
        pytest.param("$HOST:$TAG", "redis:1.2", id="bare-ends-at-non-name-character"),
        pytest.param("${MISSING:-d}", "d", id="colon-dash-unset"),
        pytest.param("${EMPTY:-d}", "d", id="colon-dash-empty"),
        pytest.param("${TAG:-d}", "1.2", id="colon-dash-set"),
        pytest.param("${MISSING-d}", "d", id="dash-unset"),
        pytest.param("${EMPTY-d}", "", id="dash-empty-is-kept"),
        pytest.param("${TAG:?needed}", "1.2", id="colon-question-set"),
        pytest.param("${EMPTY?needed}", "", id="question-empty-is-set"),
        pytest.param("${TAG:+on}", "on", id="colon-plus-set"),
        pytest.param("${EMPTY:+on}", "", id="colon-plus-empty"),
        pytest.param("${EMPTY+on}", "on", id="plus-empty"),
        pytest.param("${MISSING:-${HOST}:6379}", "redis:6379", id="nested-default"),
        pytest.param("${MISSING:-a{b}c}", "a{bc}", id="default-ends-at-the-first-closing-brace"),
        pytest.param("$$TAG", "$TAG", id="dollar-dollar-escape"),
        pytest.param("$${TAG}", "${TAG}", id="escaped-braces"),
        pytest.param("echo $1 costs 5$", "echo $1 costs 5$", id="lone-dollar-stays"),
    ],
)
def test_interpolation(text: str, expected: str) -> None:
    assert interpolate(text, VARIABLES) == expected


def test_unset_variable_becomes_empty_and_is_reported() -> None:
    missing: list[str] = []

    assert interpolate("redis://${REDIS_HOST}/$DB", VARIABLES, missing.append) == "redis:///"
    assert missing == ["REDIS_HOST", "DB"]


def test_unused_default_does_not_report_its_variables() -> None:
    missing: list[str] = []

    interpolate("${TAG:-$OTHER}", VARIABLES, missing.append)

    assert missing == []


def test_required_variable_error_names_variable_and_message() -> None:
    with pytest.raises(MissingRequiredVariable) as raised:
        interpolate("${SECRET_KEY:?set it in .env}", VARIABLES)

    assert str(raised.value) == "required variable SECRET_KEY is missing a value: set it in .env"
    assert raised.value.variable == "SECRET_KEY"


def test_required_variable_must_not_be_empty_with_colon() -> None:
    with pytest.raises(MissingRequiredVariable, match=r"^required variable EMPTY is missing"):
        interpolate("${EMPTY:?}", VARIABLES)


@pytest.mark.parametrize(
    ("text", "template"),
    [
        pytest.param("${}", "${}", id="empty"),
        pytest.param("a ${1x} b", "${1x}", id="name-starts-with-digit"),
        pytest.param("${TAG", "${TAG", id="unclosed"),
        pytest.param("${TAG:x}", "${TAG:x}", id="unknown-operator"),
        pytest.param("${MISSING:-${TAG}", "${MISSING:-${TAG}", id="unclosed-nested"),
    ],
)
def test_malformed_template_is_an_error_naming_it(text: str, template: str) -> None:
    with pytest.raises(InvalidTemplate) as raised:
        interpolate(text, VARIABLES)

    assert raised.value.template == template
