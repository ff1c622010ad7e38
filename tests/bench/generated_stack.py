"""A generated stack of N small services for the stack cost curve (pure: it writes text only).

Every service runs the offline base image (`invoke base`'s stackctl/debian:bookworm, nothing to
build or pull) idle under Docker's init, so `docker stop` ends it at once for every tool alike
(a shell's `sleep` as PID 1 would ignore SIGTERM and wait out the 10 s grace). Services come in
tiers of TIER_WIDTH: each one in a tier depends on its counterpart in the tier before
(`service_started`), so a stack of N has N / TIER_WIDTH levels to start in order, as real
stacks have a few, and both tools pay their dependency scheduling.
"""

from __future__ import annotations

from typing import Any

import yaml

BASE_IMAGE = "stackctl/debian:bookworm"
TIER_WIDTH = 10


def service_name(number: int) -> str:
    return f"svc-{number:03d}"


def generated_compose(count: int, image: str = BASE_IMAGE, tier_width: int = TIER_WIDTH) -> str:
    """compose.yaml text (valid for stackctl and compose v2) of `count` idle services."""
    if count < 1:
        raise ValueError(f"a generated stack needs at least 1 service, not {count}")
    if tier_width < 1:
        raise ValueError(f"tier width must be at least 1, not {tier_width}")
    services: dict[str, Any] = {}
    for number in range(count):
        service: dict[str, Any] = {
            "image": image,
            "command": ["sleep", "infinity"],
            "init": True,
        }
        if number >= tier_width:
            before = service_name(number - tier_width)
            service["depends_on"] = {before: {"condition": "service_started"}}
        services[service_name(number)] = service
    return str(yaml.safe_dump({"services": services}, sort_keys=False))
