"""`invoke build` and the build step of `up`: each service's image, rebuilt only when its inputs
changed. The inputs' fingerprint is kept as a second tag on the image it built."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import docker
from docker.errors import APIError, ImageNotFound
from rich.console import Console

from stackctl import labels
from stackctl.buildargs import buildargs_for
from stackctl.compose import Project
from stackctl.contexthash import context_hash, files_digest
from stackctl.converge import image_name
from stackctl.dockerfile import copied_sources
from stackctl.images import build_image
from stackctl.settings import StackSettings

FINGERPRINT_PREFIX = "inputs-"


def repository_of(tag: str) -> str:
    """`registry:5000/aliecs/web:latest` -> `registry:5000/aliecs/web` (a port is no tag)."""
    return tag.rsplit(":", 1)[0] if ":" in tag.rsplit("/", 1)[-1] else tag


def fingerprint_tag(tag: str, fingerprint: str) -> str:
    """`aliecs/web:latest` built from inputs abc... is also tagged `aliecs/web:inputs-abc...`."""
    return f"{repository_of(tag)}:{FINGERPRINT_PREFIX}{fingerprint[:20]}"


def build_services(
    client: docker.DockerClient,
    project: Project,
    settings: StackSettings,
    console: Console,
    services: Sequence[str],
    *,
    force: bool = False,
) -> dict[str, str]:
    """Build the services' images whose inputs changed; return service -> image id."""
    buildargs = buildargs_for(settings)
    built: dict[tuple[str, ...], str] = {}
    files: dict[tuple[Path, Path], str] = {}
    images: dict[str, str] = {}
    for name in services:
        spec = project.services[name]
        if spec.build is None:
            continue
        args = {**buildargs, **spec.build.args}
        context = spec.build.context
        dockerfile = context / spec.build.dockerfile
        key_files = (context, dockerfile)
        if key_files not in files:
            # Services often share a Dockerfile (web and worker): hash its inputs once.
            sources = copied_sources(dockerfile.read_text(encoding="utf-8"))
            files[key_files] = files_digest(
                context, None if sources is None else [*sources, spec.build.dockerfile]
            )
        fingerprint = context_hash(files[key_files], spec.build.dockerfile, args, spec.build.target)
        tag = image_name(project, spec)
        key = (fingerprint, tag)
        if key in built:
            images[name] = built[key]
            continue
        current = None if force else image_with_fingerprint(client, tag, fingerprint)
        if current is not None:
            images[name] = built[key] = current
            continue
        console.print(f"[bold]building[/] {name} → {tag}")
        images[name] = built[key] = build_image(
            client,
            context=spec.build.context,
            dockerfile=spec.build.dockerfile,
            tag=tag,
            buildargs=args,
            target=spec.build.target,
            labels={labels.PROJECT: project.name},
            console=console,
            service=name,
        )
        mark_built(client, tag, fingerprint)
    return images


def image_with_fingerprint(client: docker.DockerClient, tag: str, fingerprint: str) -> str | None:
    """The image last built from these inputs, if `tag` still points at it."""
    try:
        marked = client.api.inspect_image(fingerprint_tag(tag, fingerprint))
        current = client.api.inspect_image(tag)
    except ImageNotFound:
        return None
    found: str = current["Id"]
    return found if marked["Id"] == found else None


def mark_built(client: docker.DockerClient, tag: str, fingerprint: str) -> None:
    """Tag the image with its inputs' fingerprint, dropping the marks of older builds.

    A tag, not a label: a label is part of the image config, so it would give every build a
    new image id and recreate containers whose image did not really change.
    """
    api = client.api
    repository = repository_of(tag)
    mark = fingerprint_tag(tag, fingerprint)
    for image in api.images(name=repository):
        for old in image.get("RepoTags") or []:
            if old.startswith(f"{repository}:{FINGERPRINT_PREFIX}") and old != mark:
                # force: only this reference goes; a container may still use the image.
                api.remove_image(old, force=True, noprune=True)
    api.tag(tag, repository, mark.rsplit(":", 1)[1])


def remove_superseded_images(client: docker.DockerClient, project: str) -> list[str]:
    """Remove this project's images that a rebuild left without a tag and no container uses.

    Each rebuild moves the service's tag to the new image; the old one stays behind, dangling,
    until something prunes it (54 of them, 4.3 GB, after one day of edits). Only images carrying
    this project's label are touched, and the engine itself refuses to remove one that any
    container (running or stopped) still uses: that one goes on a later `up`.
    """
    api = client.api
    removed: list[str] = []
    dangling = api.images(filters={"dangling": True, "label": f"{labels.PROJECT}={project}"})
    for image in dangling:
        try:
            api.remove_image(image["Id"])
        except (APIError, ImageNotFound):
            continue
        removed.append(image["Id"])
    return removed
