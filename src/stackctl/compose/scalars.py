"""A YAML scalar as the string compose v2 makes of it (an environment value, a label, a build
arg, a command argument): Go's fmt.Sprint of the value go-yaml v3 resolved.

So `1e3` is "1000", `1e6` is "1e+06", `010` is "8", `true` is "true", as `docker compose config`
shows them. A pure function: the reader calls it wherever a scalar becomes text.
"""

from __future__ import annotations

import math
from decimal import Decimal


def go_text(value: str | bool | int | float) -> str:
    """`value` formatted as Go's `%v` formats it (floats: strconv's shortest 'g')."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    raise TypeError(f"not a scalar: {value!r}")


def _go_float(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return f"{sign}0"
    # The shortest digits that read back as `value` (Python's repr and Go agree on them).
    _, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    assert isinstance(exponent, int)
    # Where the decimal point falls among the digits, and the exponent of the first one.
    point = len(digit_tuple) + exponent
    first = point - 1
    if first < -4 or first >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if first < 0 else '+'}{abs(first):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"
