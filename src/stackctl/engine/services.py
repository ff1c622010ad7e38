"""Swarm services: what stackctl asks of them beyond docker-py's public calls."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from stackctl.engine.models import Service, ServiceSpec


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


def one_off_job(
    spec: ServiceSpec,
    *,
    name: str,
    labels: Mapping[str, str],
    container_labels: Mapping[str, str],
    command: Sequence[str],
    node_id: str,
) -> ServiceSpec:
    """`spec` (a service's, as the engine answers it) as a job running `command` once on the
    node `node_id` (pure): the same image, environment, secrets, user, working directory,
    mounts and networks; the command after the image's entrypoint (`docker run IMAGE CMD`), no
    health check, no restart, no network alias, no update or rollback config (a job has none).
    `labels` are the job's, `container_labels` added to its container's."""
    template: dict[str, Any] = copy.deepcopy(dict(spec.body["TaskTemplate"]))
    container = template["ContainerSpec"]
    container.pop("Command", None)
    container["Args"] = list(command)
    container["Healthcheck"] = {"Test": ["NONE"]}
    container["Labels"] = {**(container.get("Labels") or {}), **container_labels}
    template["RestartPolicy"] = {"Condition": "none", "MaxAttempts": 0}
    template["Placement"] = {"Constraints": [f"node.id=={node_id}"]}
    template["Networks"] = [{"Target": n["Target"]} for n in template.get("Networks") or []]
    template.pop("ForceUpdate", None)
    return ServiceSpec(
        {
            "Name": name,
            "Labels": dict(labels),
            "TaskTemplate": template,
            "Mode": {"ReplicatedJob": {"MaxConcurrent": 1, "TotalCompletions": 1}},
            "EndpointSpec": {"Mode": "dnsrr"},
        }
    )


def create_job(api: Any, job: ServiceSpec) -> None:
    """Create the service of a job spec (`one_off_job`: no update or rollback config)."""
    body = job.body
    api.create_service(
        task_template=body["TaskTemplate"],
        name=body["Name"],
        labels=body["Labels"],
        mode=body["Mode"],
        endpoint_spec=body["EndpointSpec"],
    )
