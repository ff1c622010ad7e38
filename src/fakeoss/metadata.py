"""A local ECS instance metadata service: the instance's RAM role and its STS credentials.

It answers the paths Alibaba's SDKs read at 100.100.100.200, so an app configured for the ECS
RAM-role mode runs here exactly as on ECS, only with a short, chosen credential lifetime:

    PUT /latest/api/token                                   hardened mode's session token
        (X-aliyun-ecs-metadata-token-ttl-seconds: 1-21600)
    GET /latest/meta-data/ram/security-credentials/         the attached role's name
    GET /latest/meta-data/ram/security-credentials/ROLE     its credentials (JSON)

Like ECS, it hands out the same credentials until they near their expiry (half their lifetime
here), so a client that refreshes ahead of time always gets ones that still hold. The
credentials are issued from the fake OSS account's secret (fakeoss.sts), so fakeoss accepts
them and applies the role's policy. `python -m fakeoss.metadata --help` runs it.
"""

from __future__ import annotations

import argparse
import json
import logging
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from .policy import Policy, PolicyError
from .serving import serve_until_stopped
from .sts import TemporaryCredentials, TokenIssuer

log = logging.getLogger("fakeoss.metadata")

CREDENTIALS_PATH = "/latest/meta-data/ram/security-credentials/"
# Not secrets: the metadata service's session-token path and headers.
TOKEN_PATH = "/latest/api/token"  # noqa: S105
TOKEN_TTL_HEADER = "X-aliyun-ecs-metadata-token-ttl-seconds"  # noqa: S105
TOKEN_HEADER = "X-aliyun-ecs-metadata-token"  # noqa: S105
MAX_TOKEN_TTL = 21600
# ECS's own credentials last six hours; a local stack wants to see them roll.
DEFAULT_LIFETIME = 60.0


@dataclass
class MetadataService:
    """The WSGI app. ``role`` None is an instance with no RAM role attached."""

    issuer: TokenIssuer
    role: str | None
    policy: Policy
    lifetime: float = DEFAULT_LIFETIME
    # True: every request needs a session token (ECS's "enforce hardened mode").
    hardened_only: bool = False
    clock: Callable[[], float] = time.time
    # Every credential handed out, in order (a test counts rotations with it).
    served: list[TemporaryCredentials] = field(default_factory=list)
    _current: TemporaryCredentials | None = None
    _tokens: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _changed: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self._changed = threading.Condition(self._lock)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        response = self._answer(request)
        response.headers["Server"] = "Tengine"
        return response(environ, start_response)

    @property
    def rotations(self) -> int:
        """How many times a client was handed new credentials after its first."""
        with self._lock:
            return max(0, len({c.access_key_id for c in self.served}) - 1)

    def wait_for_rotations(self, count: int, timeout: float) -> bool:
        """Block until ``count`` rotations were served (True) or ``timeout`` passed (False)."""
        with self._changed:
            return self._changed.wait_for(
                lambda: len({c.access_key_id for c in self.served}) - 1 >= count, timeout
            )

    def _answer(self, request: Request) -> Response:
        if request.path == TOKEN_PATH:
            if request.method != "PUT":
                return _text("Method Not Allowed", 405)
            return self._new_token(request)
        if request.method != "GET" or not request.path.startswith(CREDENTIALS_PATH):
            return _text("Not Found", 404)
        refusal = self._check_token(request)
        if refusal is not None:
            return refusal
        name = request.path[len(CREDENTIALS_PATH) :]
        if self.role is None or (name and name != self.role):
            return _text("Not Found", 404)
        if not name:
            return _text(self.role, 200)
        credentials = self._credentials()
        body = {
            "AccessKeyId": credentials.access_key_id,
            "AccessKeySecret": credentials.access_key_secret,
            "Expiration": credentials.expiration_text,
            "SecurityToken": credentials.security_token,
            "LastUpdated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock())),
            "Code": "Success",
        }
        return Response(json.dumps(body), status=200, content_type="text/plain")

    def _new_token(self, request: Request) -> Response:
        ttl = request.headers.get(TOKEN_TTL_HEADER, "")
        if not ttl.isdigit() or not 1 <= int(ttl) <= MAX_TOKEN_TTL:
            return _text(f"{TOKEN_TTL_HEADER} must be 1-{MAX_TOKEN_TTL}", 400)
        token = secrets.token_urlsafe(32)
        with self._lock:
            now = self.clock()
            self._tokens = {t: exp for t, exp in self._tokens.items() if exp > now}
            self._tokens[token] = now + int(ttl)
        return _text(token, 200)

    def _check_token(self, request: Request) -> Response | None:
        token = request.headers.get(TOKEN_HEADER)
        if token is None:
            return _text("Forbidden", 403) if self.hardened_only else None
        with self._lock:
            expiry = self._tokens.get(token)
        if expiry is None or expiry <= self.clock():
            return _text("Unauthorized", 401)
        return None

    def _credentials(self) -> TemporaryCredentials:
        with self._changed:
            now = self.clock()
            current = self._current
            if current is None or current.expiration - now <= self.lifetime / 2:
                current = self.issuer.issue(self.role or "", self.policy, self.lifetime, now)
                self._current = current
            self.served.append(current)
            self._changed.notify_all()
            return current


def _text(body: str, status: int) -> Response:
    return Response(body, status=status, content_type="text/plain")


@dataclass(frozen=True)
class RunningMetadata:
    url: str
    service: MetadataService


@contextmanager
def running_metadata(service: MetadataService) -> Iterator[RunningMetadata]:
    """Serve ``service`` on a free 127.0.0.1 port (a test fixture)."""
    from .testing import serve_wsgi

    with serve_wsgi(service) as server:
        yield RunningMetadata(f"http://127.0.0.1:{server.server_port}", service)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fakeoss.metadata", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8100, help="port to listen on")
    parser.add_argument(
        "--access-key-secret", required=True, help="the fake OSS account's secret (fakeoss's own)"
    )
    parser.add_argument("--role", default=None, help="the attached RAM role (none: no role)")
    parser.add_argument(
        "--policy-file",
        type=Path,
        default=None,
        help="the role's RAM policy (JSON); default: every action on --bucket",
    )
    parser.add_argument("--bucket", default="gallery", help="the bucket the default policy covers")
    parser.add_argument(
        "--lifetime", type=float, default=DEFAULT_LIFETIME, help="seconds each credential lasts"
    )
    parser.add_argument(
        "--hardened-only", action="store_true", help="refuse requests without a session token"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        policy = (
            Policy.parse(args.policy_file.read_text(encoding="utf-8"))
            if args.policy_file
            else Policy.bucket_read_write(args.bucket)
        )
    except (OSError, PolicyError) as exc:
        print(f"fakeoss.metadata: error: --policy-file {args.policy_file}: {exc}", file=sys.stderr)
        return 2
    if args.lifetime < 2:
        print("fakeoss.metadata: error: --lifetime must be at least 2 seconds", file=sys.stderr)
        return 2
    service = MetadataService(
        TokenIssuer(args.access_key_secret),
        args.role,
        policy,
        args.lifetime,
        hardened_only=args.hardened_only,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    try:
        server = make_server(args.host, args.port, service, threaded=True)
    except OSError as exc:
        print(f"fakeoss.metadata: error: {exc}", file=sys.stderr)
        return 2
    log.info(
        "ECS metadata on http://%s:%d (role %s, credentials for %g s)",
        args.host,
        server.server_port,
        args.role or "none",
        args.lifetime,
    )
    serve_until_stopped(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
