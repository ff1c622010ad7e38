"""`extends`: a service built on another service, of this file or of another, merged the way
compose v2 merges it. Relative paths of a service from another folder are made absolute there."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from stackctl.compose.merge import merge
from stackctl.compose.messages import child, show
from stackctl.compose.yamlfile import load_yaml, without_extensions

if TYPE_CHECKING:
    from stackctl.compose.checks import Checks


class Extends:
    """Resolves `extends` for the services of one compose file; errors through its reader."""

    def __init__(self, reader: Checks) -> None:
        self.reader = reader

    def resolved(
        self, services: dict[object, object], name: str, definition: object, path: str
    ) -> object:
        """The service with what it extends merged under it (itself when it extends nothing)."""
        start = ((self.reader.compose_file, name),)
        return self._extended(services, name, definition, path, self.reader.project_dir, start)

    def _extended(
        self,
        services: dict[object, object],
        name: str,
        definition: object,
        path: str,
        base_dir: Path,
        seen: tuple[tuple[Path, str], ...],
    ) -> object:
        """The service with what it `extends` merged under it, as compose v2 merges it.
        Relative paths of a service from another file are made relative to that file."""
        if not isinstance(definition, dict) or definition.get("extends") is None:
            return definition
        extends_path = child(path, "extends")
        extends = definition["extends"]
        if isinstance(extends, str):
            extends = {"service": extends}
        settings = self.reader.known_keys(
            self.reader.mapping(
                extends, extends_path, "a service name or a mapping with service, file"
            ),
            extends_path,
            ("service", "file"),
        )
        if "service" not in settings:
            self.reader.fail(extends_path, 'missing key "service"')
        base_name = self.reader.string(settings["service"], child(extends_path, "service"))
        own = {key: value for key, value in definition.items() if key != "extends"}
        if "file" in settings:
            file_text = self.reader.string(settings["file"], child(extends_path, "file"))
            file = Path(os.path.normpath(base_dir / file_text))
            other_services = self._extended_file_services(file, child(extends_path, "file"))
            other_dir = file.parent
        else:
            file, other_services, other_dir = self.reader.compose_file, services, base_dir
        key = (file, base_name)
        if key in seen:
            chain = " -> ".join(service for _, service in (*seen, key))
            self.reader.fail(extends_path, f"extends cycle: {chain}")
        if base_name not in other_services:
            known = ", ".join(str(service) for service in other_services)
            self.reader.fail(
                child(extends_path, "service"),
                f"no service {show(base_name)} to extend (services: {known})",
            )
        base_path = child("services", base_name) if "file" not in settings else extends_path
        base = self._extended(
            other_services, base_name, other_services[base_name], base_path, other_dir,
            (*seen, key),
        )  # fmt: skip
        base = self.reader.mapping(base, extends_path, "a service mapping")
        if other_dir != self.reader.project_dir:
            base = self._rebased(base, other_dir)
        merged: dict[object, object] = merge(base, own)
        return merged

    def _extended_file_services(self, file: Path, path: str) -> dict[object, object]:
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            self.reader.fail(path, f"cannot read {show(str(file))}: {exc.strerror or exc}")
        document = without_extensions(load_yaml(text, self.reader.shown_path(file)))
        if not isinstance(document, dict) or not isinstance(document.get("services"), dict):
            self.reader.fail(path, f"{show(str(file))} has no services mapping to extend from")
        services = self.reader.interpolated(document["services"], path)
        assert isinstance(services, dict)
        return services

    def _rebased(self, service: dict[object, object], directory: Path) -> dict[object, object]:
        """Relative host paths of a service read from another folder, made absolute."""

        def rebase(text: object) -> object:
            if isinstance(text, str) and not text.startswith(("/", "~")) and text:
                return str(Path(os.path.normpath(directory / text)))
            return text

        rebased = dict(service)
        build = rebased.get("build")
        if isinstance(build, str):
            rebased["build"] = rebase(build)
        elif isinstance(build, dict):
            rebased["build"] = {**build, "context": rebase(build.get("context", "."))}
        env_file = rebased.get("env_file")
        if isinstance(env_file, str):
            rebased["env_file"] = rebase(env_file)
        elif isinstance(env_file, list):
            rebased["env_file"] = [rebase(entry) for entry in env_file]
        volumes = rebased.get("volumes")
        if isinstance(volumes, list):
            rebased["volumes"] = [self._rebased_volume(entry, rebase) for entry in volumes]
        return rebased

    @staticmethod
    def _rebased_volume(entry: object, rebase: Callable[[object], object]) -> object:
        if isinstance(entry, str) and entry.startswith("."):
            source, colon, rest = entry.partition(":")
            return f"{rebase(source)}{colon}{rest}"
        if isinstance(entry, dict) and entry.get("type") == "bind":
            return {**entry, "source": rebase(entry.get("source"))}
        return entry
