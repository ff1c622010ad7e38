"""Swarm services: what stackctl asks of them beyond docker-py's public calls."""

from __future__ import annotations

from typing import Any

from stackctl.engine.models import Service


def request_rollback(api: Any, service: Service) -> None:
    """The engine's own rollback (`POST /services/{id}/update?rollback=previous`): the previous
    spec, with the rollback config.

    docker-py's private `_post_json`, `_url` and `_raise_for_status`: its public
    `update_service` has no `rollback` parameter (docker-py 7.1), and writing the HTTP request
    by hand would re-do its API-version prefix, its auth and its error mapping (APIError,
    NotFound) that those three methods already do. The one place stackctl calls docker-py's
    private methods (ruff's SLF rule is waived for this line only).
    """
    service.reload()
    result = api._post_json(  # noqa: SLF001
        api._url("/services/{0}/update", service.id),  # noqa: SLF001
        data=dict(service.spec_body),
        params={"version": service.version, "rollback": "previous"},
    )
    api._raise_for_status(result)  # noqa: SLF001
