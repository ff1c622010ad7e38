"""A created one-off container run to its end, its output streamed as it comes, its exit code
returned: `docker run --rm` through the Engine API (`invoke deploy.exec`).

The container is made with the engine's auto-remove (`auto_remove=True` in its host config), so
the engine removes it when its command ends, whether or not the caller is still connected: a
dropped SSH connection leaves nothing behind once the command has finished (it is not cut in half:
a migration run this way completes). Ctrl-C here removes it at once (forced).

With auto-remove the exit code is gone with the container, so it comes from a wait on `removed`
asked before the start, as the docker CLI does. The engine sends a wait's response headers as
soon as the wait is registered and its body when the condition is met: docker-py's `wait()` reads
both in one call, so the request is made with docker-py's private `_post`, `_url` and
`_raise_for_status` (streamed: it returns after the headers), and its body read after the output
ended. The output is attached before the start too, so a command that ends at once loses nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from stackctl.engine.models import wait_status


def run_to_end(api: Any, container: str, write: Callable[[bytes], None]) -> int:
    """Start the created (auto-removed) container, `write` its stdout and stderr as they come,
    and return its exit code once the engine has removed it. The engine's refusal to start it
    (a command not in the image) is raised, the container removed first."""
    from docker.errors import NotFound
    from docker.utils.socket import frames_iter

    waiting = api._post(  # noqa: SLF001
        api._url("/containers/{0}/wait", container),  # noqa: SLF001
        params={"condition": "removed"},
        stream=True,
        timeout=None,
    )
    output = None
    try:
        api._raise_for_status(waiting)  # noqa: SLF001
        output = api.attach_socket(container, params={"stdout": 1, "stderr": 1, "stream": 1})
        # The attach socket keeps the client's read timeout: a command quiet for longer (an
        # index rebuild) is not a dead connection.
        _raw(output).settimeout(None)
        api.start(container)
        for _stream, data in frames_iter(output, tty=False):
            write(data)
        return wait_status(waiting.json())
    except BaseException:
        with contextlib.suppress(NotFound):
            api.remove_container(container, force=True)
        raise
    finally:
        if output is not None:
            with contextlib.suppress(Exception):
                _raw(output).close()
        waiting.close()


def _raw(connection: Any) -> Any:
    """The socket itself: docker-py hands a SocketIO over a local socket (its `_sock`), a
    paramiko channel over SSH."""
    return getattr(connection, "_sock", connection)
