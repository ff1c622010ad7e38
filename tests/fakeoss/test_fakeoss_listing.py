"""The listing page logic, without a server; and the names a server lists, kept in order
through every way a key is written or removed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import overload

import oss2

from fakeoss.listing import list_page
from fakeoss.testing import running_fakeoss

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


class CountedNames(Sequence[str]):
    """A sorted name list that counts the names read from it."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.reads = 0

    def __len__(self) -> int:
        return len(self.names)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        found = self.names[index]
        self.reads += len(found) if isinstance(index, slice) else 1
        return found


def gallery_names(images: int) -> list[str]:
    """A gallery bucket's layout: three objects under each image's folder, and its record."""
    names = []
    for number in range(images):
        image = f"{number:08d}"
        names += [f"images/{image}/{part}" for part in ("original", "thumb-m", "thumb-s")]
        names.append(f"records/{image}.json")
    return sorted(names)


def test_a_page_reads_what_it_returns_not_the_bucket() -> None:
    # 400,000 names: a page of records from the middle reads its 1,000 and a few bisections'
    # worth, where walking from the start read 200,000 names per page (quadratic in all).
    names = CountedNames(gallery_names(100_000))
    page = list_page(names, prefix="records/", marker="records/00050000.json", max_keys=1000)

    assert page.keys[0] == "records/00050001.json"
    assert len(page.keys) == 1000
    assert names.reads <= 1000 + 2 * 40


def test_keys_folded_into_a_common_prefix_are_stepped_over_not_read() -> None:
    names = CountedNames(gallery_names(100_000))
    page = list_page(names, prefix="images/", delimiter="/", max_keys=100)

    assert page.prefixes[:2] == ["images/00000000/", "images/00000001/"]
    assert len(page.prefixes) == 100
    assert page.keys == []
    assert names.reads <= 100 * (1 + 2 * 20) + 40  # one name and a bisection per folder


def test_a_name_past_the_highest_code_point_is_still_folded() -> None:
    names = sorted(["a/1", "a/\U0010ffff", "a/\U0010ffffz", "b"])

    page = list_page(names, delimiter="/")

    assert (page.prefixes, page.keys) == (["a/"], ["b"])


def listed(bucket: oss2.Bucket) -> list[str]:
    return [info.key for info in oss2.ObjectIterator(bucket, max_keys=2)]


def test_listings_follow_every_write_and_removal_and_a_restart(tmp_path: Path) -> None:
    with running_fakeoss(buckets=("kept",), data_dir=tmp_path) as fake:
        bucket = fake.bucket("kept")
        for key in ("m", "c", "x", "a"):
            bucket.put_object(key, b"put")
        bucket.put_object("c", b"put again")  # an overwrite is not a second name
        bucket.copy_object("kept", "m", "b")
        bucket.append_object("z", 0, b"appended")
        bucket.append_object("z", 8, b" and again")
        upload = bucket.init_multipart_upload("n").upload_id
        part = bucket.upload_part("n", upload, 1, b"one part")
        bucket.complete_multipart_upload("n", upload, [oss2.models.PartInfo(1, part.etag)])
        bucket.delete_object("x")
        bucket.delete_object("never")  # no such key: nothing to remove
        bucket.batch_delete_objects(["a", "b"])
        assert listed(bucket) == ["c", "m", "n", "z"]

    with running_fakeoss(buckets=(), data_dir=tmp_path) as fake:
        bucket = fake.bucket("kept")
        assert listed(bucket) == ["c", "m", "n", "z"]
        bucket.put_object("d", b"after the restart")
        assert listed(bucket) == ["c", "d", "m", "n", "z"]
