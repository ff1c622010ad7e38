"""Buckets and objects with OSS semantics, kept in moto's S3 backend.

moto holds the bytes (FakeKey bodies, multipart parts) and the bucket and upload
tables; what OSS has and S3 lacks (CRC64, object type, OSS ACLs, user metadata as
OSS returns it) rides along on moto's objects as an attribute. One lock serialises
changes: moto's models are not thread-safe and the server is threaded.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import secrets
import threading
import time
from bisect import bisect_left, insort
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from moto.s3.models import FakeBucket, S3Backend, s3_backends

import fakeoss  # noqa: F401 - sets moto's environment before moto is imported

from . import errors, listing
from .checksums import crc64, crc64_combine, md5_etag, multipart_etag
from .disk import DataFolder
from .errors import OssError
from .limits import MIN_PART_BYTES
from .records import ObjectRecord, PartRecord, UploadRecord, object_settings

# Typed as Any: moto declares FakeBucket abstract for CloudFormation, not for use.
_FakeBucket: Any = FakeBucket
_RECORD = "fakeoss_record"
_ACL = "fakeoss_acl"
_REGION = "us-east-1"
_accounts = itertools.count(random.randrange(10**11, 9 * 10**11))  # noqa: S311 - not a secret


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Store:
    def __init__(
        self,
        *,
        create_buckets_on_demand: bool = False,
        restore_seconds: float = 1.0,
        data: DataFolder | None = None,
    ) -> None:
        """``data``: the folder every change is written to, and loaded from here (None: memory)."""
        self.restore_seconds = restore_seconds
        self._data = data
        # One moto account per store keeps concurrently running fakes (in tests)
        # from seeing each other's buckets.
        self._account_id = f"{next(_accounts):012d}"
        self._backend: Any = S3Backend(region_name=_REGION, account_id=self._account_id)
        self._lock = threading.RLock()
        # Each bucket's key names in order, kept as keys come and go (every write is _store's,
        # every removal delete's): a listing bisects it instead of sorting the bucket per page.
        self._names: dict[str, list[str]] = {}
        self.create_buckets_on_demand = create_buckets_on_demand
        self._last_upload_time = 0
        if data is not None:
            self._load(data)

    @contextmanager
    def locked(self) -> Iterator[None]:
        with self._lock:
            yield

    # --- buckets ------------------------------------------------------------

    def _load(self, data: DataFolder) -> None:
        for saved in data.load():
            self.create_bucket(saved.name, saved.acl, saved.created)
            for record, value in saved.objects:
                self._store(saved.name, record, value, persist=False)
            for kept in saved.uploads:
                multipart = self._backend.create_multipart_upload(
                    saved.name, kept.upload.key, {}, "STANDARD", {}, None, None, None
                )
                # The upload keeps the id its client holds.
                self._rename_upload(saved.name, multipart, kept.upload.upload_id)
                setattr(multipart, _RECORD, kept.upload)
                for part, value in kept.parts:
                    stored = self._backend.upload_part(saved.name, multipart.id, part.number, value)
                    setattr(stored, _RECORD, part)

    def create_bucket(
        self, name: str, acl: str = "private", created: datetime | None = None
    ) -> None:
        with self._lock:
            if name in self._backend.buckets:
                return
            bucket = _FakeBucket(name=name, account_id=self._account_id, region_name=_REGION)
            # moto registers every bucket name process-wide for cross-account
            # lookups; the fake resolves names only within its own store.
            registered = s3_backends.bucket_accounts.get(name)
            if registered and registered[1] == self._account_id:
                del s3_backends.bucket_accounts[name]
            setattr(bucket, _ACL, acl)
            if created is not None:
                bucket.creation_date = created
            self._backend.buckets[name] = bucket
            self._names[name] = []
            if self._data is not None:
                self._data.save_bucket(name, acl, bucket.creation_date)

    def _bucket(self, name: str) -> Any:
        bucket = self._backend.buckets.get(name)
        if bucket is None:
            if not self.create_buckets_on_demand:
                raise errors.no_such_bucket(name)
            self.create_bucket(name)
            bucket = self._backend.buckets[name]
        return bucket

    def require_bucket(self, name: str) -> None:
        with self._lock:
            self._bucket(name)

    def bucket_created(self, name: str) -> datetime:
        with self._lock:
            created: datetime = self._bucket(name).creation_date
            return created

    def bucket_acl(self, name: str) -> str:
        with self._lock:
            return str(getattr(self._bucket(name), _ACL, "private"))

    def set_bucket_acl(self, name: str, acl: str) -> None:
        with self._lock:
            bucket = self._bucket(name)
            setattr(bucket, _ACL, acl)
            if self._data is not None:
                self._data.save_bucket(name, acl, bucket.creation_date)

    def delete_bucket(self, name: str) -> None:
        with self._lock:
            bucket = self._bucket(name)
            if bucket.keys or bucket.multiparts:
                raise OssError(
                    409,
                    "BucketNotEmpty",
                    "The bucket you tried to delete is not empty.",
                    BucketName=name,
                )
            del self._backend.buckets[name]
            del self._names[name]
            if self._data is not None:
                self._data.delete_bucket(name)

    def buckets(self) -> list[tuple[str, datetime]]:
        with self._lock:
            return sorted((n, b.creation_date) for n, b in self._backend.buckets.items())

    # --- objects ------------------------------------------------------------

    def _key(self, bucket: str, key: str) -> Any:
        found = self._bucket(bucket).keys.get(key)
        if found is None:
            raise errors.no_such_key(key)
        return found

    def record(self, bucket: str, key: str) -> ObjectRecord:
        with self._lock:
            record: ObjectRecord = getattr(self._key(bucket, key), _RECORD)
            return record

    def read(self, bucket: str, key: str) -> tuple[ObjectRecord, bytes]:
        with self._lock:
            found = self._key(bucket, key)
            return getattr(found, _RECORD), found.value

    def exists(self, bucket: str, key: str) -> bool:
        with self._lock:
            return key in self._bucket(bucket).keys

    def _store(
        self, bucket: str, record: ObjectRecord, value: bytes, *, persist: bool = True
    ) -> ObjectRecord:
        moto_bucket = self._bucket(bucket)
        old = moto_bucket.keys.get(record.key)
        new = self._backend.put_object(
            bucket, record.key, value, etag=record.etag, disable_notification=True
        )
        setattr(new, _RECORD, record)
        if old is None:
            insort(self._names[bucket], record.key)
        # moto forgets an overwritten body without closing it, which warns later.
        if old is not None and old is not new:
            old.dispose()
        if persist and self._data is not None:
            self._data.save_object(bucket, record, value)
        return record

    def _check_overwrite(self, bucket: str, key: str, forbid_overwrite: bool) -> None:
        if forbid_overwrite and key in self._bucket(bucket).keys:
            raise OssError(409, "FileAlreadyExists", "The object you specified already exists.")

    def put(self, bucket: str, record: ObjectRecord, value: bytes, forbid_overwrite: bool) -> None:
        with self._lock:
            self._check_overwrite(bucket, record.key, forbid_overwrite)
            self._store(bucket, record, value)

    def append(self, bucket: str, record: ObjectRecord, position: int, data: bytes) -> ObjectRecord:
        with self._lock:
            existing = self._bucket(bucket).keys.get(record.key)
            if existing is None:
                old_value, old_record = b"", None
            else:
                old_record = getattr(existing, _RECORD)
                if old_record.object_type != "Appendable":
                    raise OssError(409, "ObjectNotAppendable", "The object is not appendable.")
                old_value = existing.value
            if position != len(old_value):
                raise OssError(
                    409,
                    "PositionNotEqualToLength",
                    "Position is not equal to file length.",
                    headers={"x-oss-next-append-position": str(len(old_value))},
                )
            value = old_value + data
            if old_record is not None:
                # An append keeps the metadata the object was created with.
                record = replace(record, **object_settings(old_record))
            old_crc = old_record.crc64 if old_record else 0
            record = replace(
                record,
                size=len(value),
                crc64=crc64_combine(old_crc, crc64(data), len(data)),
                etag=md5_etag(hashlib.md5(value).digest()),  # noqa: S324
                object_type="Appendable",
            )
            return self._store(bucket, record, value)

    def copy(
        self,
        source: tuple[str, str],
        target: tuple[str, str],
        replacement: ObjectRecord | None,
        forbid_overwrite: bool,
        check: Callable[[ObjectRecord], None] = lambda record: None,
        **changes: Any,
    ) -> ObjectRecord:
        with self._lock:
            found = self._key(*source)
            src_record: ObjectRecord = getattr(found, _RECORD)
            check(src_record)
            self._check_overwrite(target[0], target[1], forbid_overwrite)
            base = replacement or src_record
            record = replace(
                base,
                key=target[1],
                size=src_record.size,
                crc64=src_record.crc64,
                etag=src_record.etag,
                object_type="Normal",
                last_modified=_now(),
                restore_ready_at=None,
                symlink_target="",
                **changes,
            )
            return self._store(target[0], record, found.value)

    def delete(self, bucket: str, key: str) -> None:
        with self._lock:
            moto_bucket = self._bucket(bucket)
            found = moto_bucket.keys.get(key)
            if found is not None:
                self._backend.delete_object(bucket, key)
                names = self._names[bucket]
                del names[bisect_left(names, key)]
                found.dispose()
                if self._data is not None:
                    self._data.delete_object(bucket, key)

    def list_page(
        self, bucket: str, **query: Any
    ) -> tuple[listing.ListPage, dict[str, ObjectRecord]]:
        """A page of `bucket`'s keys (`query`: listing.list_page's prefix, delimiter, marker,
        max_keys) and the records of the keys on it."""
        with self._lock:
            keys = self._bucket(bucket).keys
            page = listing.list_page(self._names[bucket], **query)
            return page, {name: getattr(keys[name], _RECORD) for name in page.keys}

    def set_object_acl(self, bucket: str, key: str, acl: str) -> None:
        with self._lock:
            record: ObjectRecord = getattr(self._key(bucket, key), _RECORD)
            record.acl = acl
            if self._data is not None:
                self._data.save_object(bucket, record, None)

    # --- multipart ----------------------------------------------------------

    def init_upload(self, bucket: str, template: ObjectRecord) -> UploadRecord:
        with self._lock:
            self._bucket(bucket)
            multipart = self._backend.create_multipart_upload(
                bucket, template.key, {}, "STANDARD", {}, None, None, None
            )
            self._rename_upload(bucket, multipart, self._next_upload_id())
            upload = UploadRecord(
                upload_id=multipart.id,
                key=template.key,
                initiated=_now(),
                **object_settings(template),
            )
            setattr(multipart, _RECORD, upload)
            if self._data is not None:
                self._data.save_upload(bucket, upload)
            return upload

    def _next_upload_id(self) -> str:
        """An id like OSS's: 32 upper-case hex digits that sort in the order uploads began
        (ListMultipartUploads lists one key's uploads by id)."""
        self._last_upload_time = max(time.time_ns(), self._last_upload_time + 1)
        return f"{self._last_upload_time:016X}{secrets.token_hex(8).upper()}"

    def _rename_upload(self, bucket: str, multipart: Any, upload_id: str) -> None:
        uploads = self._backend.buckets[bucket].multiparts
        del uploads[multipart.id]
        multipart.id = upload_id
        uploads[upload_id] = multipart

    def _multipart(self, bucket: str, key: str, upload_id: str) -> Any:
        multipart = self._bucket(bucket).multiparts.get(upload_id)
        if multipart is None or multipart.key_name != key:
            raise errors.no_such_upload(upload_id)
        return multipart

    def upload_part(
        self, bucket: str, key: str, upload_id: str, number: int, data: bytes
    ) -> PartRecord:
        digest = hashlib.md5(data).digest()  # noqa: S324
        part = PartRecord(
            number=number,
            size=len(data),
            etag=md5_etag(digest),
            crc64=crc64(data),
            md5=digest,
            last_modified=_now(),
        )
        with self._lock:
            self._multipart(bucket, key, upload_id)
            stored = self._backend.upload_part(bucket, upload_id, number, data)
            setattr(stored, _RECORD, part)
            if self._data is not None:
                self._data.save_part(bucket, upload_id, part, data)
        return part

    def parts(self, bucket: str, key: str, upload_id: str) -> tuple[UploadRecord, list[PartRecord]]:
        with self._lock:
            multipart = self._multipart(bucket, key, upload_id)
            parts = [getattr(multipart.parts[n], _RECORD) for n in multipart.partlist]
            return getattr(multipart, _RECORD), parts

    def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        with self._lock:
            self._multipart(bucket, key, upload_id)
            self._backend.abort_multipart_upload(bucket, upload_id)
            if self._data is not None:
                self._data.delete_upload(bucket, upload_id)

    def uploads(self, bucket: str, prefix: str) -> list[UploadRecord]:
        """Open uploads under ``prefix``, by key, then by id (as OSS lists them: its ids, and
        this fake's, sort in the order the uploads began)."""
        with self._lock:
            found = [getattr(m, _RECORD) for m in self._bucket(bucket).multiparts.values()]
        chosen = [u for u in found if u.key.startswith(prefix)]
        return sorted(chosen, key=lambda u: (u.key, u.upload_id))

    def update_record(self, bucket: str, key: str, **changes: Any) -> ObjectRecord:
        """Change what the fake knows about an object (tags, restore state), not its bytes."""
        with self._lock:
            found = self._key(bucket, key)
            record: ObjectRecord = replace(getattr(found, _RECORD), **changes)
            setattr(found, _RECORD, record)
            if self._data is not None:
                self._data.save_object(bucket, record, None)
            return record

    def part_source(self, bucket: str, key: str) -> tuple[ObjectRecord, bytes]:
        return self.read(bucket, key)

    def complete_upload(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        chosen: list[tuple[int, str]] | None,
        forbid_overwrite: bool,
    ) -> ObjectRecord:
        with self._lock:
            multipart = self._multipart(bucket, key, upload_id)
            upload: UploadRecord = getattr(multipart, _RECORD)
            available = {n: multipart.parts[n] for n in multipart.partlist}
            if chosen is None:  # x-oss-complete-all: every uploaded part, in order
                chosen = [(n, getattr(p, _RECORD).etag) for n, p in available.items()]
            parts = _chosen_parts(available, chosen)
            self._check_overwrite(bucket, key, forbid_overwrite)
            value = b"".join(stored.value for stored in (available[p.number] for p in parts))
            crc = 0
            for part in parts:
                crc = crc64_combine(crc, part.crc64, part.size)
            record = ObjectRecord(
                key=key,
                size=len(value),
                etag=multipart_etag([p.md5 for p in parts]),
                last_modified=_now(),
                crc64=crc,
                object_type="Multipart",
                **object_settings(upload),
            )
            self._store(bucket, record, value)
            del self._bucket(bucket).multiparts[upload_id]
            if self._data is not None:
                self._data.delete_upload(bucket, upload_id)
            return record


def _chosen_parts(available: dict[int, Any], chosen: list[tuple[int, str]]) -> list[PartRecord]:
    if not chosen:
        raise OssError(400, "MalformedXML", "The XML you provided was not well-formed.")
    parts: list[PartRecord] = []
    previous = 0
    for number, etag in chosen:
        if number <= previous:
            raise OssError(400, "InvalidPartOrder", "The list of parts was not in ascending order.")
        previous = number
        stored = available.get(number)
        record: PartRecord | None = getattr(stored, _RECORD, None)
        if record is None or record.etag.strip('"').upper() != etag.strip('"').upper():
            raise OssError(
                400,
                "InvalidPart",
                "One or more of the specified parts could not be found or the specified "
                "entity tag might not have matched the part's entity tag.",
                PartNumber=str(number),
            )
        parts.append(record)
    for part in parts[:-1]:
        if part.size < MIN_PART_BYTES:
            raise OssError(
                400,
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed size.",
                PartNumber=str(part.number),
            )
    return parts
