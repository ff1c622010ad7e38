"""RecordIndex: every image record mirrored in Redis, so a page costs two Redis calls instead of
one OSS GET per image. OSS stays the source of truth: `reconcile` rebuilds the index from it
(the worker's sweep runs it every minute; `flask gallery rebuild-index` on demand), and while
the index is not known to be complete (Redis restarted empty) readers go to OSS.

Keys, under a namespace per bucket:

    index:ids       sorted set, every score 0: ids in byte order, which is newest first
    index:docs      hash id -> record JSON
    index:etags     hash id -> the OSS ETag of the record the doc came from
    index:complete  set by a reconcile; gone when Redis lost its data
    gone:<id>       tombstone of a deleted image: nothing writes its record back
    abandoned       sorted set id -> time: uploads that failed with OSS unreachable (for gc)
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import redis

from gallery.records import ImageRecord

TOMBSTONE_SECONDS = 7 * 24 * 3600

# Writes a record unless its image was deleted: the check and the write are one step in Redis.
PUT_UNLESS_GONE = """
if redis.call('EXISTS', KEYS[4]) == 1 then return 0 end
redis.call('ZADD', KEYS[1], 0, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
return 1
"""


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


# One page in one round trip: nil while the index is not known to be complete, else the ids
# (one more than asked, to tell whether a next page exists) followed by their docs.
PAGE = """
if redis.call('EXISTS', KEYS[3]) == 0 then return false end
local ids = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], '+', 'LIMIT', 0, tonumber(ARGV[2]) + 1)
if #ids == 0 then return {} end
local docs = redis.call('HMGET', KEYS[2], unpack(ids))
local result = {}
for i = 1, #ids do
    result[2 * i - 1] = ids[i]
    result[2 * i] = docs[i] or ''
end
return result
"""


class RecordIndex:
    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.redis = client
        self.ns = namespace
        self.ids = f"{namespace}index:ids"
        self.docs = f"{namespace}index:docs"
        self.etags = f"{namespace}index:etags"
        self.complete = f"{namespace}index:complete"
        self.abandoned = f"{namespace}abandoned"
        self._put = client.register_script(PUT_UNLESS_GONE)
        self._page = client.register_script(PAGE)

    def tombstone_key(self, image_id: str) -> str:
        return f"{self.ns}gone:{image_id}"

    def put(self, record: ImageRecord, etag: str = "") -> bool:
        """Index a record; False (and nothing written) if the image was deleted."""
        keys = [self.ids, self.docs, self.etags, self.tombstone_key(record.id)]
        return bool(self._put(keys=keys, args=[record.id, record.model_dump_json(), etag]))

    def bury(self, image_id: str) -> None:
        """Mark an image deleted (for a week) and drop it from the index."""
        pipe = self.redis.pipeline()
        pipe.set(self.tombstone_key(image_id), 1, ex=TOMBSTONE_SECONDS)
        pipe.zrem(self.ids, image_id)
        pipe.hdel(self.docs, image_id)
        pipe.hdel(self.etags, image_id)
        pipe.execute()

    def is_gone(self, image_id: str) -> bool:
        return bool(self.redis.exists(self.tombstone_key(image_id)))

    def is_complete(self) -> bool:
        return bool(self.redis.exists(self.complete))

    def get_many(self, image_ids: list[str]) -> list[ImageRecord | None]:
        """The records of `image_ids` in their order, None for one not indexed (one call)."""
        if not image_ids:
            return []
        found = self.redis.hmget(self.docs, image_ids)
        return [None if data is None else ImageRecord.model_validate_json(data) for data in found]

    def page(
        self, *, limit: int, cursor: str | None
    ) -> tuple[list[ImageRecord], str | None] | None:
        """A page of records newest first, or None while the index is not known complete."""
        start = f"({cursor}" if cursor else "-"
        found = self._page(keys=[self.ids, self.docs, self.complete], args=[start, limit])
        if found is None:
            return None
        pairs = [(text(found[n]), found[n + 1]) for n in range(0, len(found), 2)]
        shown, more = pairs[:limit], len(pairs) > limit
        records = [ImageRecord.model_validate_json(doc) for _, doc in shown if doc]
        return records, (shown[-1][0] if more and shown else None)

    def known_etags(self) -> dict[str, str]:
        found = self.redis.hgetall(self.etags)
        return {text(key): text(value) for key, value in found.items()}

    def drop(self, image_ids: Iterable[str]) -> None:
        ids = list(image_ids)
        if not ids:
            return
        pipe = self.redis.pipeline()
        pipe.zrem(self.ids, *ids)
        pipe.hdel(self.docs, *ids)
        pipe.hdel(self.etags, *ids)
        pipe.execute()

    def abandon(self, image_id: str) -> None:
        self.redis.zadd(self.abandoned, {image_id: time.time()})

    def abandoned_ids(self, *, forget_before: float) -> list[str]:
        self.redis.zremrangebyscore(self.abandoned, "-inf", forget_before)
        found: list[bytes] = self.redis.zrange(self.abandoned, 0, -1)  # type: ignore[assignment]
        return [text(raw) for raw in found]

    def mark_complete(self) -> None:
        self.redis.set(self.complete, 1)
