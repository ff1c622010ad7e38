"""`invoke test`: pytest in a one-off container of the web test stage, on the stack's network.

The tests run inside the image that ships (plus the test dependencies), next to the stack's own
Redis; the exit code and summary come back to the caller.
"""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Callable, Sequence

from docker.errors import NotFound

from stackctl import labels
from stackctl.buildargs import buildargs_for
from stackctl.converge import first_network, network_name
from stackctl.engine.models import created_id, wait_status
from stackctl.errors import StackError
from stackctl.images import build_image
from stackctl.stack import Stack

TEST_TARGET = "test"
# The app's own suites: the engine, browser and real-OSS ones need what a container lacks.
DEFAULT_TEST_ARGS = ["tests/gallery", "tests/fakeoss", "tests/oss_contract", "-m", "not browser"]
# Redis database 15 of the stack's redis: the tests flush it, the app uses 0.
TEST_REDIS_URL = "redis://redis:6379/15"


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
    """Run pytest in a one-off container beside the stack's redis; return its exit code."""
    if not stack.containers("redis"):
        raise StackError("the stack's redis is not running: run `invoke up` first")
    image = build_test_image(stack, service)
    command = ["pytest", "-p", "no:cacheprovider", *(pytest_args or DEFAULT_TEST_ARGS)]
    stack.console.print(f"[bold]running[/] {shlex.join(command)}")
    api = stack.api
    container = created_id(
        api.create_container(
            image=image,
            command=command,
            environment={"TEST_REDIS_URL": TEST_REDIS_URL},
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
