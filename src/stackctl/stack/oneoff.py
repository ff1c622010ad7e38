"""`invoke test`: pytest in a one-off container of a service's test stage, on the stack's network.

The tests run inside the image that ships (plus the test dependencies), next to the stack's own
services; the exit code and summary come back to the caller. Which suites, which environment and
which services must run come from compose.yaml's `x-test` block (stackctl knows no app's tests):

    x-test:
      args: [-m, not browser]               # pytest's arguments when the task is given none
      environment: {TEST_REDIS_URL: ...}    # for the test container only
      needs: [redis]                        # services that must be running first
"""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from docker.errors import NotFound

from stackctl import labels
from stackctl.compose.reader import show
from stackctl.compose.yamlfile import read_yaml_file
from stackctl.engine.models import created_id, wait_status
from stackctl.errors import ComposeError, StackError
from stackctl.images.buildargs import buildargs_for
from stackctl.images.images import build_image
from stackctl.plan.converge import first_network, network_name
from stackctl.stack.stack import Stack

TEST_TARGET = "test"
BLOCK = "x-test"


@dataclass(frozen=True)
class TestSetup:
    """compose.yaml's `x-test` block."""

    __test__ = False  # not a pytest class

    args: tuple[str, ...] = ()
    environment: dict[str, str] = field(default_factory=dict)
    needs: tuple[str, ...] = ()


def load_test_setup(compose_file: Path) -> TestSetup:
    """The `x-test` block of the compose file (empty without one); a one-line error naming the
    key for a malformed one."""
    document = read_yaml_file(compose_file, compose_file.name)
    block = document.get(BLOCK) if isinstance(document, dict) else None
    if block is None:
        return TestSetup()

    def fail(path: str, message: str) -> ComposeError:
        return ComposeError(f"{compose_file.name}: {path}: {message}")

    if not isinstance(block, dict):
        raise fail(BLOCK, f"expected a mapping, got {show(block)}")
    for key in block:
        if key not in ("args", "environment", "needs"):
            raise fail(f"{BLOCK}.{key}", "unsupported key (supported: args, environment, needs)")

    def words(key: str) -> tuple[str, ...]:
        value = block.get(key) or []
        if not isinstance(value, list) or not all(isinstance(w, str) for w in value):
            raise fail(f"{BLOCK}.{key}", f"expected a list of strings, got {show(value)}")
        return tuple(value)

    environment = block.get("environment") or {}
    if not isinstance(environment, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in environment.items()
    ):
        shown = show(environment)
        raise fail(f"{BLOCK}.environment", f"expected a mapping of strings, got {shown}")
    return TestSetup(words("args"), dict(environment), words("needs"))


def build_test_image(stack: Stack, service: str = "web") -> str:
    spec = stack.project.services.get(service)
    if spec is None or spec.build is None:
        raise StackError(f"service {service} has no build section: `invoke test` needs one")
    tag = f"{stack.project.name}/{service}-test:latest"
    build_image(
        stack.client,
        context=spec.build.context,
        dockerfile=spec.build.dockerfile,
        tag=tag,
        buildargs={**buildargs_for(stack.settings), **spec.build.args},
        target=TEST_TARGET,
        labels={labels.PROJECT: stack.project.name},
        console=stack.console,
        service=f"{service} (test stage)",
    )
    return tag


def run_tests(
    stack: Stack,
    pytest_args: Sequence[str],
    *,
    write: Callable[[str], None],
    service: str = "web",
) -> int:
    """Run pytest in a one-off container beside the stack's services; return its exit code."""
    setup = load_test_setup(stack.project.compose_file)
    for needed in setup.needs:
        if not stack.containers(needed):
            raise StackError(f"the stack's {needed} is not running: run `invoke up` first")
    image = build_test_image(stack, service)
    command = ["pytest", "-p", "no:cacheprovider", *(pytest_args or setup.args)]
    stack.console.print(f"[bold]running[/] {shlex.join(command)}")
    api = stack.api
    container = created_id(
        api.create_container(
            image=image,
            command=command,
            environment=setup.environment,
            labels={
                labels.PROJECT: stack.project.name,
                labels.SERVICE: f"{service}-test",
                labels.ONEOFF: "True",
            },
            host_config=api.create_host_config(
                network_mode=network_name(stack.project, first_network(stack.project, service)),
                init=True,
            ),
        )
    )
    try:
        api.start(container)
        for chunk in api.logs(container, stream=True, follow=True):
            write(chunk.decode("utf-8", "replace"))
        return wait_status(api.wait(container))
    finally:
        with contextlib.suppress(NotFound):
            api.remove_container(container, force=True)
