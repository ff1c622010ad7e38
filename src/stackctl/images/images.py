"""Image builds through the Engine API, shown as rich progress, failures raised as one-line errors.

docker-py's `api.build` talks to the classic builder (the Engine API has no BuildKit session), so
Dockerfiles here avoid `RUN --mount`; the CA bundle a build needs arrives as a build arg that only
throwaway builder stages declare.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, ImageNotFound
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from stackctl.engine.logs import LOG_TAIL
from stackctl.engine.models import built_image_id, inspect_image
from stackctl.errors import BaseImageMissing, BuildError
from stackctl.images.dockerfile import BaseImageRef, base_images_of, declared_args

_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

_STEP_RE = re.compile(r"^Step (\d+)/(\d+) : (.*)$")


def base_image_missing(image: str, build_arg: str | None) -> BaseImageMissing:
    fix = "run `invoke base` (no registry needed)"
    if build_arg:
        fix += f" or set {build_arg} to an image you can pull"
    return BaseImageMissing(f'base image "{image}" is not in the engine: {fix}')


def image_present(client: docker.DockerClient, image: str) -> bool:
    try:
        client.api.inspect_image(image)
    except ImageNotFound:
        return False
    return True


def ensure_base_images(
    client: docker.DockerClient,
    refs: Iterable[BaseImageRef],
    *,
    pull_missing: bool,
    say: Callable[[str], None] = lambda _: None,
) -> None:
    for ref in refs:
        if image_present(client, ref.image):
            continue
        if pull_missing:
            say(f"pulling {ref.image}")
            with contextlib.suppress(APIError):
                client.api.pull(ref.image)
            if image_present(client, ref.image):
                continue
        raise base_image_missing(ref.image, ref.build_arg)


@dataclass
class _BuildOutput:
    """What a build stream has said so far: the current step, the log tail and the result."""

    total: int = 0
    step: int = 0
    instruction: str = ""
    cached: int = 0
    image_id: str | None = None
    error: str | None = None
    exit_code: int | None = None
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_TAIL))

    def feed(self, chunk: Mapping[str, Any]) -> bool:
        """Take one decoded stream chunk; True when it started a new step."""
        if "error" in chunk or "errorDetail" in chunk:
            detail = chunk.get("errorDetail") or {}
            error = str(chunk.get("error") or detail.get("message") or "unknown error")
            self.error = _ANSI_RE.sub("", error)
            code = detail.get("code")
            self.exit_code = code if isinstance(code, int) else None
            self.tail.append(self.error)
            return False
        built = built_image_id(chunk)
        if built is not None:
            self.image_id = built
        new_step = False
        text = chunk.get("stream") or chunk.get("status") or ""
        for raw in str(text).splitlines():
            line = _ANSI_RE.sub("", raw).rstrip()
            if not line:
                continue
            self.tail.append(line)
            step = _STEP_RE.match(line)
            if step:
                self.step, self.total = int(step.group(1)), int(step.group(2))
                self.instruction = step.group(3)
                new_step = True
            elif line.strip() == "---> Using cache":
                self.cached += 1
            elif line.startswith("Successfully built ") and self.image_id is None:
                self.image_id = line.split()[-1]
        return new_step

    def failure(self, service: str) -> BuildError:
        where = f" at step {self.step}/{self.total} {_quote(self.instruction)}" if self.step else ""
        reason = _one_line(self.error or "the build stream ended without an image")
        if self.exit_code is not None and self.step:
            reason = f"exit code {self.exit_code}"
            last = self._last_output_line()
            if last:
                reason += f": {_one_line(last)}"
        return BuildError(f"build of {service} failed{where}: {reason}", log_tail=list(self.tail))

    def _last_output_line(self) -> str | None:
        for line in reversed(list(self.tail)[:-1]):
            stripped = line.strip()
            if stripped and not stripped.startswith(("--->", "Step ", "Removing intermediate")):
                return stripped
        return None


def _quote(instruction: str, limit: int = 60) -> str:
    text = " ".join(instruction.split())
    return f'"{text if len(text) <= limit else text[: limit - 3] + "..."}"'


def _one_line(text: str, limit: int = 240) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class BuildBoard:
    """One live rich progress with a row per image build: builds running side by side each keep
    their own row (service, step n/m, the instruction, time); a finished build's row becomes one
    printed line. Used as a context manager around all the builds of one command."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.fields[service]}[/]"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[steps]}"),
            TextColumn("{task.description}", markup=False),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )

    def __enter__(self) -> BuildBoard:
        self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()

    def add(self, service: str, description: str = "waiting") -> TaskID:
        return self._progress.add_task(description, total=None, service=service, steps="")

    def describe(self, row: TaskID, what: str) -> None:
        self._progress.update(row, description=what)

    def starting(self, row: TaskID) -> None:
        self._progress.reset(row, description="sending build context")

    def stepped(self, row: TaskID, output: _BuildOutput) -> None:
        self._progress.update(
            row,
            completed=output.step - 1,
            total=output.total,
            steps=f"step {output.step}/{output.total}",
            description=_quote(output.instruction, 70)[1:-1],
        )

    def finished(self, row: TaskID, line: str | None = None) -> None:
        self._progress.remove_task(row)
        if line is not None:
            self.console.print(line)


def build_image(
    client: docker.DockerClient,
    *,
    context: Path,
    dockerfile: str,
    tag: str,
    buildargs: Mapping[str, str],
    target: str | None,
    labels: Mapping[str, str],
    console: Console,
    service: str,
    pull_missing: bool = True,
    board: BuildBoard | None = None,
    row: TaskID | None = None,
) -> str:
    """Build `tag` from `context/dockerfile`; return the image id or raise BuildError.

    Shown on `board`'s `row` when given (several builds at once), else on a board of its own.
    Build args the Dockerfile does not declare are dropped: the classic builder warns about them
    and there is no reason to send a CA bundle to a build that cannot use it.
    """
    with contextlib.ExitStack() as own:
        shown = board or own.enter_context(BuildBoard(console))
        line = shown.add(service) if row is None else row
        try:
            try:
                text = (context / dockerfile).read_text(encoding="utf-8")
            except OSError as exc:
                raise BuildError(
                    f"build of {service} failed: cannot read {dockerfile}: {exc}"
                ) from None
            args = {k: v for k, v in buildargs.items() if k in declared_args(text)}
            ensure_base_images(
                client,
                base_images_of(text, args, target),
                pull_missing=pull_missing,
                say=lambda what: shown.describe(line, what),
            )
            started = time.monotonic()
            shown.starting(line)
            output = _BuildOutput()
            try:
                stream = client.api.build(
                    path=str(context),
                    dockerfile=dockerfile,
                    tag=tag,
                    buildargs=args,
                    target=target,
                    labels=dict(labels),
                    decode=True,
                    rm=True,
                    forcerm=True,
                )
                for chunk in stream:
                    if output.feed(chunk):
                        shown.stepped(line, output)
            except APIError as exc:
                output.error = str(exc.explanation or exc)
                raise output.failure(service) from None
            if output.error is not None or output.image_id is None:
                raise output.failure(service)
            image_id = inspect_image(client.api, tag).id
        except BaseException:
            shown.finished(line)
            raise
        cached = f", {output.cached} cached" if output.cached else ""
        shown.finished(
            line,
            f"[green]✓[/] {service}: built {tag} ({image_id.removeprefix('sha256:')[:12]}, "
            f"{output.total} steps{cached}) in {time.monotonic() - started:.1f}s",
        )
    return image_id
