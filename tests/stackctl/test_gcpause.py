"""The collector paused while a command makes what lasts until its end, then set aside."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from stackctl.gcpause import made_to_last, paused_gc


@pytest.fixture
def collector() -> Iterator[None]:
    was_on = gc.isenabled()
    yield
    gc.unfreeze()  # give the test process's objects back to the collector
    if was_on:
        gc.enable()


@pytest.mark.usefixtures("collector")
def test_what_is_made_to_last_is_made_without_the_collector_and_then_set_aside() -> None:
    gc.enable()
    frozen_before = gc.get_freeze_count()
    with made_to_last():
        assert not gc.isenabled()
        made = [{"n": number} for number in range(1000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen_before + len(made)


@pytest.mark.usefixtures("collector")
def test_the_collector_stays_off_after_the_block_when_it_was_off_and_on_after_an_error() -> None:
    gc.disable()
    with made_to_last():
        pass
    assert not gc.isenabled()
    gc.enable()
    with pytest.raises(RuntimeError), made_to_last():
        raise RuntimeError("reading compose.yaml failed")
    assert gc.isenabled()
    with paused_gc(), made_to_last():  # nested: the outer one decides
        pass
    assert gc.isenabled()
