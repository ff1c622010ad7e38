"""Running a fake's WSGI server in the foreground until SIGTERM or SIGINT."""

from __future__ import annotations

import signal
import threading
from types import FrameType

from werkzeug.serving import BaseWSGIServer


def serve_until_stopped(server: BaseWSGIServer) -> None:
    """Serve until SIGTERM or SIGINT, then close the server."""

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever to return, so it must not run on
        # the thread that is inside serve_forever.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        # How often the loop looks for shutdown(): a stop waits up to this long.
        server.serve_forever(poll_interval=0.05)
    finally:
        server.server_close()
