"""A fingerprint of a build's inputs, so `up` skips builds whose inputs did not change.

The engine's layer cache would make such a build fast, but not free: sending the context and
walking every step costs a second or more on each `up`. Hashing the same files here costs a few
milliseconds and lets a no-op `up` skip the build entirely.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path


def read_dockerignore(context: Path) -> list[str]:
    path = context / ".dockerignore"
    if not path.is_file():
        return []
    patterns = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            patterns.append(line.lstrip("/").removeprefix("**/"))
    return patterns


def excluded(relative: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore rules, as far as this project's file uses them (no `!` negation)."""
    name = relative.rsplit("/", 1)[-1]
    for pattern in patterns:
        if (
            fnmatch.fnmatchcase(relative, pattern)
            or fnmatch.fnmatchcase(name, pattern)
            or relative.startswith(pattern.rstrip("/") + "/")
        ):
            return True
    return False


def files_digest(context: Path, sources: Sequence[str] | None = None) -> str:
    """One digest of the files a build reads, by path, mode and content.

    `sources` are the paths its Dockerfile copies (glob patterns allowed); None means the whole
    context. Hashing only those keeps an app change from rebuilding the nginx and redis images.
    """
    digest = hashlib.sha256()
    patterns = read_dockerignore(context)
    wanted = sorted(set(sources)) if sources is not None else ["."]
    for source in wanted:
        matches = sorted(context.glob(source)) if source != "." else [context]
        digest.update(f"source {source} {len(matches)}\n".encode())
        for match in matches:
            for relative, path in walk(context, match, patterns):
                digest.update(f"file {relative} {path.stat().st_mode & 0o111}\n".encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def walk(context: Path, start: Path, patterns: list[str]) -> Iterator[tuple[str, Path]]:
    if start.is_file():
        relative = start.relative_to(context).as_posix()
        if not excluded(relative, patterns):
            yield relative, start
        return
    for root, dirs, files in os.walk(start):
        rel_root = os.path.relpath(root, context)
        rel_root = "" if rel_root == "." else rel_root + "/"
        dirs[:] = sorted(d for d in dirs if not excluded(rel_root + d, patterns))
        for name in sorted(files):
            relative = rel_root + name
            if not excluded(relative, patterns):
                yield relative, Path(root, name)


def context_hash(
    files: str, dockerfile: str, buildargs: Mapping[str, str], target: str | None
) -> str:
    """The fingerprint of one build: its context's files digest, Dockerfile, args and target."""
    digest = hashlib.sha256(f"files {files}\ndockerfile {dockerfile} target {target}\n".encode())
    for key in sorted(buildargs):
        digest.update(f"arg {key}={buildargs[key]}\n".encode())
    return digest.hexdigest()
