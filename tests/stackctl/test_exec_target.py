"""Which container `invoke exec` runs in when a service has several replicas."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from stackctl.engine.models import Container
from stackctl.stack.execute import running_container
from stackctl.stack.stack import Stack


def listed(container_id: str, number: int, state: str = "running") -> Container:
    labels = {"com.docker.compose.container-number": str(number)}
    return Container({"Id": container_id, "State": state, "Labels": labels})


def stack_listing(*containers: Container) -> Stack:
    fake: Any = SimpleNamespace(
        project=SimpleNamespace(services={"web": object()}),
        containers=lambda service: list(containers),
    )
    return cast(Stack, fake)


def test_the_lowest_numbered_running_replica_whatever_the_engine_lists_first() -> None:
    # The engine lists newest first: after a recreate, replica 2 can come before replica 1.
    stack = stack_listing(listed("b", 2), listed("c", 3), listed("a", 1))

    assert running_container(stack, "web") == "a"


def test_a_stopped_replica_is_passed_over() -> None:
    stack = stack_listing(listed("a", 1, state="exited"), listed("b", 2))

    assert running_container(stack, "web") == "b"
