"""OSS listing semantics over a bucket's sorted key names.

moto's own listing neither pages common prefixes nor treats markers the way OSS
does, so pages are computed here: entries (keys and common prefixes together) in
UTF-8 byte order, which for str is code point order, after ``marker``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field

from .records import UploadRecord


@dataclass
class ListPage:
    keys: list[str] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    is_truncated: bool = False
    # The last key or common prefix returned, where the next page starts.
    next_marker: str = ""


def list_page(
    sorted_names: Sequence[str],
    *,
    prefix: str = "",
    delimiter: str = "",
    marker: str = "",
    max_keys: int = 100,
) -> ListPage:
    page = ListPage()
    start = bisect_right(sorted_names, marker) if marker else 0
    count = 0
    last_prefix = ""
    for name in sorted_names[start:]:
        if not name.startswith(prefix):
            if name > prefix:
                break
            continue
        entry_is_prefix = False
        if delimiter:
            cut = name.find(delimiter, len(prefix))
            if cut >= 0:
                common = name[: cut + len(delimiter)]
                # Keys under a prefix already returned (on this page or, via the
                # marker, on an earlier one) are folded into it.
                if common == last_prefix or (marker and common <= marker):
                    continue
                entry_is_prefix = True
        if count == max_keys:
            page.is_truncated = True
            break
        if entry_is_prefix:
            page.prefixes.append(common)
            last_prefix = common
            page.next_marker = common
        else:
            page.keys.append(name)
            page.next_marker = name
        count += 1
    if not page.is_truncated:
        page.next_marker = ""
    return page


@dataclass
class UploadPage:
    uploads: list[UploadRecord] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    is_truncated: bool = False
    next_key_marker: str = ""
    next_upload_id_marker: str = ""


def upload_page(
    uploads: Sequence[UploadRecord],
    *,
    prefix: str = "",
    delimiter: str = "",
    key_marker: str = "",
    upload_id_marker: str = "",
    max_uploads: int = 1000,
) -> UploadPage:
    """One page of ListMultipartUploads over uploads sorted by key, then initiation.

    After ``key-marker`` alone: uploads of later keys. With ``upload-id-marker`` too: the
    key-marker's own uploads after that one (in listing order), then later keys.
    """
    page = UploadPage()
    seen_marker_upload = not upload_id_marker
    count = 0
    for upload in uploads:
        if key_marker:
            if upload.key < key_marker:
                continue
            if upload.key == key_marker:
                if not upload_id_marker:
                    continue
                if not seen_marker_upload:
                    seen_marker_upload = upload.upload_id == upload_id_marker
                    continue
        common = ""
        if delimiter:
            cut = upload.key.find(delimiter, len(prefix))
            if cut >= 0:
                common = upload.key[: cut + len(delimiter)]
                if common in page.prefixes or (key_marker and common <= key_marker):
                    continue
        if count == max_uploads:
            page.is_truncated = True
            break
        if common:
            page.prefixes.append(common)
            page.next_key_marker, page.next_upload_id_marker = common, ""
        else:
            page.uploads.append(upload)
            page.next_key_marker, page.next_upload_id_marker = upload.key, upload.upload_id
        count += 1
    return page
