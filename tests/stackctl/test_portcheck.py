"""`invoke up`'s port check: a taken host port is refused before anything changes, naming the
port, the service and the holder; the stack's own container holding its port is fine."""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path

import pytest

from stackctl.compose import Project, load_project
from stackctl.stack.portcheck import PortTaken, engine_is_local, refuse_taken_ports
from stackctl.stack.portholders import PortHolder, process_holding

COMPOSE = """
name: shop
services:
  redis:
    image: redis
  web:
    image: app
    ports: ["127.0.0.1:18150:8000"]
  nginx:
    image: nginx
    ports: ["18151:80", "18152:443/udp", "8000"]
    depends_on: [web]
"""


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    return load_project(tmp_path / "compose.yaml", {})


def taken(*ports: int, code: int = errno.EADDRINUSE):  # type: ignore[no-untyped-def]
    probed: list[tuple[str, int, str]] = []

    def probe(host_ip: str, port: int, protocol: str) -> int | None:
        probed.append((host_ip, port, protocol))
        return code if port in ports else None

    probe.probed = probed  # type: ignore[attr-defined]
    return probe


def no_holders() -> dict[tuple[int, str], PortHolder]:
    return {}


def no_process(port: int, protocol: str) -> str | None:
    return None


def test_free_ports_pass_and_each_published_port_is_probed(project: Project) -> None:
    probe = taken()

    refuse_taken_ports(project, {"redis", "web", "nginx"}, no_holders, probe_port=probe)

    assert probe.probed == [  # type: ignore[attr-defined]
        ("127.0.0.1", 18150, "tcp"),
        ("", 18151, "tcp"),
        ("", 18152, "udp"),
    ]


def test_a_port_held_by_a_process_names_port_service_and_process(project: Project) -> None:
    with pytest.raises(PortTaken) as caught:
        refuse_taken_ports(
            project,
            {"web", "nginx"},
            no_holders,
            probe_port=taken(18151),
            find_process=lambda port, protocol: f"process nc (pid 42) on {port}/{protocol}",
        )

    assert str(caught.value) == (
        "host port 0.0.0.0:18151/tcp of service nginx is taken by process nc (pid 42) on"
        " 18151/tcp: stop it or publish another port (services.nginx.ports);"
        " nothing was started or stopped"
    )


def test_an_unseen_process_is_named_with_the_command_that_finds_it(project: Project) -> None:
    with pytest.raises(PortTaken, match=r"taken by another process \(`ss -ltnp 'sport = :18150'`"):
        refuse_taken_ports(
            project, {"web"}, no_holders, probe_port=taken(18150), find_process=no_process
        )


def test_another_projects_container_is_named(project: Project) -> None:
    holders = {(18150, "tcp"): PortHolder("other-web-1", "other", "web")}

    with pytest.raises(PortTaken, match=r"taken by container other-web-1 \(project other, "):
        refuse_taken_ports(project, {"web"}, lambda: holders, probe_port=taken(18150))


def test_this_stacks_own_container_of_the_service_may_hold_its_port(project: Project) -> None:
    holders = {
        (18150, "tcp"): PortHolder("shop-web-1", "shop", "web"),
        (18151, "tcp"): PortHolder("shop-nginx-1", "shop", "nginx"),
    }

    refuse_taken_ports(project, {"web", "nginx"}, lambda: holders, probe_port=taken(18150, 18151))


def test_this_stacks_container_of_another_service_is_refused(project: Project) -> None:
    holders = {(18151, "tcp"): PortHolder("shop-web-1", "shop", "web")}

    with pytest.raises(
        PortTaken, match=r"taken by container shop-web-1 \(this stack's service web\)"
    ):
        refuse_taken_ports(project, {"nginx"}, lambda: holders, probe_port=taken(18151))


def test_only_the_selected_services_are_checked(project: Project) -> None:
    refuse_taken_ports(project, {"redis"}, no_holders, probe_port=taken(18150, 18151))


def test_containers_are_asked_only_when_a_port_is_taken(project: Project) -> None:
    def holders() -> dict[tuple[int, str], PortHolder]:
        raise AssertionError("the engine was asked although every port is free")

    refuse_taken_ports(project, {"web", "nginx"}, holders, probe_port=taken())


def test_an_address_not_on_this_host_is_refused(project: Project) -> None:
    with pytest.raises(PortTaken, match=r"127.0.0.1 is not an address of this host"):
        refuse_taken_ports(
            project, {"web"}, no_holders, probe_port=taken(18150, code=errno.EADDRNOTAVAIL)
        )


def test_an_unknown_probe_error_leaves_it_to_the_engine(project: Project) -> None:
    refuse_taken_ports(project, {"web"}, no_holders, probe_port=taken(18150, code=errno.EACCES))


def test_a_remote_engine_is_asked_for_its_containers_only(project: Project) -> None:
    holders = {(18151, "tcp"): PortHolder("x-1", "x", "proxy")}

    def probe(host_ip: str, port: int, protocol: str) -> int | None:
        raise AssertionError("a port of this machine says nothing about a remote engine")

    with pytest.raises(PortTaken, match="container x-1"):
        refuse_taken_ports(project, {"nginx"}, lambda: holders, local=False, probe_port=probe)


@pytest.mark.parametrize(
    ("docker_host", "local"),
    [
        ("", True),
        ("unix:///var/run/docker.sock", True),
        ("tcp://127.0.0.1:2375", True),
        ("ssh://root@10.0.0.5", False),
        ("tcp://build-host:2376", False),
    ],
)
def test_engine_is_local(docker_host: str, local: bool) -> None:
    assert engine_is_local(docker_host) is local


def test_the_listening_process_is_found_in_proc() -> None:
    if not Path("/proc/net/tcp").is_file():
        pytest.skip("no /proc here (not Linux)")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]

        found = process_holding(port)

    assert found is not None
    assert found.endswith(f"(pid {os.getpid()})")


def test_no_listener_is_none(tmp_path: Path) -> None:
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "tcp").write_text(
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid"
        "  timeout inode\n"
        "   0: 0100007F:4736 00000000:0000 01 00000000:00000000 00:00000000 00000000"
        "     0        0 12345 1\n"
    )

    # 0x4736 is 18230, but the socket is ESTABLISHED (01), not listening.
    assert process_holding(18230, proc=tmp_path) is None
