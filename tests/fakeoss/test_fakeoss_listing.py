"""The listing page logic, without a server."""

from __future__ import annotations

from fakeoss.listing import list_page

NAMES = sorted(["a/1", "a/2", "a/b/3", "b/1", "c", "d"])


def test_page_stops_at_max_keys_and_names_the_next_marker() -> None:
    page = list_page(NAMES, max_keys=2)

    assert (page.keys, page.is_truncated, page.next_marker) == (["a/1", "a/2"], True, "a/2")


def test_marker_starts_after_the_named_key() -> None:
    page = list_page(NAMES, marker="b/1")

    assert (page.keys, page.is_truncated, page.next_marker) == (["c", "d"], False, "")


def test_marker_equal_to_a_common_prefix_skips_that_prefix() -> None:
    page = list_page(NAMES, delimiter="/", marker="a/")

    assert (page.prefixes, page.keys) == (["b/"], ["c", "d"])


def test_prefix_limits_names_and_delimiter_folds_below_it() -> None:
    page = list_page(NAMES, prefix="a/", delimiter="/")

    assert (page.keys, page.prefixes) == (["a/1", "a/2"], ["a/b/"])


def test_page_that_fits_exactly_is_not_truncated() -> None:
    page = list_page(NAMES, max_keys=len(NAMES))

    assert (len(page.keys), page.is_truncated) == (len(NAMES), False)
