"""alibabacloud-credentials' ECS RAM-role provider, with the two things it does not take as
arguments: the metadata service's address, and refresh times that fit any credential lifetime.

Both are reached through the SDK's private names (hence the narrow pin in pyproject.toml):

- The metadata address is fixed at 100.100.100.200 in a name-mangled attribute. Tests and the
  local stack point it at a local service instead, so they never send a packet to Alibaba's
  address. (The SDK's Tea layer takes a full ``http://host:port`` as the host.)
- The SDK treats credentials as stale 15 minutes before expiry and prefetches after an hour,
  right for ECS's six-hour credentials but not for shorter ones (a local service's, with a
  lifetime of a minute, would be stale on arrival and fetched again on every request). Here
  the margins are the same for long credentials and shrink with the lifetime for short ones.
"""

from __future__ import annotations

import time
from typing import Any

from alibabacloud_credentials.provider import EcsRamRoleCredentialsProvider

# The SDK's own margins, for credentials that live long enough.
STALE_MARGIN_SECONDS = 15 * 60
PREFETCH_AFTER_SECONDS = 60 * 60


class EcsRoleProvider(EcsRamRoleCredentialsProvider):  # type: ignore[misc]
    def __init__(
        self,
        *,
        metadata_url: str,
        role_name: str | None,
        hardened_only: bool,
        http_options: Any,
    ) -> None:
        # No background refresh thread: it would not survive a pre-forking server's fork, and
        # refreshing in the request that finds the credentials due needs none.
        super().__init__(
            role_name=role_name,
            disable_imds_v1=hardened_only,
            http_options=http_options,
            async_update_enabled=False,
        )
        self._EcsRamRoleCredentialsProvider__metadata_service_host = metadata_url.rstrip("/")

    def _get_stale_time(self, expiration: int) -> int:
        now = int(time.time())
        if expiration < 0:
            return now + 60 * 60
        remaining = expiration - now
        return expiration - min(STALE_MARGIN_SECONDS, max(1, remaining // 3))

    def _get_prefetch_time(self, expiration: int) -> int:
        now = int(time.time())
        if expiration < 0:
            return now + 5 * 60
        remaining = expiration - now
        return now + min(PREFETCH_AFTER_SECONDS, max(1, remaining // 2))
