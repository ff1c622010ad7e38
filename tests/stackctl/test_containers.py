"""The engine's container listing, read once into names the rest of stackctl uses."""

from __future__ import annotations

from stackctl import labels
from stackctl.containers import Container

LISTED = {
    "Id": "c0ffee",
    "Names": ["/aliecs-web-1"],
    "State": "running",
    "Status": "Up 3 minutes (healthy)",
    "Labels": {
        labels.PROJECT: "aliecs",
        labels.SERVICE: "web",
        labels.CONFIG_HASH: "abc123",
    },
    "Ports": [
        {"PrivatePort": 8000, "Type": "tcp"},
        {"IP": "127.0.0.1", "PrivatePort": 80, "PublicPort": 18014, "Type": "tcp"},
    ],
}


def test_a_listed_container_speaks_in_names() -> None:
    container = Container(LISTED)
    assert (container.id, container.name, container.project, container.service) == (
        "c0ffee",
        "aliecs-web-1",
        "aliecs",
        "web",
    )
    assert (container.config_hash, container.status, container.health) == (
        "abc123",
        "running",
        "healthy",
    )


def test_only_published_ports_are_listed() -> None:
    assert Container(LISTED).published_ports == [("127.0.0.1", 18014, 80, "tcp")]


def test_a_container_without_labels_ports_or_healthcheck_reads_as_empty() -> None:
    container = Container({"Id": "1", "Names": ["/x"], "State": "exited", "Status": "Exited (0)"})
    assert (container.service, container.config_hash, container.health) == ("", "", "")
    assert container.published_ports == []


def test_a_starting_health_check_reads_as_starting() -> None:
    # The engine's own wording: "(health: starting)", unlike "(healthy)" and "(unhealthy)".
    for status, health in [
        ("Up 1 second (health: starting)", "starting"),
        ("Up 3 minutes (unhealthy)", "unhealthy"),
        ("Up 3 minutes (healthy)", "healthy"),
    ]:
        assert Container({**LISTED, "Status": status}).health == health
