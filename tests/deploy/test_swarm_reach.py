"""The end of a Swarm deploy: it waits until every node's proxy resolves and connects to every
running task of the proxied role, and says which node cannot when that never comes."""

from __future__ import annotations

import pytest

from stackctl.deploy.errors import DeployFailed
from stackctl.deploy.swarm.reach import ProxyView, parse_probe, wait_reached
from support.clock import Clock

TASKS = {"10.0.1.5", "10.0.1.6", "10.0.1.7"}


def all_reached(node: str, addresses: set[str] = TASKS) -> ProxyView:
    return ProxyView(node, {a: True for a in addresses})


def test_the_probe_s_lines_are_each_address_and_whether_it_was_reached() -> None:
    view = parse_probe("node-2", "10.0.1.5 reached\n10.0.1.6 unreached\n\nnoise\n")
    assert view.seen == {"10.0.1.5": True, "10.0.1.6": False}
    assert view.missing(TASKS) == ["10.0.1.6", "10.0.1.7"]


def test_every_proxy_reaching_every_task_ends_the_wait_at_once() -> None:
    said: list[str] = []
    clock = Clock()
    wait_reached(
        lambda: (TASKS, [all_reached("node-1"), all_reached("node-2")]),
        role="web",
        port=8000,
        timeout=60,
        say=said.append,
        sleep=clock.sleep,
        clock=clock,
    )
    assert said == ["every proxy (2) reaches the 3 web task(s)"]
    assert clock.now == 0


def test_a_proxy_that_has_not_learnt_a_new_task_yet_is_waited_for() -> None:
    looks = iter(
        [
            (TASKS, [all_reached("node-1"), all_reached("node-2", {"10.0.1.5", "10.0.1.6"})]),
            (
                TASKS,
                [all_reached("node-1"), ProxyView("node-2", {a: a != "10.0.1.7" for a in TASKS})],
            ),
            (TASKS, [all_reached("node-1"), all_reached("node-2")]),
        ]
    )
    clock = Clock()
    said: list[str] = []
    wait_reached(
        lambda: next(looks),
        role="web",
        port=8000,
        timeout=60,
        say=said.append,
        sleep=clock.sleep,
        clock=clock,
    )
    assert clock.now == 2
    assert said == ["every proxy (2) reaches the 3 web task(s) (after 2 s)"]


def test_a_proxy_that_never_reaches_a_task_fails_the_deploy_naming_node_address_and_ports() -> None:
    clock = Clock()
    stuck = ProxyView("node-3", {"10.0.1.5": True, "10.0.1.6": False})
    with pytest.raises(DeployFailed) as failed:
        wait_reached(
            lambda: (TASKS, [all_reached("node-1"), stuck]),
            role="web",
            port=8000,
            timeout=5,
            say=lambda _: None,
            sleep=clock.sleep,
            clock=clock,
        )
    message = str(failed.value)
    assert (
        "proxy on node-3 does not reach web at 10.0.1.6, 10.0.1.7 (port 8000) after 5 s" in message
    )
    assert "UDP 4789" in message
    assert "\n" not in message


def test_no_running_task_with_an_address_is_a_failure_too() -> None:
    clock = Clock()
    with pytest.raises(DeployFailed, match="no running web task"):
        wait_reached(
            lambda: (set(), [ProxyView("node-1", {})]),
            role="web",
            port=8000,
            timeout=3,
            say=lambda _: None,
            sleep=clock.sleep,
            clock=clock,
        )
