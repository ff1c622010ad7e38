"""A service's `build`: a local context folder and its Dockerfile (checked to be there), args and
target. A remote context (git, URL) is refused: stackctl builds what is on disk."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from stackctl.compose.environment import resolved
from stackctl.compose.messages import child, show

if TYPE_CHECKING:
    from stackctl.compose.checks import Checks

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_GIT_CONTEXT = re.compile(r"^(?:git@|git://|github\.com/|https?://.*\.git(?:[#?].*)?$)")


class Build:
    """Reads `build`; errors through its reader."""

    def __init__(self, reader: Checks) -> None:
        self.reader = reader

    def read(self, value: object, path: str) -> dict[str, object]:
        settings: dict[str, object]
        if isinstance(value, str):
            settings, context_path = {"context": value}, path
        elif isinstance(value, dict):
            settings = self.reader.known_keys(
                value, path, ("context", "dockerfile", "args", "target")
            )
            context_path = child(path, "context")
        else:
            self.reader.expect(
                path, value, "a context path or a mapping with context, dockerfile, ..."
            )
        context_text = self.reader.string(settings.get("context", "."), context_path)
        if _GIT_CONTEXT.match(context_text) or _URL.match(context_text):
            remote = "a git repository" if _GIT_CONTEXT.match(context_text) else "a URL"
            self.reader.fail(
                context_path,
                f"build context from {remote} {show(context_text)} is not supported:"
                " fetch it and give the local folder",
            )
        context = self.reader.project_path(context_text)
        if not context.is_dir():
            self.reader.fail(
                context_path,
                f"build context directory not found {show(context_text)} ({context}):"
                " create it or fix the path",
            )
        build: dict[str, object] = {"context": context}
        dockerfile_path = child(path, "dockerfile") if "dockerfile" in settings else path
        dockerfile = self.reader.string(settings.get("dockerfile", "Dockerfile"), dockerfile_path)
        if not (context / dockerfile).is_file():
            self.reader.fail(
                dockerfile_path,
                f"Dockerfile not found {show(dockerfile)} in build context {context}",
            )
        build["dockerfile"] = dockerfile
        if settings.get("args") is not None:
            build["args"] = resolved(
                self.reader.key_values(settings["args"], child(path, "args")), self.reader.variables
            )
        if settings.get("target") is not None:
            build["target"] = self.reader.string(settings["target"], child(path, "target"))
        return build
