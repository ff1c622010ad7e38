"""Listing, v1 and v2: prefixes, delimiters, markers, tokens, url encoding."""

from __future__ import annotations

import oss2
import pytest

# Names that need url-encoding, in several scripts, sort differently as UTF-8 than
# as their escaped forms would.
NAMES = [
    f"{i:02d}-{word}"
    for i, word in enumerate(
        [
            "plain",
            "space name",
            "ü-umlaut",
            "日本語",
            "emoji-😀",
            "plus+sign",
            "percent%25",
            "amp&er",
            "quote'",
            "ελληνικά",
            "кириллица",
            "tab\tname",
            "hash#",
            "question?",
            "comma,",
            "semi;",
            "eq=",
            "tilde~",
            "at@",
            "dollar$",
            "bang!",
            "paren(",
            "brack[",
            "brace{",
            "caret^",
            "pipe|",
        ]
    )
]


@pytest.fixture
def many(bucket: oss2.Bucket, prefix: str) -> list[str]:
    keys = [prefix + name for name in NAMES]
    for key in keys:
        bucket.put_object(key, b"x")
    return sorted(keys)


def test_listing_v1_pages_through_unicode_keys_with_markers(
    bucket: oss2.Bucket, prefix: str, many: list[str]
) -> None:
    seen: list[str] = []
    marker = ""
    pages = 0
    while True:
        page = bucket.list_objects(prefix=prefix, marker=marker, max_keys=7)
        seen.extend(obj.key for obj in page.object_list)
        pages += 1
        if not page.is_truncated:
            break
        marker = page.next_marker

    assert len(many) >= 25
    assert (seen, pages) == (many, 4)


def test_listing_v2_pages_through_unicode_keys_with_continuation_tokens(
    bucket: oss2.Bucket, prefix: str, many: list[str]
) -> None:
    seen: list[str] = []
    token = ""
    while True:
        page = bucket.list_objects_v2(prefix=prefix, continuation_token=token, max_keys=6)
        seen.extend(obj.key for obj in page.object_list)
        if not page.is_truncated:
            break
        token = page.next_continuation_token

    assert seen == many


def test_object_iterator_yields_every_key_once(
    bucket: oss2.Bucket, prefix: str, many: list[str]
) -> None:
    keys = [obj.key for obj in oss2.ObjectIterator(bucket, prefix=prefix, max_keys=5)]

    assert keys == many


def test_delimiter_folds_keys_into_unique_common_prefixes(bucket: oss2.Bucket, prefix: str) -> None:
    for name in ["a/1", "a/2", "a/b/3", "b/1", "top"]:
        bucket.put_object(prefix + name, b"x")

    page = bucket.list_objects(prefix=prefix, delimiter="/")

    assert [o.key for o in page.object_list] == [prefix + "top"]
    assert page.prefix_list == [prefix + "a/", prefix + "b/"]


def test_common_prefixes_page_like_keys(bucket: oss2.Bucket, prefix: str) -> None:
    for name in ["a/1", "a/2", "b/1", "c/1", "d"]:
        bucket.put_object(prefix + name, b"x")

    first = bucket.list_objects(prefix=prefix, delimiter="/", max_keys=2)
    rest = bucket.list_objects(prefix=prefix, delimiter="/", max_keys=10, marker=first.next_marker)

    assert (first.prefix_list, first.is_truncated) == ([prefix + "a/", prefix + "b/"], True)
    assert (rest.prefix_list, [o.key for o in rest.object_list]) == (
        [prefix + "c/"],
        [prefix + "d"],
    )


def test_listing_entries_report_size_etag_and_type(bucket: oss2.Bucket, prefix: str) -> None:
    put = bucket.put_object(prefix + "sized", b"12345")

    (entry,) = bucket.list_objects_v2(prefix=prefix).object_list

    assert (entry.size, entry.etag, entry.type) == (5, put.etag, "Normal")


def test_empty_prefix_lists_nothing_under_an_unused_prefix(
    bucket: oss2.Bucket, prefix: str
) -> None:
    page = bucket.list_objects(prefix=prefix + "nothing/", marker="", delimiter="")

    assert (page.object_list, page.prefix_list, page.is_truncated) == ([], [], False)
