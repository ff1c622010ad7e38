"""The WSGI application: OSS's REST API, routed to the store.

Every request is authenticated first (V1 or V4, header or signed URL), then
checked against OSS's limits, then served with OSS-shaped headers and XML.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import logging
import re
import socket
import time
import uuid
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from werkzeug.exceptions import ClientDisconnected
from werkzeug.wrappers import Request, Response

from . import (
    absent,
    callback,
    conditions,
    imaging,
    limits,
    listing,
    policy,
    restore,
    saveas,
    subresources,
    tagging,
    transfer,
    xmlshape,
)
from .auth import Authenticator, SignedRequest
from .checksums import content_md5, crc64, md5_etag
from .disk import DataFolder
from .errors import OssError, access_denied, invalid_argument
from .records import STORED_HEADERS, ObjectRecord
from .store import Store

log = logging.getLogger(__name__)

REGION = "cn-hangzhou"
# A body that stops arriving for this long is answered 400 RequestTimeout (OSS waits too).
BODY_TIMEOUT_SECONDS = 5.0
# How long a RestoreObject of an Archive object takes (minutes on OSS; short here).
RESTORE_SECONDS = 1.0
STORAGE_CLASSES = ("Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive")
RESTORE_NEEDED = frozenset({"Archive", "ColdArchive", "DeepColdArchive"})
RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}
_ANONYMOUS_READ_PARAMS = frozenset(RESPONSE_OVERRIDES) | {"x-oss-process"}
BUCKET_ACLS = frozenset({"private", "public-read", "public-read-write"})
OBJECT_ACLS = BUCKET_ACLS | {"default"}
_BODILESS = frozenset({"GET", "HEAD"})
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def make_app(
    access_key_id: str,
    access_key_secret: str,
    *,
    buckets: Iterable[str] = (),
    create_buckets_on_demand: bool = False,
    region: str = REGION,
    body_timeout: float = BODY_TIMEOUT_SECONDS,
    restore_seconds: float = RESTORE_SECONDS,
    data_dir: Path | None = None,
) -> FakeOss:
    """A WSGI app that answers like OSS for one key pair, storing in moto's S3 backend.

    As on OSS, only the buckets listed here or made by PutBucket exist, unless
    ``create_buckets_on_demand`` (a convenience OSS does not have) is set. With ``data_dir``,
    the buckets are kept in that folder (and loaded from it), else in memory only.
    """
    store = Store(
        create_buckets_on_demand=create_buckets_on_demand,
        restore_seconds=restore_seconds,
        data=DataFolder(data_dir) if data_dir is not None else None,
    )
    for name in buckets:
        limits.check_bucket_name(name)
        store.create_bucket(name)
    authenticator = Authenticator(access_key_id, access_key_secret, region)
    return FakeOss(authenticator, store, region=region, body_timeout=body_timeout)


class FakeOss:
    def __init__(
        self,
        authenticator: Authenticator,
        store: Store,
        *,
        region: str = REGION,
        body_timeout: float = BODY_TIMEOUT_SECONDS,
    ) -> None:
        self._auth = authenticator
        self.store = store
        self.location = "oss-" + region
        self.body_timeout = body_timeout

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        request_id = uuid.uuid4().hex[:24].upper()
        try:
            response = self._serve(request)
        except OssError as error:
            response = _error_response(error, request, request_id)
        except Exception:
            log.exception("fakeoss: unexpected error on %s %s", request.method, request.path)
            internal = OssError(500, "InternalError", "We encountered an internal error.")
            response = _error_response(internal, request, request_id)
        if request.method in _BODILESS and request.content_length:
            # The body it declared was not read: the connection cannot carry another request.
            response.headers["Connection"] = "close"
        response.headers["x-oss-request-id"] = request_id
        response.headers["Server"] = "AliyunOSS"
        return response(environ, start_response)

    # --- routing ------------------------------------------------------------

    def _serve(self, request: Request) -> Response:
        started = time.monotonic()
        bucket, key = _bucket_and_key(request)
        params = request.args.to_dict()
        headers = {k.lower(): v for k, v in request.headers.items()}
        body = _read_body(request, headers, self.body_timeout)
        signed = SignedRequest(request.method, bucket, key, params, headers)
        principal = self._auth.authenticate(signed)
        call = _Call(request, bucket, key, params, headers, body)
        if principal is None:
            self._check_anonymous(call)
        else:  # RAM: the credential's policy (the account's own key may do everything)
            policy.check_request(
                principal.policy, request.method, bucket, key, params, headers, body
            )
        # A V1 or V2 signed URL of a temporary credential carries its token as ?security-token.
        url_auth = "Signature" in params or params.get("x-oss-signature-version") == "OSS2"
        served = {k: v for k, v in params.items() if not (url_auth and k == "security-token")}
        subresources.check_supported(request.method, bool(key), served, headers)
        limit = transfer.traffic_limit(headers, params)
        if limit is not None and request.method in ("PUT", "POST"):
            response = self._route(call)
            transfer.wait_out_upload(started, len(body), limit)
            return response
        return self._route(call)

    def _route(self, call: _Call) -> Response:
        request, bucket, key = call.request, call.bucket, call.key
        if not bucket:
            if request.method == "GET":
                return _xml(
                    xmlshape.list_buckets(self.store.buckets(), self.location, request.host)
                )
            raise _method_not_allowed()
        if not key:
            return self._bucket_op(call)
        limits.check_key(key)
        return self._object_op(call)

    def _check_anonymous(self, call: _Call) -> None:
        denied = access_denied("You have no right to access this object because of bucket acl.")
        if not call.bucket or not call.key:
            raise denied
        acl = self.store.bucket_acl(call.bucket)
        if call.key and self.store.exists(call.bucket, call.key):
            object_acl = self.store.record(call.bucket, call.key).acl
            acl = acl if object_acl == "default" else object_acl
        # Reading may ask for processing or header overrides, nothing else.
        reading = call.method in ("GET", "HEAD") and set(call.params) <= _ANONYMOUS_READ_PARAMS
        if acl == "public-read-write" or (acl == "public-read" and reading):
            return
        raise denied

    def _bucket_op(self, call: _Call) -> Response:
        store, name, params, method = self.store, call.bucket, call.params, call.method
        if method == "PUT":
            acl = call.headers.get("x-oss-acl", "private")
            if acl not in BUCKET_ACLS:
                raise invalid_argument("no such bucket access control exists", "x-oss-acl", acl)
            if "acl" in params:
                store.set_bucket_acl(name, acl)
            else:
                limits.check_bucket_name(name)
                store.create_bucket(name, acl)
            return Response(status=200)
        if method == "DELETE":
            deleted = [p for p in params if p in absent.DELETABLE]
            if deleted:  # a configuration that cannot exist: nothing to delete
                store.require_bucket(name)
                return Response(status=204)
            store.delete_bucket(name)
            return Response(status=204)
        if method == "HEAD":
            store.require_bucket(name)
            return Response(status=200)
        if method == "POST" and "delete" in params:
            return self._batch_delete(call)
        if method != "GET":
            raise _method_not_allowed()
        if "acl" in params:
            return _xml(xmlshape.access_control_policy(store.bucket_acl(name)))
        if "bucketInfo" in params:
            info = xmlshape.bucket_info(
                name, store.bucket_created(name), store.bucket_acl(name), self.location, call.host
            )
            return _xml(info)
        if "location" in params:
            store.require_bucket(name)
            return _xml(xmlshape.location_constraint(self.location))
        if "uploads" in params:
            return self._list_uploads(call)
        for configuration in (*absent.MISSING, *absent.DEFAULTS):
            if configuration in params:
                store.require_bucket(name)
                return _xml(absent.read(configuration, name))
        if "live" in params:
            store.require_bucket(name)
            max_keys = limits.parse_max(params.get("max-keys"), 100, "max-keys")
            body = xmlshape.list_live_channels(
                params.get("prefix", ""), params.get("marker", ""), max_keys
            )
            return _xml(body)
        return self._list_objects(call)

    def _list_objects(self, call: _Call) -> Response:
        params = call.params
        prefix = params.get("prefix", "")
        delimiter = params.get("delimiter", "")
        max_keys = limits.parse_max(params.get("max-keys"), 100, "max-keys")
        if params.get("list-type") == "2":
            token = params.get("continuation-token", "")
            start_after = params.get("start-after", "")
            marker = _decode_token(token) if token else start_after
            page, records = self.store.list_page(
                call.bucket, prefix=prefix, delimiter=delimiter, marker=marker, max_keys=max_keys
            )
            next_token = _encode_token(page.next_marker) if page.is_truncated else ""
            return _xml(
                xmlshape.list_objects_v2(
                    call.bucket,
                    page,
                    records,
                    prefix=prefix,
                    delimiter=delimiter,
                    start_after=start_after,
                    continuation_token=token,
                    next_token=next_token,
                    max_keys=max_keys,
                    url_encoded=call.url_encoded,
                    fetch_owner=params.get("fetch-owner") == "true",
                )
            )
        marker = params.get("marker", "")
        page, records = self.store.list_page(
            call.bucket, prefix=prefix, delimiter=delimiter, marker=marker, max_keys=max_keys
        )
        return _xml(
            xmlshape.list_objects(
                call.bucket,
                page,
                records,
                prefix=prefix,
                delimiter=delimiter,
                marker=marker,
                max_keys=max_keys,
                url_encoded=call.url_encoded,
            )
        )

    def _list_uploads(self, call: _Call) -> Response:
        params = call.params
        prefix, delimiter = params.get("prefix", ""), params.get("delimiter", "")
        key_marker = params.get("key-marker", "")
        upload_id_marker = params.get("upload-id-marker", "")
        max_uploads = limits.parse_max(params.get("max-uploads"), 1000, "max-uploads")
        page = listing.upload_page(
            self.store.uploads(call.bucket, prefix),
            prefix=prefix,
            delimiter=delimiter,
            key_marker=key_marker,
            upload_id_marker=upload_id_marker,
            max_uploads=max_uploads,
        )
        return _xml(
            xmlshape.list_uploads(
                call.bucket,
                page,
                prefix=prefix,
                delimiter=delimiter,
                key_marker=key_marker,
                upload_id_marker=upload_id_marker,
                max_uploads=max_uploads,
                url_encoded=call.url_encoded,
            )
        )

    def _batch_delete(self, call: _Call) -> Response:
        root = _parse_xml(call.body, "Delete", tolerate_control_characters=True)
        quiet = (root.findtext("Quiet") or "false").strip().lower() == "true"
        keys = [_restore_controls(node.findtext("Key") or "") for node in root.findall("Object")]
        if not keys or len(keys) > 1000:
            raise OssError(400, "MalformedXML", "The XML you provided was not well-formed.")
        self.store.require_bucket(call.bucket)
        for key in keys:
            limits.check_key(key)
        for key in keys:
            self.store.delete(call.bucket, key)
        return _xml(xmlshape.delete_result([] if quiet else keys, url_encoded=call.url_encoded))

    def _object_op(self, call: _Call) -> Response:
        method, params = call.method, call.params
        if "live" in params and method in ("GET", "DELETE"):
            self.store.require_bucket(call.bucket)
            raise absent.live_channel_missing(call.key)
        if "tagging" in params:
            return self._tagging(call)
        if "symlink" in params:
            return self._symlink(call)
        if method == "HEAD" and "objectMeta" in params:
            return self._object_meta(call)
        if method in ("GET", "HEAD") and "uploadId" not in params and "acl" not in params:
            return self._get_object(call)
        if method == "PUT":
            if "acl" in params:
                acl = call.headers.get("x-oss-object-acl", "")
                if acl not in OBJECT_ACLS:
                    raise invalid_argument(
                        "no such object access control exists", "x-oss-object-acl", acl
                    )
                self.store.update_record(call.bucket, call.key, acl=acl)
                return Response(status=200)
            if "uploadId" in params:
                if "x-oss-copy-source" in call.headers:
                    return self._upload_part_copy(call)
                return self._upload_part(call)
            if "x-oss-copy-source" in call.headers:
                return self._copy_object(call)
            return self._put_object(call)
        if method == "GET" and "acl" in params:
            acl = self.store.record(call.bucket, call.key).acl
            return _xml(xmlshape.access_control_policy(acl))
        if method == "GET":
            return self._list_parts(call)
        if method == "POST":
            if "uploads" in params:
                template = _record_from_request(call, b"", 0)
                upload = self.store.init_upload(call.bucket, template)
                return _xml(xmlshape.initiate_multipart(call.bucket, call.key, upload.upload_id))
            if "uploadId" in params:
                return self._complete_upload(call)
            if "append" in params:
                return self._append_object(call)
            if "restore" in params:
                return self._restore(call)
            if "x-oss-process" in params:
                return self._process_and_save(call)
            raise _method_not_allowed()
        if method == "DELETE":
            if "uploadId" in params:
                self.store.abort_upload(call.bucket, call.key, params["uploadId"])
            else:
                self.store.delete(call.bucket, call.key)
            return Response(status=204)
        raise _method_not_allowed()

    def _readable(self, call: _Call) -> tuple[ObjectRecord, bytes]:
        """The object a GET serves: through a symlink, and only once an Archive is restored."""
        record, value = self.store.read(call.bucket, call.key)
        if record.object_type == "Symlink":
            try:
                record, value = self.store.read(call.bucket, record.symlink_target)
            except OssError as error:
                if error.code != "NoSuchKey":
                    raise
                raise OssError(
                    404,
                    "SymlinkTargetNotExist",
                    "The symbolic's target file does not exist",
                    Key=call.key,
                ) from None
        if record.storage_class in RESTORE_NEEDED and not _restored(record):
            raise OssError(
                403,
                "InvalidObjectState",
                "The operation is not valid for the object's state",
                Key=call.key,
            )
        return record, value

    def _get_object(self, call: _Call) -> Response:
        if call.method == "HEAD":
            record = self.store.record(call.bucket, call.key)
            link = record
            if record.object_type == "Symlink":
                record, _ = self._readable(call)
            try:
                conditions.check(call.headers, record)
            except conditions.NotModified:
                return Response(status=304, headers={"ETag": record.etag})
            headers = _with_link_metadata(_object_headers(record), link)
            headers["x-oss-object-type"] = link.object_type
            headers["Content-Length"] = str(record.size)
            _override_headers(headers, call.params)
            return Response(status=200, headers=headers)
        record, value = self._readable(call)
        try:
            conditions.check(call.headers, record)
        except conditions.NotModified:
            return Response(status=304, headers={"ETag": record.etag})
        process = call.params.get("x-oss-process", "")
        if process:
            processed = imaging.process(process, value)
            headers = {"Content-Type": processed.content_type}
            _override_headers(headers, call.params)
            return Response(processed.body, status=200, headers=headers)
        headers = _object_headers(record)
        if record.key != call.key:  # read through a symlink
            headers = _with_link_metadata(headers, self.store.record(call.bucket, call.key))
        _override_headers(headers, call.params)
        standard = call.headers.get("x-oss-range-behavior", "").lower() == "standard"
        byte_range = _parse_range(call.headers.get("range", ""), len(value), standard)
        status = 200
        if byte_range is not None:
            start, end = byte_range
            headers["Content-Range"] = f"bytes {start}-{end}/{len(value)}"
            # A ranged read's CRC64 would be the whole object's: OSS leaves it out.
            headers.pop("x-oss-hash-crc64ecma", None)
            value, status = value[start : end + 1], 206
        limit = transfer.traffic_limit(call.headers, call.params)
        chunks: Iterable[bytes] = [value]
        if limit is not None:
            chunks = transfer.paced(value, limit)
        accept = call.headers.get("accept-encoding", "")
        if status == 200 and transfer.compresses(record.content_type, len(value), accept):
            # Compressed on the way, so sent chunked, without a length (as OSS does).
            body = transfer.gzipped(chunks if limit is not None else transfer.pieces(value))
            headers["Content-Encoding"] = "gzip"
            return Response(body, status=status, headers=headers)
        headers["Content-Length"] = str(len(value))
        return Response(chunks, status=status, headers=headers)

    def _object_meta(self, call: _Call) -> Response:
        record = self.store.record(call.bucket, call.key)
        headers = {
            "ETag": record.etag,
            "Content-Length": str(record.size),
            "Last-Modified": format_datetime(record.last_modified, usegmt=True),
            "x-oss-hash-crc64ecma": str(record.crc64),
        }
        return Response(status=200, headers=headers)

    def _tagging(self, call: _Call) -> Response:
        if call.method == "GET":
            return _xml(tagging.to_xml(self.store.record(call.bucket, call.key).tags))
        if call.method == "PUT":
            tags = tagging.from_xml(call.body)
            self.store.update_record(call.bucket, call.key, tags=tags)
            return Response(status=200)
        if call.method == "DELETE":
            self.store.update_record(call.bucket, call.key, tags={})
            return Response(status=204)
        raise _method_not_allowed()

    def _symlink(self, call: _Call) -> Response:
        if call.method == "GET":
            record = self.store.record(call.bucket, call.key)
            if record.object_type != "Symlink":
                raise OssError(
                    400, "NotSymlink", "The specified object is not a symlink.", Key=call.key
                )
            headers = {
                "x-oss-symlink-target": quote(record.symlink_target, safe=""),
                "ETag": record.etag,
                "Last-Modified": format_datetime(record.last_modified, usegmt=True),
            }
            headers.update({limits.USER_META_PREFIX + k: v for k, v in record.user_meta.items()})
            return Response(status=200, headers=headers)
        if call.method != "PUT":
            raise _method_not_allowed()
        target = unquote(call.headers.get("x-oss-symlink-target", ""))
        if not target:
            raise invalid_argument(
                "x-oss-symlink-target is missing", "x-oss-symlink-target", target
            )
        limits.check_key(target)
        record = replace(
            _record_from_request(call, b"", crc64(b"")),
            object_type="Symlink",
            symlink_target=target,
        )
        self.store.put(call.bucket, record, b"", call.forbid_overwrite)
        return Response(status=200, headers={"ETag": record.etag})

    def _process_and_save(self, call: _Call) -> Response:
        asked = saveas.parse(call.body)
        target_bucket = asked.bucket or call.bucket
        limits.check_key(asked.key)
        self.store.require_bucket(target_bucket)
        _, value = self._readable(call)
        processed = imaging.process(asked.process, value)
        record = _new_record(asked.key, processed.body, processed.content_type)
        self.store.put(target_bucket, record, processed.body, call.forbid_overwrite)
        body = saveas.answer(asked, record.size)
        return Response(body, status=200, content_type="application/json")

    def _restore(self, call: _Call) -> Response:
        record = self.store.record(call.bucket, call.key)
        if record.storage_class not in RESTORE_NEEDED:
            raise OssError(
                400,
                "OperationNotSupported",
                "The operation is not supported for this resource",
                Key=call.key,
            )
        asked = restore.parse(call.body, record.storage_class)
        headers = {"x-oss-object-restore-priority": asked.tier} if asked.tier else {}
        if record.restore_ready_at is None:
            ready = time.time() + self.store.restore_seconds
            self.store.update_record(
                call.bucket, call.key, restore_ready_at=ready, restore_days=asked.days
            )
            return Response(status=202, headers=headers)
        if not _restored(record):
            raise OssError(
                409,
                "RestoreAlreadyInProgress",
                "The restore operation is in progress.",
                Key=call.key,
            )
        return Response(status=200, headers=headers)

    def _put_object(self, call: _Call) -> Response:
        asked = callback.parse(call.headers, call.params)  # checked before anything is stored
        record = _record_from_request(call, call.body, crc64(call.body))
        self.store.put(call.bucket, record, call.body, call.forbid_overwrite)
        if asked is not None:
            return _called_back(asked, call.bucket, record, _write_headers(record))
        return Response(status=200, headers=_write_headers(record))

    def _append_object(self, call: _Call) -> Response:
        position = call.params.get("position", "")
        if not position.isdigit():
            raise invalid_argument("position must be a non-negative integer", "position", position)
        if self.store.exists(call.bucket, call.key):
            # Only the first append sets metadata and tags: later ones' headers are not read.
            call = call.without_header("x-oss-tagging")
        record = _record_from_request(call, call.body, 0)
        record = self.store.append(call.bucket, record, int(position), call.body)
        headers = _write_headers(record)
        headers["x-oss-next-append-position"] = str(record.size)
        return Response(status=200, headers=headers)

    def _copy_object(self, call: _Call) -> Response:
        source_bucket, source_key = _copy_source(call.headers["x-oss-copy-source"])
        directive = call.headers.get("x-oss-metadata-directive", "COPY").upper()
        if directive not in ("COPY", "REPLACE"):
            raise invalid_argument(
                "x-oss-metadata-directive must be COPY or REPLACE",
                "x-oss-metadata-directive",
                directive,
            )
        replacement = _record_from_request(call, b"", 0) if directive == "REPLACE" else None
        changes: dict[str, Any] = {}
        tag_directive = call.headers.get("x-oss-tagging-directive", "Copy").lower()
        if tag_directive not in ("copy", "replace"):
            raise invalid_argument(
                "x-oss-tagging-directive must be Copy or Replace",
                "x-oss-tagging-directive",
                tag_directive,
            )
        if tag_directive == "replace":
            changes["tags"] = tagging.from_header(call.headers.get("x-oss-tagging", ""))
        elif replacement is not None:
            changes["tags"] = None  # filled from the source below
        # The copy gets the class asked for, else the bucket's (Standard), not the source's.
        changes["storage_class"] = _storage_class(call.headers)

        def check(source: ObjectRecord) -> None:
            try:
                conditions.check(call.headers, source, "x-oss-copy-source-")
            except conditions.NotModified:
                raise OssError(304, "NotModified", "The object has not been modified.") from None
            if source.storage_class in RESTORE_NEEDED and not _restored(source):
                raise OssError(
                    403,
                    "InvalidObjectState",
                    "The operation is not valid for the object's state",
                    Key=source.key,
                )

        if changes.get("tags", {}) is None:
            changes["tags"] = self.store.record(source_bucket, source_key).tags
        record = self.store.copy(
            (source_bucket, source_key),
            (call.bucket, call.key),
            replacement,
            call.forbid_overwrite,
            check,
            **changes,
        )
        headers = _write_headers(record)
        return _xml(xmlshape.copy_result(record.etag, record.last_modified), headers)

    def _upload_part_copy(self, call: _Call) -> Response:
        source_bucket, source_key = _copy_source(call.headers["x-oss-copy-source"])
        number = limits.parse_part_number(call.params.get("partNumber", ""))
        source, value = self.store.read(source_bucket, source_key)
        try:
            conditions.check(call.headers, source, "x-oss-copy-source-")
        except conditions.NotModified:
            raise OssError(304, "NotModified", "The object has not been modified.") from None
        byte_range = call.headers.get("x-oss-copy-source-range", "")
        if byte_range:
            chosen = _parse_range(byte_range, len(value), standard=True)
            if chosen is not None:
                value = value[chosen[0] : chosen[1] + 1]
        part = self.store.upload_part(call.bucket, call.key, call.params["uploadId"], number, value)
        body = xmlshape.copy_part_result(part.etag, part.last_modified)
        return _xml(body, {"ETag": part.etag, "x-oss-hash-crc64ecma": str(part.crc64)})

    def _upload_part(self, call: _Call) -> Response:
        number = limits.parse_part_number(call.params.get("partNumber", ""))
        limits.check_object_size(len(call.body))
        part = self.store.upload_part(
            call.bucket, call.key, call.params["uploadId"], number, call.body
        )
        headers = {"ETag": part.etag, "x-oss-hash-crc64ecma": str(part.crc64)}
        return Response(status=200, headers=headers)

    def _list_parts(self, call: _Call) -> Response:
        upload, parts = self.store.parts(call.bucket, call.key, call.params["uploadId"])
        marker_text = call.params.get("part-number-marker", "") or "0"
        if not marker_text.isdigit():
            raise invalid_argument("invalid part-number-marker", "part-number-marker", marker_text)
        marker = int(marker_text)
        max_parts = limits.parse_max(call.params.get("max-parts"), 1000, "max-parts")
        after = [p for p in parts if p.number > marker]
        page = after[:max_parts]
        return _xml(
            xmlshape.list_parts(
                call.bucket,
                upload,
                page,
                marker=marker,
                max_parts=max_parts,
                is_truncated=len(after) > max_parts,
            )
        )

    def _complete_upload(self, call: _Call) -> Response:
        asked = callback.parse(call.headers, call.params)
        chosen: list[tuple[int, str]] | None = None
        if call.headers.get("x-oss-complete-all", "").lower() != "yes":
            root = _parse_xml(call.body, "CompleteMultipartUpload")
            chosen = []
            for node in root.findall("Part"):
                number = (node.findtext("PartNumber") or "").strip()
                chosen.append((limits.parse_part_number(number), node.findtext("ETag") or ""))
        record = self.store.complete_upload(
            call.bucket, call.key, call.params["uploadId"], chosen, call.forbid_overwrite
        )
        if asked is not None:
            return _called_back(asked, call.bucket, record, _write_headers(record))
        location = f"http://{call.host}/{call.bucket}/{call.key}"
        body = xmlshape.complete_multipart(call.bucket, call.key, record.etag, location)
        return _xml(body, _write_headers(record))


class _Call:
    """One request, with what routing and the handlers need from it."""

    def __init__(
        self,
        request: Request,
        bucket: str,
        key: str,
        params: dict[str, str],
        headers: dict[str, str],
        body: bytes,
    ) -> None:
        self.request = request
        self.method = request.method
        self.host = request.host
        self.bucket = bucket
        self.key = key
        self.params = params
        self.headers = headers
        self.body = body
        self.url_encoded = params.get("encoding-type") == "url"
        self.forbid_overwrite = headers.get("x-oss-forbid-overwrite", "").lower() == "true"

    def without_header(self, name: str) -> _Call:
        trimmed = copy.copy(self)
        trimmed.headers = {h: v for h, v in self.headers.items() if h != name}
        return trimmed


def _copy_source(header: str) -> tuple[str, str]:
    if "versionId=" in header:
        raise subresources.not_implemented("copying a version", "x-oss-copy-source")
    source_bucket, sep, source_key = unquote(header.split("?", 1)[0]).lstrip("/").partition("/")
    if not sep or not source_key:
        raise invalid_argument("Copy Source must mention the source bucket and key.")
    return source_bucket, source_key


def _restored(record: ObjectRecord) -> bool:
    return record.restored()


def _storage_class(headers: dict[str, str]) -> str:
    given = headers.get("x-oss-storage-class", "Standard")
    for name in STORAGE_CLASSES:
        if given.lower() == name.lower():
            return name
    raise invalid_argument("Invalid storage class", "x-oss-storage-class", given)


def _override_headers(headers: dict[str, str], params: dict[str, str]) -> None:
    """``response-content-type`` and friends replace the response's headers (GET, signed URLs)."""
    for name, value in params.items():
        if name.startswith("response-") and name in RESPONSE_OVERRIDES:
            headers[RESPONSE_OVERRIDES[name]] = value


def _bucket_and_key(request: Request) -> tuple[str, str]:
    # Virtual-host style (BUCKET.endpoint) when the host is a dotted name, path
    # style (endpoint/BUCKET/KEY) for IP addresses and plain names, as oss2 does.
    hostname = request.host.rsplit(":", 1)[0] if "]" not in request.host else ""
    path = request.path[1:] if request.path.startswith("/") else request.path
    if "." in hostname and hostname != "localhost" and not _is_ip(hostname):
        return hostname.split(".", 1)[0], path
    bucket, _, key = path.partition("/")
    return bucket, key


def _is_ip(hostname: str) -> bool:
    try:
        socket.inet_aton(hostname)
    except OSError:
        return False
    return True


def _read_body(request: Request, headers: dict[str, str], timeout: float) -> bytes:
    length = request.content_length
    if request.method in _BODILESS:
        # OSS reads no body on a read: a Content-Length sent along (a signed URL's signed
        # headers, say) is answered at once, not waited for.
        return b""
    if length is not None:
        limits.check_object_size(length)
    if not length:
        return b"" if "chunked" not in headers.get("transfer-encoding", "") else _read_all(request)
    connection = request.environ.get("werkzeug.socket")
    previous = connection.gettimeout() if connection is not None else None
    if connection is not None:
        # A client that declares a body and never sends it would hold this thread for good.
        connection.settimeout(timeout)
    try:
        body = _read_all(request)
    except (TimeoutError, OSError, ClientDisconnected):
        raise OssError(
            400,
            "RequestTimeout",
            "Your socket connection to the server was not read from or written to within "
            "the timeout period.",
            headers={"Connection": "close"},
        ) from None
    finally:
        if connection is not None:
            connection.settimeout(previous)
    if len(body) < length:
        raise OssError(
            400,
            "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header.",
            headers={"Connection": "close"},
        )
    expected_md5 = headers.get("content-md5")
    if expected_md5 and expected_md5 != content_md5(body):
        raise OssError(400, "InvalidDigest", "The Content-MD5 you specified is not valid.")
    return body


def _read_all(request: Request) -> bytes:
    return request.get_data(cache=False)


def _record_from_request(call: _Call, value: bytes, crc: int) -> ObjectRecord:
    acl = call.headers.get("x-oss-object-acl", "default")
    if acl not in OBJECT_ACLS:
        raise invalid_argument("no such object access control exists", "x-oss-object-acl", acl)
    return ObjectRecord(
        key=call.key,
        size=len(value),
        etag=md5_etag(hashlib.md5(value).digest()),  # noqa: S324 - an ETag
        last_modified=datetime.now(timezone.utc),
        crc64=crc,
        object_type="Normal",
        content_type=call.headers.get("content-type") or "application/octet-stream",
        user_meta=limits.user_metadata(call.headers),
        headers={h: call.headers[h] for h in STORED_HEADERS if h in call.headers},
        acl=acl,
        storage_class=_storage_class(call.headers),
        tags=tagging.from_header(call.headers.get("x-oss-tagging", "")),
        server_side_encryption=call.headers.get("x-oss-server-side-encryption", ""),
    )


def _called_back(
    asked: callback.Callback, bucket: str, record: ObjectRecord, headers: dict[str, str]
) -> Response:
    """The upload's answer once stored: the callback server's, or 203 CallbackFailed."""
    values = {
        "bucket": bucket,
        "object": record.key,
        "etag": record.etag.strip('"'),
        "size": str(record.size),
        "mimeType": record.content_type,
        "crc64": str(record.crc64),
    }
    outcome = callback.call(asked, callback.render(asked, values))
    if not outcome.succeeded:
        raise callback.failed(outcome, headers)
    return Response(outcome.body, status=200, headers=headers, content_type="application/json")


def _new_record(key: str, value: bytes, content_type: str) -> ObjectRecord:
    return ObjectRecord(
        key=key,
        size=len(value),
        etag=md5_etag(hashlib.md5(value).digest()),  # noqa: S324 - an ETag
        last_modified=datetime.now(timezone.utc),
        crc64=crc64(value),
        object_type="Normal",
        content_type=content_type,
    )


def _object_headers(record: ObjectRecord) -> dict[str, str]:
    headers = {
        "Content-Type": record.content_type,
        "ETag": record.etag,
        "Last-Modified": format_datetime(record.last_modified, usegmt=True),
        "Accept-Ranges": "bytes",
        "x-oss-object-type": record.object_type,
        "x-oss-storage-class": "Standard",
        "x-oss-hash-crc64ecma": str(record.crc64),
    }
    if record.object_type == "Appendable":
        headers["x-oss-next-append-position"] = str(record.size)
    headers["x-oss-storage-class"] = record.storage_class
    if record.tags:
        headers["x-oss-tagging-count"] = str(len(record.tags))
    if record.server_side_encryption:
        headers["x-oss-server-side-encryption"] = record.server_side_encryption
    if record.restore_info():
        headers["x-oss-restore"] = record.restore_info()

    headers.update(record.headers)
    headers.update({limits.USER_META_PREFIX + k: v for k, v in record.user_meta.items()})
    return headers


def _with_link_metadata(headers: dict[str, str], link: ObjectRecord) -> dict[str, str]:
    """A symlink's reads carry the target's bytes and the symlink's own user metadata."""
    if link.object_type != "Symlink":
        return headers
    kept = {k: v for k, v in headers.items() if not k.startswith(limits.USER_META_PREFIX)}
    kept.update({limits.USER_META_PREFIX + k: v for k, v in link.user_meta.items()})
    return kept


def _write_headers(record: ObjectRecord) -> dict[str, str]:
    headers = {"ETag": record.etag, "x-oss-hash-crc64ecma": str(record.crc64)}
    if record.server_side_encryption:
        headers["x-oss-server-side-encryption"] = record.server_side_encryption
    return headers


def _parse_range(value: str, size: int, standard: bool = False) -> tuple[int, int] | None:
    """The inclusive byte range to serve, or None for the whole object (200).

    OSS's own rule, unless the client asks for HTTP's (``x-oss-range-behavior: standard``): a
    malformed range, or one with either end out of the object (``bytes=50-500`` of 100 bytes,
    ``bytes=-500``, ``bytes=100-``), is ignored and the whole object is served with 200. With the
    header, a range reaching past the end is cut to the object (206) and one starting past it is
    416, as in HTTP.
    """
    match = _RANGE.match(value.strip())
    if not match or (not match.group(1) and not match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if not first:
        length = int(last)
        if length == 0 or (length > size and not standard):
            return None
        return max(size - length, 0), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if end < start:
        return None
    if start >= size:
        if not standard:
            return None
        raise OssError(
            416, "InvalidRange", "The requested range cannot be satisfied.", RangeRequested=value
        )
    if end >= size and not standard:
        return None
    return start, min(end, size - 1)


# XML 1.0 cannot carry most control characters, yet keys may hold them and oss2 writes them
# raw (or as character references) into a batch delete: they ride through the parser as
# private-use characters and are put back afterwards.
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]|&#(x[0-9a-fA-F]+|[0-9]+);")
_CONTROL_BASE = 0xF0000


def _hide_control(match: re.Match[bytes]) -> bytes:
    reference = match.group(1)
    if reference is None:
        code = match.group(0)[0]
    else:
        text = reference.decode()
        code = int(text[1:], 16) if text.startswith("x") else int(text)
        if code >= 0x20 or code in (0x09, 0x0A, 0x0D):
            return match.group(0)
    return chr(_CONTROL_BASE + code).encode()


def _restore_controls(text: str) -> str:
    return "".join(
        chr(ord(c) - _CONTROL_BASE) if _CONTROL_BASE <= ord(c) < _CONTROL_BASE + 0x20 else c
        for c in text
    )


def _parse_xml(
    body: bytes, root_tag: str, *, tolerate_control_characters: bool = False
) -> ElementTree.Element:
    if tolerate_control_characters:
        body = _CONTROL.sub(_hide_control, body)
    try:
        root = ElementTree.fromstring(body)  # noqa: S314 - bodies come from local test clients
    except ElementTree.ParseError:
        root = None
    if root is None or root.tag != root_tag:
        raise OssError(400, "MalformedXML", "The XML you provided was not well-formed.")
    return root


def _encode_token(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode("ascii")


def _decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode("ascii")).decode()
    except (binascii.Error, UnicodeError, ValueError):
        raise invalid_argument(
            "The continuation token provided is incorrect", "continuation-token", token
        ) from None


def _xml(body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status=200, headers=headers, content_type="application/xml")


def _method_not_allowed() -> OssError:
    return OssError(405, "MethodNotAllowed", "The specified method is not allowed.")


def _error_response(error: OssError, request: Request, request_id: str) -> Response:
    host = request.host
    headers = dict(error.headers)
    if error.status == 304:  # a failed copy-source condition: no body, no error document
        return Response(status=304, headers=headers)
    headers["x-oss-ec"] = error.ec
    if error.code == "EntityTooLarge":
        # The body was refused unread: the connection cannot carry another request.
        headers["Connection"] = "close"
    if request.method == "HEAD":
        headers["x-oss-err"] = error.header_form(request_id, host)
        return Response(status=error.status, headers=headers)
    return Response(
        error.to_xml(request_id, host),
        status=error.status,
        headers=headers,
        content_type="application/xml",
    )
