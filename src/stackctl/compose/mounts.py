"""What a service mounts: `volumes` (named, anonymous and bind mounts, short "SOURCE:TARGET[:ro]"
or long form) and `secrets` (files under /run/secrets). Each names something declared at the top
level, or a host path."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import TYPE_CHECKING

from stackctl.compose.messages import child, show
from stackctl.compose.toplevel import VOLUME_NAME

if TYPE_CHECKING:
    from stackctl.compose.checks import Checks

# ro/rw are applied; the others are Docker Desktop's file-sharing hints, no-ops on Linux (as in v2).
_MOUNT_OPTIONS = ("ro", "rw", "cached", "delegated", "consistent")


def mount_target_key(target: str) -> str:
    """A container path as the engine compares it: `/data/` and `/data` are one target."""
    return target.rstrip("/") or "/"


class Mounts:
    """Reads a service's `volumes` and `secrets`; errors through its reader."""

    def __init__(
        self, reader: Checks, *, volumes: Collection[str], secrets: Collection[str]
    ) -> None:
        self.reader = reader
        self.declared_volumes = volumes
        self.declared_secrets = secrets

    def mounts(self, value: object, path: str) -> list[dict[str, object]]:
        items = self.reader.sequence(value, path, "a list of volumes")
        mounts: list[dict[str, object]] = []
        targets: dict[str, str] = {}
        for i, item in enumerate(items):
            mount = self._mount(item, child(path, i))
            target = mount_target_key(str(mount["target"]))
            if target in targets:
                self.reader.fail(
                    child(path, i),
                    f"mount target {show(mount['target'])} is already mounted by"
                    f" {targets[target]}: one mount per container path",
                )
            targets[target] = child(path, i)
            mount["target"] = target
            mounts.append(mount)
        return mounts

    def _mount(self, value: object, path: str) -> dict[str, object]:
        if isinstance(value, dict):
            return self._long_mount(value, path)
        if not isinstance(value, str):
            self.reader.expect(
                path, value, 'a volume like "data:/data" or a mapping with type, ...'
            )
        parts = value.split(":")
        if len(parts) == 1:
            return self._checked_mount("volume", "", value, False, path)
        if len(parts) > 3 or not parts[0]:
            self.reader.fail(path, f"invalid volume {show(value)}: expected SOURCE:TARGET[:ro|rw]")
        read_only = False
        if len(parts) == 3:
            for option in parts[2].split(","):
                if option not in _MOUNT_OPTIONS:
                    self.reader.fail(
                        path,
                        f"unsupported volume option {show(option)}:"
                        f" expected {', '.join(_MOUNT_OPTIONS)}",
                    )
            read_only = "ro" in parts[2].split(",")
        source, target = parts[0], parts[1]
        is_bind = source.startswith((".", "/", "~"))
        return self._checked_mount("bind" if is_bind else "volume", source, target, read_only, path)

    def _long_mount(self, value: dict[object, object], path: str) -> dict[str, object]:
        settings = self.reader.known_keys(value, path, ("type", "source", "target", "read_only"))
        for key in ("type", "target"):
            if key not in settings:
                self.reader.fail(path, f'missing key "{key}"')
        mount_type = settings["type"]
        if mount_type not in ("volume", "bind"):
            self.reader.fail(
                child(path, "type"),
                f"unsupported mount type {show(mount_type)}: use volume or bind",
            )
        if settings.get("source") in (None, ""):
            if mount_type == "bind":
                self.reader.fail(path, 'missing key "source": the host path to mount')
            settings["source"] = ""
        source = self.reader.string(settings["source"], child(path, "source"))
        target = self.reader.string(settings["target"], child(path, "target"))
        read_only = settings.get("read_only", False)
        read_only = self.reader.boolean(read_only, child(path, "read_only"))
        return self._checked_mount(str(mount_type), source, target, read_only, path)

    def _checked_mount(
        self, mount_type: str, source: str, target: str, read_only: bool, path: str
    ) -> dict[str, object]:
        if not target.startswith("/"):
            self.reader.fail(
                path, f"invalid mount target {show(target)}: must be an absolute container path"
            )
        if mount_type == "bind":
            source = str(self.reader.project_path(source))
        elif source == "":
            pass  # anonymous: the engine names it
        elif not VOLUME_NAME.match(source):
            self.reader.fail(
                path,
                f"invalid volume name {show(source)}: use letters, digits, _ . -"
                ' (a bind mount source starts with "./", "/" or "~")',
            )
        elif source not in self.declared_volumes:
            self.reader.fail(
                path,
                f"undeclared volume {show(source)}: declare it under the top-level volumes key",
            )
        return {"type": mount_type, "source": source, "target": target, "read_only": read_only}

    def secrets(self, value: object, path: str) -> list[dict[str, object]]:
        items = self.reader.sequence(value, path, "a list of secret names or {source, target, ...}")
        found: list[dict[str, object]] = []
        for i, item in enumerate(items):
            item_path = child(path, i)
            if isinstance(item, str):
                fields: dict[str, object] = {"source": item}
            else:
                settings = self.reader.known_keys(
                    self.reader.mapping(item, item_path, "a secret name or a mapping with source"),
                    item_path,
                    ("source", "target", "uid", "gid", "mode"),
                )
                if "source" not in settings:
                    self.reader.fail(item_path, 'missing key "source"')
                fields = {
                    "source": self.reader.string(settings["source"], child(item_path, "source"))
                }
                for key in ("target", "uid", "gid"):
                    if key in settings:
                        fields[key] = self.reader.text(settings[key], child(item_path, key), key)
                if "mode" in settings:
                    fields["mode"] = self._secret_mode(settings["mode"], child(item_path, "mode"))
            source = str(fields["source"])
            if source not in self.declared_secrets:
                self.reader.fail(
                    item_path,
                    f"undeclared secret {show(source)}: declare it under the top-level secrets key",
                )
            found.append(fields)
        return found

    def _secret_mode(self, value: object, path: str) -> int:
        # As compose v2: a number is the mode (an unquoted 0400 is already octal), a string is
        # read as octal digits.
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0o777:
            return value
        if isinstance(value, str) and re.fullmatch(r"0?[0-7]{3}", value):
            return int(value, 8)
        self.reader.fail(path, f"invalid mode {show(value)}: expected octal digits like 0400")
