"""Liveness and readiness: /healthz says the process answers, /readyz that its dependencies do."""

from __future__ import annotations

from collections.abc import Callable

import oss2
from flask import Blueprint, Response, jsonify

from gallery.clients import Clients, clients

bp = Blueprint("health", __name__)


def check_redis(found: Clients) -> None:
    # Each probe connects afresh and lets go: an idle pooled socket proves nothing about the
    # path to Redis, and one left open per app is a leak (tests make many apps).
    try:
        found.redis.ping()
    finally:
        found.redis.connection_pool.disconnect()


def check_oss(found: Clients) -> None:
    # Listing one key needs only read access, the least a real OSS key of ours has.
    found.bucket.list_objects(max_keys=1)


CHECKS: dict[str, Callable[[Clients], None]] = {"redis": check_redis, "oss": check_oss}


def describe_failure(exc: Exception) -> str:
    if isinstance(exc, oss2.exceptions.OssError):
        code = getattr(exc, "code", "") or type(exc).__name__
        status = getattr(exc, "status", "")
        return f"OSS answered {status} {code}".strip() if status != -2 else "OSS unreachable"
    return f"{type(exc).__name__}: {exc}"


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    found = clients()
    results: dict[str, dict[str, str]] = {}
    for name, check in CHECKS.items():
        try:
            check(found)
        except Exception as exc:  # every failure is reported, none is raised
            results[name] = {"status": "fail", "error": describe_failure(exc)}
        else:
            results[name] = {"status": "ok"}
    ready = all(result["status"] == "ok" for result in results.values())
    return jsonify(status="ok" if ready else "fail", checks=results), 200 if ready else 503
