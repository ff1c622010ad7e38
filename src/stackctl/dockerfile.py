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
