"""Merging an override file over compose.yaml, the way `docker compose -f a -f b` merges.

Mappings merge key by key; `ports` add up; `volumes` merge by their container path; `command`,
`entrypoint` and other scalars or lists are replaced by the override's.
"""

from __future__ import annotations

from typing import Any

# Lists that add up instead of being replaced.
APPENDED = {"ports", "env_file", "profiles", "expose", "cap_add", "cap_drop"}


def mount_target(entry: object) -> object:
    """The container path a volume entry mounts on; `/data/` and `/data` are one path."""
    if isinstance(entry, dict):
        target = entry.get("target")
    elif isinstance(entry, str):
        parts = entry.split(":")
        target = parts[1] if len(parts) > 1 else parts[0]
    else:
        return entry
    return target.rstrip("/") or "/" if isinstance(target, str) else target


def merge_volumes(base: list[Any], override: list[Any]) -> list[Any]:
    replaced = {mount_target(entry) for entry in override}
    return [e for e in base if mount_target(e) not in replaced] + list(override)


def merge(base: Any, override: Any, key: str = "") -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for name, value in override.items():
            merged[name] = merge(base[name], value, str(name)) if name in base else value
        return merged
    if isinstance(base, list) and isinstance(override, list):
        if key == "volumes":
            return merge_volumes(base, override)
        if key in APPENDED:
            return base + [item for item in override if item not in base]
    return override
