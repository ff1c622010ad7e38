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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import certifi
import docker
from docker.errors import APIError, ImageNotFound
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from stackctl.errors import BaseImageMissing, BuildError
from stackctl.settings import StackSettings

LOG_TAIL_LINES = 20
# Below Linux's 128 KiB limit on one environment string, with room for the rest of a RUN.
MAX_PEM_ARG = 100 * 1024

_PEM_RE = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

_STEP_RE = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
_FROM_RE = re.compile(r"^FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?\s*$", re.IGNORECASE)
_ARG_RE = re.compile(r"^ARG\s+(.+)$", re.IGNORECASE)
_VAR_RE = re.compile(r"\$(?:\{(\w+)(?::?-([^}]*))?\}|(\w+))")


def buildargs_for(settings: StackSettings) -> dict[str, str]:
    """Build args from settings. Each matters only where a Dockerfile declares it."""
    args = {
        "PYTHON_BASE_IMAGE": settings.python_base_image,
        "NGINX_BASE_IMAGE": settings.nginx_base_image,
        "REDIS_BASE_IMAGE": settings.redis_base_image,
        "APT_MIRROR": settings.debian_mirror,
    }
    if settings.pip_index_url:
        args["PIP_INDEX_URL"] = settings.pip_index_url
    if settings.build_ca_bundle is not None:
        try:
            bundle = settings.build_ca_bundle.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise BuildError(
                f"BUILD_CA_BUNDLE={settings.build_ca_bundle} is not a readable PEM file: {exc}"
            ) from None
        extra = extra_certificates(bundle)
        if len(extra) > MAX_PEM_ARG:
            raise BuildError(
                f"BUILD_CA_BUNDLE={settings.build_ca_bundle} adds {len(extra) // 1024} KiB of "
                f"certificates to the public roots; a build arg holds at most "
                f"{MAX_PEM_ARG // 1024} KiB: point it at a file with only your proxy's CA"
            )
        if extra:
            args["PIP_CERT_PEM"] = extra
    return args


def extra_certificates(bundle_pem: str) -> str:
    """The certificates of a bundle that the public roots lack (a TLS-inspecting proxy's CA).

    A whole system bundle (about 220 KB) cannot travel: Linux caps one environment string at
    128 KiB (MAX_ARG_STRLEN), so a RUN with it as a build arg fails with "argument list too
    long". The build appends these few to the image's own roots instead.
    """
    # The public roots: Debian's copy of Mozilla's store where there is one. Not certifi's: a
    # machine behind such a proxy often has its CA patched into certifi too, and then the one
    # certificate the build needs would be left out (seen here).
    mozilla = Path("/usr/share/ca-certificates/mozilla")
    public = (
        [crt.read_text("ascii") for crt in mozilla.glob("*.crt")]
        if mozilla.is_dir()
        else [Path(certifi.where()).read_text("ascii")]
    )
    known = {_der_text(c) for text in public for c in _PEM_RE.findall(text)}
    extra = [c for c in _PEM_RE.findall(bundle_pem) if _der_text(c) not in known]
    return "\n".join(dict.fromkeys(extra)) + "\n" if extra else ""


def _der_text(pem: str) -> str:
    return "".join(pem.split("-----")[2].split())


def base_image_missing(image: str, build_arg: str | None) -> BaseImageMissing:
    fix = "run `invoke base` (no registry needed)"
    if build_arg:
        fix += f" or set {build_arg} to an image you can pull"
    return BaseImageMissing(f'base image "{image}" is not in the engine: {fix}')


@dataclass(frozen=True)
class BaseImageRef:
    """An image a Dockerfile builds FROM, and the build arg that names it, if any."""

    image: str
    build_arg: str | None


def base_images_of(
    dockerfile_text: str, buildargs: Mapping[str, str], target: str | None = None
) -> list[BaseImageRef]:
    """The engine images the stages up to `target` build FROM (other stages and scratch excluded).

    The classic builder runs every stage before the target, so all of them count.
    """
    defaults: dict[str, str] = {}
    stages: set[str] = set()
    refs: list[BaseImageRef] = []
    seen_from = False
    for line in _instructions(dockerfile_text):
        arg = _ARG_RE.match(line)
        if arg and not seen_from:
            for declared in arg.group(1).split():
                name, _, default = declared.partition("=")
                defaults[name] = default.strip("\"'")
            continue
        match = _FROM_RE.match(line)
        if not match:
            continue
        seen_from = True
        raw, alias = match.group(1), match.group(2)
        named_by = next((m.group(1) or m.group(3) for m in _VAR_RE.finditer(raw)), None)
        image = _substitute(raw, {**defaults, **buildargs})
        if image.lower() not in stages and image != "scratch":
            ref = BaseImageRef(image, named_by)
            if ref not in refs:
                refs.append(ref)
        if alias:
            stages.add(alias.lower())
            if target is not None and alias.lower() == target.lower():
                break
    return refs


def copied_sources(dockerfile_text: str) -> list[str] | None:
    """The context paths a Dockerfile's COPY and ADD read, or None when that cannot be told
    (a variable, a URL, a JSON form): then the whole context counts."""
    sources: list[str] = []
    for line in _instructions(dockerfile_text):
        words = line.split()
        if words[0].upper() not in ("COPY", "ADD"):
            continue
        flags = [w for w in words[1:] if w.startswith("--")]
        if any(flag.startswith("--from") for flag in flags):
            continue
        paths = [w for w in words[1:] if not w.startswith("--")][:-1]
        if not paths or any(p.startswith("[") or "$" in p or "://" in p for p in paths):
            return None
        sources.extend(p.removeprefix("./").rstrip("/") or "." for p in paths)
    return sources


def declared_args(dockerfile_text: str) -> set[str]:
    names: set[str] = set()
    for line in _instructions(dockerfile_text):
        match = _ARG_RE.match(line)
        if match:
            names.update(d.partition("=")[0] for d in match.group(1).split())
    return names


def _instructions(dockerfile_text: str) -> Iterable[str]:
    current = ""
    for raw in dockerfile_text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        yield (current + stripped).strip()
        current = ""
    if current.strip():
        yield current.strip()


def _substitute(value: str, variables: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        found = variables.get(name, "")
        return found or (match.group(2) or "")

    return _VAR_RE.sub(replace, value)


def image_present(client: docker.DockerClient, image: str) -> bool:
    try:
        client.api.inspect_image(image)
    except ImageNotFound:
        return False
    return True


def ensure_base_images(
    client: docker.DockerClient,
    refs: Iterable[BaseImageRef],
    console: Console,
    *,
    pull_missing: bool,
) -> None:
    for ref in refs:
        if image_present(client, ref.image):
            continue
        if pull_missing:
            with console.status(f"pulling {ref.image}"), contextlib.suppress(APIError):
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
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_TAIL_LINES))

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
        aux = chunk.get("aux")
        if isinstance(aux, dict) and aux.get("ID"):
            self.image_id = str(aux["ID"])
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
) -> str:
    """Build `tag` from `context/dockerfile`; return the image id or raise BuildError.

    Build args the Dockerfile does not declare are dropped: the classic builder warns about them
    and there is no reason to send a CA bundle to a build that cannot use it.
    """
    try:
        text = (context / dockerfile).read_text(encoding="utf-8")
    except OSError as exc:
        raise BuildError(f"build of {service} failed: cannot read {dockerfile}: {exc}") from None
    declared = declared_args(text)
    args = {k: v for k, v in buildargs.items() if k in declared}
    ensure_base_images(
        client, base_images_of(text, args, target), console, pull_missing=pull_missing
    )

    output = _BuildOutput()
    started = time.monotonic()
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.fields[service]}[/]"),
        BarColumn(bar_width=24),
        TextColumn("{task.fields[steps]}"),
        TextColumn("{task.description}", markup=False),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    with progress:
        task = progress.add_task("sending build context", total=None, service=service, steps="")
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
                    progress.update(
                        task,
                        completed=output.step - 1,
                        total=output.total,
                        steps=f"step {output.step}/{output.total}",
                        description=_quote(output.instruction, 70)[1:-1],
                    )
        except APIError as exc:
            output.error = str(exc.explanation or exc)
            raise output.failure(service) from None
    if output.error is not None or output.image_id is None:
        raise output.failure(service)
    image_id = str(client.api.inspect_image(tag)["Id"])
    cached = f", {output.cached} cached" if output.cached else ""
    console.print(
        f"[green]✓[/] {service}: built {tag} ({image_id.removeprefix('sha256:')[:12]}, "
        f"{output.total} steps{cached}) in {time.monotonic() - started:.1f}s"
    )
    return image_id
