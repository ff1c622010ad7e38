"""The WSGI application: OSS's REST API, routed to the store.

Every request is authenticated first (V1 or V4, header or signed URL), then
checked against OSS's limits, then served with OSS-shaped headers and XML.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import re
import socket
import uuid
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from . import limits, subresources, xmlshape
from .auth import Authenticator, SignedRequest
from .checksums import content_md5, crc64, md5_etag
from .errors import OssError, access_denied, invalid_argument
from .listing import list_page
from .records import STORED_HEADERS, ObjectRecord
from .store import Store

log = logging.getLogger(__name__)

LOCATION = "oss-cn-hangzhou"
BUCKET_ACLS = frozenset({"private", "public-read", "public-read-write"})
OBJECT_ACLS = BUCKET_ACLS | {"default"}
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def make_app(
    access_key_id: str,
    access_key_secret: str,
    *,
    buckets: Iterable[str] = (),
    create_buckets_on_demand: bool = True,
) -> FakeOss:
    """A WSGI app that answers like OSS for one key pair, storing in moto's S3 backend."""
    store = Store(create_buckets_on_demand=create_buckets_on_demand)
    for name in buckets:
        limits.check_bucket_name(name)
        store.create_bucket(name)
    return FakeOss(Authenticator(access_key_id, access_key_secret), store)


class FakeOss:
    def __init__(self, authenticator: Authenticator, store: Store) -> None:
        self._auth = authenticator
        self.store = store

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
        response.headers["x-oss-request-id"] = request_id
        response.headers["Server"] = "AliyunOSS"
        return response(environ, start_response)

    # --- routing ------------------------------------------------------------

    def _serve(self, request: Request) -> Response:
        bucket, key = _bucket_and_key(request)
        params = request.args.to_dict()
        headers = {k.lower(): v for k, v in request.headers.items()}
        body = _read_body(request, headers)
        signed = SignedRequest(request.method, bucket, key, params, headers)
        authenticated = self._auth.authenticate(signed)
        call = _Call(request, bucket, key, params, headers, body)
        if not authenticated:
            self._check_anonymous(call)
        subresources.check_supported(request.method, bool(key), params, headers)
        if key and "x-oss-copy-source" in headers and "uploadId" in params:
            raise subresources.not_implemented("UploadPartCopy", "x-oss-copy-source")
        if not bucket:
            if request.method == "GET":
                return _xml(xmlshape.list_buckets(self.store.buckets(), LOCATION, request.host))
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
        reading = call.method in ("GET", "HEAD") and not call.params
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
                name, store.bucket_created(name), store.bucket_acl(name), LOCATION, call.host
            )
            return _xml(info)
        if "location" in params:
            store.require_bucket(name)
            return _xml(xmlshape.location_constraint(LOCATION))
        if "uploads" in params:
            max_uploads = limits.parse_max(params.get("max-uploads"), 1000, "max-uploads")
            uploads = store.uploads(name, params.get("prefix", ""))[:max_uploads]
            return _xml(
                xmlshape.list_uploads(
                    name,
                    uploads,
                    prefix=params.get("prefix", ""),
                    max_uploads=max_uploads,
                    url_encoded=call.url_encoded,
                )
            )
        return self._list_objects(call)

    def _list_objects(self, call: _Call) -> Response:
        params = call.params
        prefix = params.get("prefix", "")
        delimiter = params.get("delimiter", "")
        max_keys = limits.parse_max(params.get("max-keys"), 100, "max-keys")
        names, records = self.store.listing(call.bucket)
        if params.get("list-type") == "2":
            token = params.get("continuation-token", "")
            start_after = params.get("start-after", "")
            marker = _decode_token(token) if token else start_after
            page = list_page(
                names, prefix=prefix, delimiter=delimiter, marker=marker, max_keys=max_keys
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
        page = list_page(
            names, prefix=prefix, delimiter=delimiter, marker=marker, max_keys=max_keys
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

    def _batch_delete(self, call: _Call) -> Response:
        root = _parse_xml(call.body, "Delete")
        quiet = (root.findtext("Quiet") or "false").strip().lower() == "true"
        keys = [node.findtext("Key") or "" for node in root.findall("Object")]
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
        if method in ("GET", "HEAD") and "uploadId" not in params and "acl" not in params:
            return self._get_object(call)
        if method == "PUT":
            if "acl" in params:
                acl = call.headers.get("x-oss-object-acl", "")
                if acl not in OBJECT_ACLS:
                    raise invalid_argument(
                        "no such object access control exists", "x-oss-object-acl", acl
                    )
                self.store.set_object_acl(call.bucket, call.key, acl)
                return Response(status=200)
            if "uploadId" in params:
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
            raise _method_not_allowed()
        if method == "DELETE":
            if "uploadId" in params:
                self.store.abort_upload(call.bucket, call.key, params["uploadId"])
            else:
                self.store.delete(call.bucket, call.key)
            return Response(status=204)
        raise _method_not_allowed()

    def _get_object(self, call: _Call) -> Response:
        if call.method == "HEAD":
            record = self.store.record(call.bucket, call.key)
            response = Response(status=200, headers=_object_headers(record))
            response.headers["Content-Length"] = str(record.size)
            return response
        record, value = self.store.read(call.bucket, call.key)
        headers = _object_headers(record)
        byte_range = _parse_range(call.headers.get("range", ""), len(value))
        if byte_range is None:
            return Response(value, status=200, headers=headers)
        start, end = byte_range
        headers["Content-Range"] = f"bytes {start}-{end}/{len(value)}"
        return Response(value[start : end + 1], status=206, headers=headers)

    def _put_object(self, call: _Call) -> Response:
        record = _record_from_request(call, call.body, crc64(call.body))
        self.store.put(call.bucket, record, call.body, call.forbid_overwrite)
        return Response(status=200, headers=_write_headers(record))

    def _append_object(self, call: _Call) -> Response:
        position = call.params.get("position", "")
        if not position.isdigit():
            raise invalid_argument("position must be a non-negative integer", "position", position)
        record = _record_from_request(call, call.body, 0)
        record = self.store.append(call.bucket, record, int(position), call.body)
        headers = _write_headers(record)
        headers["x-oss-next-append-position"] = str(record.size)
        return Response(status=200, headers=headers)

    def _copy_object(self, call: _Call) -> Response:
        source = call.headers["x-oss-copy-source"].split("?", 1)[0]
        source_bucket, sep, source_key = unquote(source).lstrip("/").partition("/")
        if not sep or not source_key:
            raise invalid_argument("Copy Source must mention the source bucket and key.")
        directive = call.headers.get("x-oss-metadata-directive", "COPY").upper()
        if directive not in ("COPY", "REPLACE"):
            raise invalid_argument(
                "x-oss-metadata-directive must be COPY or REPLACE",
                "x-oss-metadata-directive",
                directive,
            )
        replacement = _record_from_request(call, b"", 0) if directive == "REPLACE" else None
        record = self.store.copy(
            (source_bucket, source_key),
            (call.bucket, call.key),
            replacement,
            call.forbid_overwrite,
        )
        headers = _write_headers(record)
        return _xml(xmlshape.copy_result(record.etag, record.last_modified), headers)

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
        self.method = request.method
        self.host = request.host
        self.bucket = bucket
        self.key = key
        self.params = params
        self.headers = headers
        self.body = body
        self.url_encoded = params.get("encoding-type") == "url"
        self.forbid_overwrite = headers.get("x-oss-forbid-overwrite", "").lower() == "true"


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


def _read_body(request: Request, headers: dict[str, str]) -> bytes:
    length = request.content_length
    if length is not None:
        limits.check_object_size(length)
    body = request.get_data(cache=False)
    expected_md5 = headers.get("content-md5")
    if expected_md5 and expected_md5 != content_md5(body):
        raise OssError(400, "InvalidDigest", "The Content-MD5 you specified is not valid.")
    return body


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
    headers.update(record.headers)
    headers.update({limits.USER_META_PREFIX + k: v for k, v in record.user_meta.items()})
    return headers


def _write_headers(record: ObjectRecord) -> dict[str, str]:
    return {"ETag": record.etag, "x-oss-hash-crc64ecma": str(record.crc64)}


def _parse_range(value: str, size: int) -> tuple[int, int] | None:
    """The inclusive byte range to serve, or None for the whole object.

    Like OSS, a malformed range is ignored and the whole object is served.
    """
    match = _RANGE.match(value.strip())
    if not match or (not match.group(1) and not match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if not first:
        length = int(last)
        if length == 0:
            return None
        return max(size - length, 0), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if end < start:
        return None
    if start >= size:
        raise OssError(
            416, "InvalidRange", "The requested range cannot be satisfied.", RangeRequested=value
        )
    return start, min(end, size - 1)


def _parse_xml(body: bytes, root_tag: str) -> ElementTree.Element:
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
