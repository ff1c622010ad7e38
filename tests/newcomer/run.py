"""The newcomer session: the README's two commands, verbatim, on a pristine Debian 12 container.

A fresh clone of this repository's HEAD (so the checkout's own .venv and .nox stay untouched) is
mounted at the same path in a container from the offline base `stackctl/debian:bookworm` (root
and apt, nothing else), beside the host's Docker socket and on the host's network: the stack that
command 1 starts inside runs on the host's engine, its bind mounts resolve because the path is
the same, and nginx answers on the host's 127.0.0.1:8080. Steps: command 1, GET /main/ through
nginx, command 2, then the README's down command; the stack comes down on failure too.
Everything goes through the Docker SDK: no docker CLI.

The host's pip and uv download caches are shared with the container (what it installs is still
installed afresh, only fewer downloads); `--cold` runs without them, as a first-ever machine.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import docker
from readme_commands import readme_commands

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "stackctl/debian:bookworm"
PROJECT = "aliecs"  # the stack's default project name: what a newcomer gets
WELCOME_URL = "http://127.0.0.1:8080/main/"
WELCOME = "welcome to CI/CD world 🌏"
PROJECT_LABEL = "com.docker.compose.project"
TAIL_LINES = 40
# This machine reaches PyPI through a TLS-inspecting proxy: pip and uv in the container must trust
# the host's CA bundle. A real newcomer does not need it; builds get it from stackctl already.
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
CONTAINER_CA = "/etc/newcomer/host-ca.crt"


class StepFailed(Exception):
    pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the clone (for a post-mortem)")
    parser.add_argument("--cold", action="store_true", help="no shared pip/uv download caches")
    args = parser.parse_args()

    commands = readme_commands(ROOT / "README.md")
    print("newcomer: the README's commands, as a new user runs them:")
    print(f"  1. {commands.setup}")
    print(f"  2. {commands.test}")
    print(f"  then: {commands.down}", flush=True)

    client = docker.from_env(timeout=600)
    refuse_if_taken(client)
    if not client.images.list(name=IMAGE):
        raise SystemExit(f"newcomer: no image {IMAGE}: run `.venv/bin/invoke base` first")

    workdir = Path(tempfile.mkdtemp(prefix="newcomer-"))
    clone = workdir / ROOT.name
    started = time.monotonic()
    container = None
    timings: dict[str, float] = {}
    try:
        clone_head(ROOT, clone)
        container = start_container(client, clone, caches=not args.cold)
        timings["command 1"] = step(client, container, clone, "command 1", commands.setup)
        timings["GET /main/"] = check_welcome()
        timings["command 2"] = step(client, container, clone, "command 2", commands.test)
        timings["down"] = step(client, container, clone, "down", commands.down)
    except StepFailed as failure:
        print(f"\nnewcomer: FAILED: {failure}", file=sys.stderr, flush=True)
        return 1
    finally:
        if container is not None:
            bring_down(client, container, clone, commands.down, ran="down" in timings)
            container.remove(force=True)
        remove_leftovers(client)
        if args.keep:
            print(f"newcomer: clone kept in {clone}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        client.close()
    total = time.monotonic() - started
    report = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in timings.items())
    print(f"\nnewcomer: ok in {total:.0f} s ({report})")
    return 0


def refuse_if_taken(client: docker.DockerClient) -> None:
    """The run starts (and removes) project `aliecs` on port 8080: never someone else's."""
    flt = {"label": f"{PROJECT_LABEL}={PROJECT}"}
    if client.api.containers(all=True, filters=flt):
        raise SystemExit(
            f"newcomer: project {PROJECT} already has containers on this engine; bring that"
            " stack down first (the newcomer run starts and removes its own)"
        )
    with socket.socket() as probe:
        probe.settimeout(1)
        if probe.connect_ex(("127.0.0.1", 8080)) == 0:
            raise SystemExit("newcomer: something already listens on 127.0.0.1:8080: stop it first")


def clone_head(root: Path, clone: Path) -> None:
    """A clone of HEAD, as a newcomer gets it: committed files only."""
    head = git(root, "rev-parse", "HEAD")
    git(root, "clone", "--quiet", "--no-checkout", str(root), str(clone))
    git(clone, "checkout", "--quiet", "--detach", head)
    print(f"newcomer: cloned {head[:12]} into {clone}", flush=True)


def git(where: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(where), *args], check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def start_container(client: docker.DockerClient, clone: Path, *, caches: bool) -> Any:
    volumes = {
        str(clone): {"bind": str(clone), "mode": "rw"},
        "/var/run/docker.sock": {"bind": "/var/run/docker.sock", "mode": "rw"},
    }
    for cache in ("pip", "uv") if caches else ():
        found = Path.home() / ".cache" / cache
        if found.is_dir():
            volumes[str(found)] = {"bind": f"/root/.cache/{cache}", "mode": "rw"}
    environment = {"PYTHONUNBUFFERED": "1"}
    if HOST_CA.is_file():
        volumes[str(HOST_CA)] = {"bind": CONTAINER_CA, "mode": "ro"}
        environment |= {
            "PIP_CERT": CONTAINER_CA,
            "SSL_CERT_FILE": CONTAINER_CA,
            "REQUESTS_CA_BUNDLE": CONTAINER_CA,
            "UV_NATIVE_TLS": "1",
        }
    return client.containers.run(
        IMAGE,
        ["sleep", "infinity"],
        detach=True,
        init=True,
        name=f"newcomer-{os.getpid()}",
        labels={"aliecs.newcomer": "1"},
        network_mode="host",
        volumes=volumes,
        environment=environment,
        working_dir=str(clone),
    )


def step(
    client: docker.DockerClient, container: Any, clone: Path, name: str, command: str
) -> float:
    """Run `command` with bash in the clone; its output streams through, its tail kept."""
    print(f"\n=== newcomer: {name}: {command}", flush=True)
    started = time.monotonic()
    exec_id = client.api.exec_create(container.id, ["bash", "-c", command], workdir=str(clone))
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    pending = ""
    for chunk in client.api.exec_start(exec_id, stream=True):
        text = pending + chunk.decode("utf-8", errors="replace")
        *lines, pending = text.split("\n")
        for line in lines:
            print(f"  | {line}", flush=True)
            tail.append(line)
    if pending:
        print(f"  | {pending}", flush=True)
        tail.append(pending)
    code = client.api.exec_inspect(exec_id)["ExitCode"]
    seconds = time.monotonic() - started
    if code != 0:
        last = "\n".join(f"  | {line}" for line in tail)
        raise StepFailed(
            f"{name} `{command}` exited {code} after {seconds:.0f} s; last lines:\n{last}"
        )
    print(f"=== newcomer: {name}: ok in {seconds:.0f} s", flush=True)
    return seconds


def check_welcome() -> float:
    """nginx answers on the host's loopback (the container shares the host's network)."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(WELCOME_URL, timeout=10) as response:
            body = response.read().decode()
    except OSError as exc:
        raise StepFailed(f"GET {WELCOME_URL}: {exc}") from None
    print(f"\n=== newcomer: GET {WELCOME_URL} -> {body}", flush=True)
    if body != WELCOME:
        raise StepFailed(f"GET {WELCOME_URL} answered {body[:200]!r}, expected {WELCOME!r}")
    return time.monotonic() - started


def bring_down(
    client: docker.DockerClient, container: Any, clone: Path, down: str, *, ran: bool
) -> None:
    """After a failure, the README's down command still runs when command 1 got that far."""
    if ran or not (clone / ".venv" / "bin" / "invoke").exists():
        return
    try:
        step(client, container, clone, "down (after the failure)", down)
    except StepFailed as failure:
        print(f"newcomer: {failure}", file=sys.stderr)


def remove_leftovers(client: docker.DockerClient) -> None:
    """Whatever of project aliecs is left is this run's (refuse_if_taken saw none before)."""
    flt = {"label": f"{PROJECT_LABEL}={PROJECT}"}
    left = client.api.containers(all=True, filters=flt)
    for found in left:
        client.api.remove_container(found["Id"], force=True)
    for network in client.api.networks(filters=flt):
        client.api.remove_network(network["Id"])
    if left:
        print(f"newcomer: removed {len(left)} containers the down command left", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
