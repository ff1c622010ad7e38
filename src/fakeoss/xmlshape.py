"""OSS's XML documents, without the S3 namespace that oss2's parsers do not expect."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from urllib.parse import quote
from xml.sax.saxutils import escape

from .listing import ListPage, UploadPage
from .records import ObjectRecord, PartRecord, UploadRecord

OWNER_ID = "1234567890123456"
OWNER_NAME = "fakeoss"
_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'


def iso8601(moment: datetime) -> str:
    # OSS writes whole seconds with ".000", and oss2's parser accepts nothing else.
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _el(tag: str, text: str | int) -> str:
    return f"<{tag}>{escape(str(text))}</{tag}>"


def _doc(root: str, body: Iterable[str]) -> bytes:
    return (_HEAD + f"<{root}>" + "".join(body) + f"</{root}>").encode()


def _owner() -> str:
    return "<Owner>" + _el("ID", OWNER_ID) + _el("DisplayName", OWNER_NAME) + "</Owner>"


def _encoder(url_encoded: bool):  # type: ignore[no-untyped-def]
    if url_encoded:
        return lambda s: quote(s, safe="")
    return lambda s: s


def _contents(record: ObjectRecord, name: str, with_owner: bool) -> str:
    return (
        "<Contents>"
        + _el("Key", name)
        + _el("LastModified", iso8601(record.last_modified))
        + _el("ETag", record.etag)
        + _el("Type", record.object_type)
        + _el("Size", record.size)
        + _el("StorageClass", record.storage_class)
        + (_el("RestoreInfo", record.restore_info()) if record.restore_info() else "")
        + (_owner() if with_owner else "")
        + "</Contents>"
    )


def list_objects(
    bucket: str,
    page: ListPage,
    records: dict[str, ObjectRecord],
    *,
    prefix: str,
    delimiter: str,
    marker: str,
    max_keys: int,
    url_encoded: bool,
) -> bytes:
    enc = _encoder(url_encoded)
    body = [
        _el("Name", bucket),
        _el("Prefix", enc(prefix)),
        _el("Marker", enc(marker)),
        _el("MaxKeys", max_keys),
        _el("Delimiter", enc(delimiter)),
    ]
    if url_encoded:
        body.append(_el("EncodingType", "url"))
    body.append(_el("IsTruncated", "true" if page.is_truncated else "false"))
    if page.is_truncated:
        body.append(_el("NextMarker", enc(page.next_marker)))
    body.extend(_contents(records[k], enc(k), True) for k in page.keys)
    body.extend(f"<CommonPrefixes>{_el('Prefix', enc(p))}</CommonPrefixes>" for p in page.prefixes)
    return _doc("ListBucketResult", body)


def list_objects_v2(
    bucket: str,
    page: ListPage,
    records: dict[str, ObjectRecord],
    *,
    prefix: str,
    delimiter: str,
    start_after: str,
    continuation_token: str,
    next_token: str,
    max_keys: int,
    url_encoded: bool,
    fetch_owner: bool,
) -> bytes:
    enc = _encoder(url_encoded)
    body = [
        _el("Name", bucket),
        _el("Prefix", enc(prefix)),
        _el("MaxKeys", max_keys),
        _el("Delimiter", enc(delimiter)),
    ]
    if start_after:
        body.append(_el("StartAfter", enc(start_after)))
    if continuation_token:
        body.append(_el("ContinuationToken", continuation_token))
    if url_encoded:
        body.append(_el("EncodingType", "url"))
    body.append(_el("IsTruncated", "true" if page.is_truncated else "false"))
    if page.is_truncated:
        body.append(_el("NextContinuationToken", next_token))
    body.append(_el("KeyCount", len(page.keys) + len(page.prefixes)))
    body.extend(_contents(records[k], enc(k), fetch_owner) for k in page.keys)
    body.extend(f"<CommonPrefixes>{_el('Prefix', enc(p))}</CommonPrefixes>" for p in page.prefixes)
    return _doc("ListBucketResult", body)


def bucket_info(name: str, created: datetime, acl: str, location: str, endpoint: str) -> bytes:
    inner = (
        _el("AccessMonitor", "Disabled")
        + _el("CreationDate", iso8601(created))
        + _el("ExtranetEndpoint", endpoint)
        + _el("IntranetEndpoint", endpoint)
        + _el("Location", location)
        + _el("StorageClass", "Standard")
        + _el("TransferAcceleration", "Disabled")
        + _el("CrossRegionReplication", "Disabled")
        + _el("DataRedundancyType", "LRS")
        + _el("Name", name)
        + _el("ResourceGroupId", "rg-fakeoss")
        + _owner()
        + f"<AccessControlList>{_el('Grant', acl)}</AccessControlList>"
        + _el("Comment", "")
        + _el("Versioning", "")
    )
    return _doc("BucketInfo", [f"<Bucket>{inner}</Bucket>"])


def list_buckets(buckets: Iterable[tuple[str, datetime]], location: str, endpoint: str) -> bytes:
    items = "".join(
        "<Bucket>"
        + _el("CreationDate", iso8601(created))
        + _el("ExtranetEndpoint", endpoint)
        + _el("IntranetEndpoint", endpoint)
        + _el("Location", location)
        + _el("Name", name)
        + _el("Region", location.removeprefix("oss-"))
        + _el("StorageClass", "Standard")
        + "</Bucket>"
        for name, created in buckets
    )
    return _doc("ListAllMyBucketsResult", [_owner(), f"<Buckets>{items}</Buckets>"])


def list_live_channels(prefix: str, marker: str, max_keys: int) -> bytes:
    """An empty ListLiveChannel answer: PutLiveChannel is refused, so no channel can exist."""
    return _doc(
        "ListLiveChannelResult",
        [
            _el("Prefix", prefix),
            _el("Marker", marker),
            _el("MaxKeys", max_keys),
            _el("IsTruncated", "false"),
            _el("NextMarker", ""),
        ],
    )


def access_control_policy(acl: str) -> bytes:
    return _doc(
        "AccessControlPolicy",
        [_owner(), f"<AccessControlList>{_el('Grant', acl)}</AccessControlList>"],
    )


def location_constraint(location: str) -> bytes:
    return (_HEAD + _el("LocationConstraint", location)).encode()


def initiate_multipart(bucket: str, key: str, upload_id: str) -> bytes:
    return _doc(
        "InitiateMultipartUploadResult",
        [_el("Bucket", bucket), _el("Key", key), _el("UploadId", upload_id)],
    )


def complete_multipart(bucket: str, key: str, etag: str, location: str) -> bytes:
    return _doc(
        "CompleteMultipartUploadResult",
        [_el("Location", location), _el("Bucket", bucket), _el("Key", key), _el("ETag", etag)],
    )


def copy_result(etag: str, last_modified: datetime) -> bytes:
    return _doc(
        "CopyObjectResult", [_el("ETag", etag), _el("LastModified", iso8601(last_modified))]
    )


def list_parts(
    bucket: str,
    upload: UploadRecord,
    parts: list[PartRecord],
    *,
    marker: int,
    max_parts: int,
    is_truncated: bool,
) -> bytes:
    next_marker = parts[-1].number if parts else marker
    body = [
        _el("Bucket", bucket),
        _el("Key", upload.key),
        _el("UploadId", upload.upload_id),
        _el("PartNumberMarker", marker),
        _el("NextPartNumberMarker", next_marker),
        _el("MaxParts", max_parts),
        _el("IsTruncated", "true" if is_truncated else "false"),
    ]
    body.extend(
        "<Part>"
        + _el("PartNumber", p.number)
        + _el("LastModified", iso8601(p.last_modified))
        + _el("ETag", p.etag)
        + _el("HashCrc64ecma", p.crc64)
        + _el("Size", p.size)
        + "</Part>"
        for p in parts
    )
    return _doc("ListPartsResult", body)


def list_uploads(
    bucket: str,
    page: UploadPage,
    *,
    prefix: str,
    delimiter: str,
    key_marker: str,
    upload_id_marker: str,
    max_uploads: int,
    url_encoded: bool,
) -> bytes:
    enc = _encoder(url_encoded)
    body = [
        _el("Bucket", bucket),
        _el("KeyMarker", enc(key_marker)),
        _el("UploadIdMarker", upload_id_marker),
        _el("NextKeyMarker", enc(page.next_key_marker)),
        _el("NextUploadIdMarker", page.next_upload_id_marker),
        _el("Delimiter", enc(delimiter)),
        _el("Prefix", enc(prefix)),
        _el("MaxUploads", max_uploads),
        _el("IsTruncated", "true" if page.is_truncated else "false"),
    ]
    if url_encoded:
        body.append(_el("EncodingType", "url"))
    body.extend(
        "<Upload>"
        + _el("Key", enc(u.key))
        + _el("UploadId", u.upload_id)
        + _el("StorageClass", u.storage_class)
        + _el("Initiated", iso8601(u.initiated))
        + "</Upload>"
        for u in page.uploads
    )
    body.extend(f"<CommonPrefixes>{_el('Prefix', enc(p))}</CommonPrefixes>" for p in page.prefixes)
    return _doc("ListMultipartUploadsResult", body)


def copy_part_result(etag: str, last_modified: datetime) -> bytes:
    return _doc("CopyPartResult", [_el("LastModified", iso8601(last_modified)), _el("ETag", etag)])


def delete_result(deleted: list[str], *, url_encoded: bool) -> bytes:
    enc = _encoder(url_encoded)
    body = [_el("EncodingType", "url")] if url_encoded else []
    body.extend(f"<Deleted>{_el('Key', enc(k))}</Deleted>" for k in deleted)
    return _doc("DeleteResult", body)
