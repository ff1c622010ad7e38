"""Compose durations ("1m30s", "5s", "500ms"): Go's time.ParseDuration format, read as seconds."""

from __future__ import annotations

import re

_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    # Go accepts both the micro sign and the Greek mu.
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
_WHOLE = re.compile(rf"(?:{_PART.pattern})+")

EXPECTED = 'expected a number with a unit (h, m, s, ms, us, ns), e.g. "1m30s", "5s", "500ms"'


def parse_duration(text: str) -> float:
    """Seconds in a Go duration string; ValueError says what was expected."""
    text = text.strip()
    if text == "0":
        return 0.0
    if not _WHOLE.fullmatch(text):
        raise ValueError(EXPECTED)
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _PART.findall(text))
