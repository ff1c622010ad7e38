"""Catalog: the gallery's records as readers and writers see them.

Records live in OSS (the truth) and are mirrored in a Redis index (fast pages). Every Redis call
here is optional: when Redis fails or hangs, writes go to OSS only, reads go to OSS, and the
worker's sweep (`reconcile`) brings the index back in line later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

import redis

from gallery.index import RecordIndex
from gallery.outage import Outage
from gallery.records import ImageRecord, is_image_id
from gallery.storage import ImageStore, Page

log = logging.getLogger(__name__)
T = TypeVar("T")

# Records read from the index per Redis call when many are wanted (the sweep's look at every
# image): one HGET and one EXISTS per image cost two round trips each, 100,000 of them a sweep.
READ_BATCH = 500
# Records read from OSS at once by reconcile: within oss2's pool of 10 connections per bucket.
RECORD_READERS = 8


@dataclass(frozen=True)
class Reconciled:
    added: int
    updated: int
    dropped: int
    # Every record OSS listed, by image id (100,000 of them in a large gallery: not in a repr).
    listed: tuple[str, ...] = field(default=(), repr=False)


class Catalog:
    def __init__(self, store: ImageStore, index: RecordIndex, outage: Outage) -> None:
        self.store = store
        self.index = index
        self.outage = outage

    def _redis(self, call: Callable[[], T], fallback: T) -> T:
        if self.outage.active():
            return fallback
        try:
            return call()
        except redis.RedisError as exc:
            log.warning("redis unavailable, using the fallback: %s", type(exc).__name__)
            self.outage.record()
            return fallback

    def _index_ready(self) -> bool:
        return self._redis(self.index.is_complete, False)

    # --- writes -------------------------------------------------------------

    def save(self, record: ImageRecord) -> None:
        etag = self.store.save_record(record)
        self._redis(lambda: self.index.put(record, etag), False)

    def delete(self, image_id: str) -> bool:
        """Delete the image (OSS first), then bury it so no late writer brings it back."""
        existed = self.store.delete_image(image_id)
        if existed or is_image_id(image_id):
            self._redis(lambda: self.index.bury(image_id), None)
        return existed

    def abandon(self, image_id: str) -> None:
        """Remember an upload that failed with OSS unreachable, for gc to delete."""
        self._redis(lambda: self.index.abandon(image_id), None)

    def abandoned(self, *, forget_before: float) -> list[str]:
        """Ids of abandoned uploads (none while Redis is unreachable: gc tries next time)."""
        return self._redis(lambda: self.index.abandoned_ids(forget_before=forget_before), [])

    def is_gone(self, image_id: str) -> bool:
        return self._redis(lambda: self.index.is_gone(image_id), False)

    # --- reads --------------------------------------------------------------

    def get(self, image_id: str) -> ImageRecord | None:
        return next(self.records([image_id]), None)

    def records(self, image_ids: Iterable[str]) -> Iterator[ImageRecord]:
        """Each image's record: from the index while it is known complete (a batch per Redis
        call), else from OSS; invalid ids and images with no record anywhere are left out."""
        wanted = [image_id for image_id in image_ids if is_image_id(image_id)]
        if not wanted:
            return
        ready = self._index_ready()
        for start in range(0, len(wanted), READ_BATCH):
            batch = wanted[start : start + READ_BATCH]
            indexed = self._redis(partial(self.index.get_many, batch), None) if ready else None
            for image_id, record in zip(batch, indexed or [None] * len(batch), strict=True):
                found = record or self.store.get_record(image_id)
                if found is not None:
                    yield found

    def page(self, *, limit: int, cursor: str | None) -> Page:
        result = self._redis(lambda: self.index.page(limit=limit, cursor=cursor), None)
        if result is not None:
            return Page(*result)
        return self.store.list_records(limit=limit, cursor=cursor)

    # --- repair -------------------------------------------------------------

    def reconcile(self) -> Reconciled:
        """Make the index match OSS. Raises redis errors: the sweep retries next time."""
        # The index is read before OSS is listed: an image indexed after this snapshot is not in
        # it, so it cannot be dropped as "not in OSS" by a listing that began before it existed.
        known = self.index.known_etags()
        in_oss = self.store.record_etags()
        added = updated = 0
        changed = [image_id for image_id, etag in in_oss.items() if known.get(image_id) != etag]
        # Records are read side by side: a rebuild reads every one, each a round trip to OSS.
        # Measured against a fakeoss process at 10,000 images: 17.2 s one at a time, 13.7 s
        # eight at a time (the fake's CPU bounds it there; a real bucket's latency would not).
        pool = ThreadPoolExecutor(RECORD_READERS, thread_name_prefix="reconcile")
        try:
            records = pool.map(self.store.get_record, changed)
            for image_id, record in zip(changed, records, strict=True):
                if record is not None and self.index.put(record, in_oss[image_id]):
                    if image_id in known:
                        updated += 1
                    else:
                        added += 1
        finally:
            # On a failure, the reads not yet begun are dropped, not waited for.
            pool.shutdown(cancel_futures=True)
        dropped = [image_id for image_id in known if image_id not in in_oss]
        self.index.drop(dropped)
        self.index.mark_complete()
        return Reconciled(added=added, updated=updated, dropped=len(dropped), listed=tuple(in_oss))
