"""A fingerprint of a build's inputs, so `up` skips builds whose inputs did not change.

The engine's layer cache would make such a build fast, but not free: sending the context and
walking every step costs a second or more on each `up`. Hashing the same files here costs a few
milliseconds and lets a no-op `up` skip the build entirely.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath

from docker.utils.build import PatternMatcher


def read_dockerignore(context: Path) -> list[str]:
    """The context's .dockerignore patterns, read as docker-py's `APIClient.build` reads them
    (stripped lines, no blank or `#` ones) for the matching it does itself."""
    path = context / ".dockerignore"
    if not path.is_file():
        return []
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


class SentPaths:
    """The paths (files and directories, relative, `/`-separated) builds from one context send:
    what docker-py's own `exclude_paths` keeps, which is what `APIClient.build(path=...)` tars.
    Its matching is Docker's (`**`, `!` negation, root-anchored patterns); it keeps the
    .dockerignore, and each build's Dockerfile whatever the patterns say.

    `exclude_paths` is `PatternMatcher(patterns + ["!" + dockerfile]).walk(root)`; that last
    pattern re-includes the Dockerfile alone. The walk, a tenth of a second for this repository
    (docker-py's matching is pure Python), runs once here for all the context's Dockerfiles.
    """

    def __init__(self, context: Path) -> None:
        self.context = context
        self.common = set(PatternMatcher(read_dockerignore(context)).walk(str(context)))

    def of(self, dockerfile: str = "Dockerfile") -> set[str]:
        if not (self.context / dockerfile).is_file():
            return self.common
        return self.common | {os.path.normpath(dockerfile)}


def files_digest(
    context: Path, sources: Sequence[str] | None = None, sent: set[str] | None = None
) -> str:
    """One digest of the files a build reads, by path, mode and content.

    `sources` are the paths its Dockerfile copies (glob patterns allowed); None means the whole
    context. Hashing only those keeps an app change from rebuilding the nginx and redis images.
    Only files the build sends count (`sent`, by default what `SentPaths` finds for a
    Dockerfile named Dockerfile): an ignored file changes nothing.
    """
    digest = hashlib.sha256()
    if sent is None:
        sent = SentPaths(context).of()
    # The directories holding a sent path: a walk descends only into those.
    holding = {parent.as_posix() for path in sent for parent in PurePosixPath(path).parents}
    wanted = sorted(set(sources)) if sources is not None else ["."]
    for source in wanted:
        matches = sorted(context.glob(source)) if source != "." else [context]
        digest.update(f"source {source} {len(matches)}\n".encode())
        for match in matches:
            for relative, path in walk(context, match, sent, holding):
                digest.update(f"file {relative} {path.stat().st_mode & 0o111}\n".encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def walk(
    context: Path, start: Path, sent: set[str], holding: set[str]
) -> Iterator[tuple[str, Path]]:
    """The sent files under `start`, directory by directory, each one's files by name."""
    if start.is_file():
        relative = start.relative_to(context).as_posix()
        if relative in sent:
            yield relative, start
        return
    for root, dirs, files in os.walk(start):
        rel_root = os.path.relpath(root, context)
        rel_root = "" if rel_root == "." else rel_root + "/"
        dirs[:] = sorted(d for d in dirs if rel_root + d in holding)
        for name in sorted(files):
            relative = rel_root + name
            if relative in sent:
                yield relative, Path(root, name)


def context_hash(
    files: str, dockerfile: str, buildargs: Mapping[str, str], target: str | None
) -> str:
    """The fingerprint of one build: its context's files digest, Dockerfile, args and target."""
    digest = hashlib.sha256(f"files {files}\ndockerfile {dockerfile} target {target}\n".encode())
    for key in sorted(buildargs):
        digest.update(f"arg {key}={buildargs[key]}\n".encode())
    return digest.hexdigest()
