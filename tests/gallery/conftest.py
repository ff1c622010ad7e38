"""Fixtures the gallery's fault and metrics tests share: bad infrastructure of the test's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from fakeoss.testing import RunningFakeOss
from support.faults import HangingProxy, RedisProcess, hanging_proxy


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """A redis-server of the test's own, which it may freeze, stop or restart."""
    redis = RedisProcess(tmp_path)
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture
def oss_proxy(fakeoss: RunningFakeOss) -> Iterator[HangingProxy]:
    """A proxy in front of the fake OSS that can hang."""
    port = urlsplit(fakeoss.endpoint).port
    assert port is not None
    with hanging_proxy(port) as proxy:
        yield proxy
