"""`invoke build` and the build step of `up`: each service's image, rebuilt only when its inputs
changed. The inputs' fingerprint is kept as a second tag on the image it built."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path

import docker
from docker.errors import APIError, ImageNotFound
from rich.console import Console

from stackctl import labels
from stackctl.compose import Project
from stackctl.engine.models import Image, inspect_image
from stackctl.images.buildargs import buildargs_for
from stackctl.images.contexthash import SentPaths, context_hash, files_digest
from stackctl.images.dockerfile import copied_sources
from stackctl.plan.converge import image_name
from stackctl.settings import StackSettings

FINGERPRINT_PREFIX = "inputs-"


def repository_of(tag: str) -> str:
    """`registry:5000/aliecs/web:latest` -> `registry:5000/aliecs/web` (a port is no tag)."""
    return tag.rsplit(":", 1)[0] if ":" in tag.rsplit("/", 1)[-1] else tag


def fingerprint_tag(tag: str, fingerprint: str) -> str:
    """`aliecs/web:latest` built from inputs abc... is also tagged `aliecs/web:inputs-abc...`."""
    return f"{repository_of(tag)}:{FINGERPRINT_PREFIX}{fingerprint[:20]}"


@dataclass(frozen=True, eq=False)  # one job is one build: compared by identity
class _BuildJob:
    """One image to build, for the services (web and worker share one) that run it."""

    services: tuple[str, ...]
    tag: str
    fingerprint: str
    context: Path
    dockerfile: str
    args: Mapping[str, str]
    target: str | None

    @property
    def lane(self) -> tuple[Path, str]:
        """Builds of one Dockerfile run one after another: the second finds the stages they
        share in the cache instead of running them a second time beside the first."""
        return (self.context, self.dockerfile)


def build_services(
    client: docker.DockerClient,
    project: Project,
    settings: StackSettings,
    console: Console,
    services: Sequence[str],
    *,
    force: bool = False,
) -> dict[str, str]:
    """Build the services' images whose inputs changed; return service -> image id.

    Independent images build side by side (at most `settings.build_parallel` at once), each with
    its own progress row; the first failure stops what has not started and is raised once the
    running builds end (their images stay valid for the next run).
    """
    in_file_order = [name for name in project.services if name in services]
    images, jobs = _plan(client, project, settings, in_file_order, force=force)
    if not jobs:
        return images
    # Imported only when something is built: rich's progress display is a tenth of the imports of
    # an `up` that has nothing to build (10 ms, measured with -X importtime).
    from stackctl.images.images import BuildBoard, build_image

    lanes: dict[tuple[Path, str], list[_BuildJob]] = {}
    for job in jobs:
        lanes.setdefault(job.lane, []).append(job)
    failed = threading.Event()
    with BuildBoard(console) as board:
        rows = {job: board.add(job.services[0]) for job in jobs}

        def run_lane(lane: list[_BuildJob]) -> dict[str, str]:
            built: dict[str, str] = {}
            for job in lane:
                if failed.is_set():
                    board.finished(rows[job])
                    continue
                try:
                    image_id = build_image(
                        client,
                        context=job.context,
                        dockerfile=job.dockerfile,
                        tag=job.tag,
                        buildargs=job.args,
                        target=job.target,
                        labels={labels.PROJECT: project.name},
                        console=console,
                        service=job.services[0],
                        board=board,
                        row=rows[job],
                    )
                except BaseException:
                    failed.set()
                    raise
                mark_built(client, job.tag, job.fingerprint)
                built.update(dict.fromkeys(job.services, image_id))
            return built

        workers = max(1, min(settings.build_parallel, len(lanes)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="build") as pool:
            futures = [pool.submit(run_lane, lane) for lane in lanes.values()]
            wait(futures)
    for future in futures:  # every lane has ended: result() raises the first lane's failure
        images.update(future.result())
    return images


def _plan(
    client: docker.DockerClient,
    project: Project,
    settings: StackSettings,
    services: Sequence[str],
    *,
    force: bool,
) -> tuple[dict[str, str], list[_BuildJob]]:
    """service -> image id for the images already built from the current inputs, and the
    builds still needed (one per distinct tag and inputs)."""
    buildargs = buildargs_for(settings)
    digests: dict[tuple[Path, Path, str | None], str] = {}
    sent: dict[Path, SentPaths] = {}
    images: dict[str, str] = {}
    jobs: dict[tuple[str, str], _BuildJob] = {}
    for name in services:
        spec = project.services[name]
        if spec.build is None:
            continue
        args = {**buildargs, **spec.build.args}
        context = spec.build.context
        dockerfile = context / spec.build.dockerfile
        key_files = (context, dockerfile, spec.build.target)
        if key_files not in digests:
            # Services often share a Dockerfile and target (web and worker): hash once.
            sources = copied_sources(dockerfile.read_text(encoding="utf-8"), spec.build.target)
            if context not in sent:
                sent[context] = SentPaths(context)
            digests[key_files] = files_digest(
                context,
                None if sources is None else [*sources, spec.build.dockerfile],
                sent[context].of(spec.build.dockerfile),
            )
        fingerprint = context_hash(
            digests[key_files], spec.build.dockerfile, args, spec.build.target
        )
        tag = image_name(project, spec)
        key = (fingerprint, tag)
        if key in jobs:
            job = jobs[key]
            jobs[key] = replace(job, services=(*job.services, name))
            continue
        current = None if force else image_with_fingerprint(client, tag, fingerprint)
        if current is not None:
            images[name] = current
            continue
        jobs[key] = _BuildJob(
            (name,), tag, fingerprint, context, spec.build.dockerfile, args, spec.build.target
        )
    return images, list(jobs.values())


def image_with_fingerprint(client: docker.DockerClient, tag: str, fingerprint: str) -> str | None:
    """The image last built from these inputs, if `tag` still points at it."""
    try:
        marked = inspect_image(client.api, fingerprint_tag(tag, fingerprint))
        current = inspect_image(client.api, tag)
    except ImageNotFound:
        return None
    return current.id if marked.id == current.id else None


def mark_built(client: docker.DockerClient, tag: str, fingerprint: str) -> None:
    """Tag the image with its inputs' fingerprint, dropping the marks of older builds.

    A tag, not a label: a label is part of the image config, so it would give every build a
    new image id and recreate containers whose image did not really change.
    """
    api = client.api
    repository = repository_of(tag)
    mark = fingerprint_tag(tag, fingerprint)
    for image in map(Image, api.images(name=repository)):
        for old in image.tags:
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
    for image in map(Image, dangling):
        try:
            api.remove_image(image.id)
        except (APIError, ImageNotFound):
            continue
        removed.append(image.id)
    return removed
