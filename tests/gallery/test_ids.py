from __future__ import annotations

from gallery.records import is_image_id, new_image_id, uploaded_at


def test_a_newer_id_sorts_before_an_older_one() -> None:
    older = new_image_id(now=1_700_000_000.000)
    newer = new_image_id(now=1_700_000_000.001)
    assert newer < older


def test_ids_are_version_8_uuids_the_app_recognises() -> None:
    image_id = new_image_id()
    assert image_id[14] == "8"
    assert is_image_id(image_id)


def test_a_path_is_not_an_image_id() -> None:
    assert not is_image_id("../../etc/passwd")


def test_an_id_tells_when_it_was_made_to_the_millisecond() -> None:
    assert uploaded_at(new_image_id(now=1_800_000_000.123)) == 1_800_000_000.123
