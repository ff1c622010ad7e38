"""How a deploy reaches its hosts, without one: connected side by side, then batch by batch."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from stackctl.deploy import fanout, hosts
from stackctl.deploy.settings import HostAddress, load_deploy_settings
from stackctl.errors import EngineUnreachable


class FakeClient:
    def __init__(self, address: HostAddress) -> None:
        self.address = address
        self.closed = False

    def close(self) -> None:
        self.closed = True


def settings_for(names: str, batch_size: int = 1) -> Any:
    return load_deploy_settings(
        Path("."), environ={"DEPLOY_HOSTS": names, "DEPLOY_BATCH_SIZE": str(batch_size)}
    )


def test_every_host_is_connected_side_by_side_and_closed_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    everyone_in = threading.Barrier(3, timeout=10)  # would time out if connected one by one
    made: list[FakeClient] = []

    def connect(address: HostAddress, settings: Any, *, timeout: float) -> FakeClient:
        everyone_in.wait()
        made.append(FakeClient(address))
        return made[-1]

    monkeypatch.setattr(hosts, "connect_host", connect)
    with fanout.connected(settings_for("a,b,c")) as clients:
        assert [a.host for a in clients] == ["a", "b", "c"]
    assert all(client.closed for client in made)


def test_the_first_host_in_order_that_does_not_answer_is_the_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[FakeClient] = []

    def connect(address: HostAddress, settings: Any, *, timeout: float) -> FakeClient:
        if address.host in ("b", "c"):
            raise EngineUnreachable(f"host {address.host} is down")
        made.append(FakeClient(address))
        return made[-1]

    monkeypatch.setattr(hosts, "connect_host", connect)
    with (
        pytest.raises(EngineUnreachable, match="host b is down"),
        fanout.connected(settings_for("a,b,c")),
    ):
        pass  # never reached
    assert [c.closed for c in made] == [True]


def test_batches_stop_at_the_first_batch_with_a_failure() -> None:
    settings = settings_for("a,b,c,d", batch_size=2)
    clients = {a: FakeClient(a) for a in settings.addresses}
    worked: list[str] = []
    said: list[str] = []

    def work(client: Any, address: HostAddress, say: fanout.Say) -> None:
        worked.append(address.host)
        if address.host in ("c", "d"):
            raise RuntimeError(f"{address.host} failed")

    with pytest.raises(RuntimeError, match=r"^c failed$"):
        fanout.in_batches(settings, clients, work, said.append)
    assert sorted(worked) == ["a", "b", "c", "d"]
    assert said == [
        "batch 1: a:22, b:22",
        "batch 2: c:22, d:22",
        "2 hosts of batch 2 failed; the first:",
    ]


def test_side_by_side_finishes_everything_before_raising_the_first_failure() -> None:
    done: list[int] = []

    def work(item: int) -> None:
        if item == 1:
            raise ValueError("one")
        done.append(item)

    with pytest.raises(ValueError, match="one"):
        fanout.side_by_side([0, 1, 2], work)
    assert sorted(done) == [0, 2]
