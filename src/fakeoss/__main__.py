"""``python -m fakeoss``: serve the fake OSS API until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

from .disk import DataFolderError
from .errors import OssError
from .server import make_app
from .serving import serve_until_stopped

log = logging.getLogger("fakeoss")


class _OneLineLog(WSGIRequestHandler):
    """One line per request: method, path and status, never the query string,
    which can carry a signed URL's signature."""

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        path = self.path.split("?", 1)[0]
        log.info("%s %s %s %s", self.address_string(), self.command, path, code)


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        # One line and a non-zero exit, rather than argparse's usage block.
        self.exit(2, f"fakeoss: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    """The command line (buckets not made by --bucket or PutBucket are NoSuchBucket)."""
    parser = _ArgumentParser(prog="python -m fakeoss", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=9000, help="port to listen on")
    parser.add_argument("--access-key-id", required=True)
    parser.add_argument("--access-key-secret", required=True)
    parser.add_argument(
        "--bucket", action="append", default=[], metavar="NAME", help="create at start"
    )
    parser.add_argument(
        "--create-buckets-on-demand",
        dest="create_buckets_on_demand",
        action="store_true",
        help="create a missing bucket on first use (OSS answers NoSuchBucket; off by default)",
    )
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("FAKEOSS_DATA_DIR", ""),
        metavar="PATH",
        help="keep buckets in this folder across restarts (default $FAKEOSS_DATA_DIR; "
        "empty: in memory only)",
    )
    # Kept for scripts written when on-demand creation was the default.
    parser.add_argument(
        "--no-create-buckets-on-demand",
        dest="create_buckets_on_demand",
        action="store_false",
        help=argparse.SUPPRESS,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not 0 <= args.port <= 65535:
        print(f"fakeoss: error: port {args.port} is out of range", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    try:
        app = make_app(
            args.access_key_id,
            args.access_key_secret,
            buckets=args.bucket,
            create_buckets_on_demand=args.create_buckets_on_demand,
            data_dir=Path(args.data_dir) if args.data_dir else None,
        )
        server = make_server(args.host, args.port, app, threaded=True, request_handler=_OneLineLog)
    except (OssError, OSError, DataFolderError) as error:
        print(f"fakeoss: error: {error}", file=sys.stderr)
        return 2
    log.info("fakeoss listening on http://%s:%d", args.host, server.server_port)
    serve_until_stopped(server)
    log.info("fakeoss stopped")
    return 0


if __name__ == "__main__":
    status = main()
    # Leave without the interpreter's teardown: freeing moto and botocore's models took 0.1-0.2 s
    # of every stop (measured), and nothing is left to write but the log.
    logging.shutdown()
    sys.stdout.flush()
    os._exit(status)
