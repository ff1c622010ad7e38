"""What a Dockerfile says, read as text: the images it builds FROM, the args it declares, the
context paths it copies. No engine involved."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_FROM_RE = re.compile(r"^FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?\s*$", re.IGNORECASE)
_ARG_RE = re.compile(r"^ARG\s+(.+)$", re.IGNORECASE)
_VAR_RE = re.compile(r"\$(?:\{(\w+)(?::?-([^}]*))?\}|(\w+))")


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


@dataclass
class _Stage:
    """One FROM section: the earlier stages it reads (FROM one, COPY --from) and the context
    paths its COPY and ADD read (None: cannot be told)."""

    name: str
    reads: list[str]
    sources: list[str] | None


def copied_sources(dockerfile_text: str, target: str | None = None) -> list[str] | None:
    """The context paths the image of `target` (default: the last stage) is made from: the COPY
    and ADD sources of that stage and of the stages it reads through FROM or COPY --from. None
    when that cannot be told (a variable, a URL, a JSON form): then the whole context counts.

    The classic builder also runs the stages before the target that it does not read, but their
    files cannot change the target's image: a change there needs no new build of this one.
    """
    stages = _stages(dockerfile_text)
    if not stages:
        return []
    # `--from=0` names a stage by its index, whatever its alias.
    by_name = {str(i): stage for i, stage in enumerate(stages)}
    by_name.update((stage.name, stage) for stage in stages)
    wanted = stages[-1] if target is None else by_name.get(target.lower())
    if wanted is None:  # the engine refuses an unknown target; count everything meanwhile
        wanted_names = [stage.name for stage in stages]
    else:
        wanted_names = []
        pending = [wanted.name]
        while pending:
            name = pending.pop()
            stage = by_name.get(name)
            if stage is None or stage.name in wanted_names:
                continue  # an image, not a stage of this file, or one counted already
            wanted_names.append(stage.name)
            pending.extend(stage.reads)
    sources: list[str] = []
    for stage in stages:
        if stage.name not in wanted_names:
            continue
        if stage.sources is None:
            return None
        sources.extend(s for s in stage.sources if s not in sources)
    return sources


def _stages(dockerfile_text: str) -> list[_Stage]:
    stages: list[_Stage] = []
    for line in _instructions(dockerfile_text):
        match = _FROM_RE.match(line)
        if match:
            name = (match.group(2) or str(len(stages))).lower()
            stages.append(_Stage(name, [match.group(1).lower()], []))
            continue
        words = line.split()
        if not stages or words[0].upper() not in ("COPY", "ADD"):
            continue
        stage = stages[-1]
        flags = [w for w in words[1:] if w.startswith("--")]
        source_stage = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
        if source_stage is not None:
            stage.reads.append(source_stage.lower())
            continue
        paths = [w for w in words[1:] if not w.startswith("--")][:-1]
        if stage.sources is None:
            continue
        if not paths or any(p.startswith("[") or "$" in p or "://" in p for p in paths):
            stage.sources = None
            continue
        stage.sources.extend(p.removeprefix("./").rstrip("/") or "." for p in paths)
    return stages


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
