"""Markdown tables of the bench's JSON results (pure: no engine, no network), so the fast tests
can keep them working: the serving-path comparison and the cost curves."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any


def digits_for(value: float) -> int:
    """Decimals that keep about three significant figures: 2900, 18.4, 2.44, 0.149."""
    size = abs(value)
    return 0 if size >= 100 else 1 if size >= 10 else 2 if size >= 1 else 3


def spread(values: Sequence[float]) -> str:
    """`median (min-max)` of a measure over rounds, to about three significant figures."""
    if not values:
        return "–"
    middle = statistics.median(values)
    digits = digits_for(middle)
    if len(values) == 1:
        return f"{middle:.{digits}f}"
    return f"{middle:.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def servers_table(result: Mapping[str, Any]) -> list[str]:
    """bench_servers.py's JSON as one row per candidate and load (path at connections): req/s
    and p99 as `median (min-max)` over the rounds, the medians of p50 and of the web
    container's CPU per request, and the rate against the first candidate (the shipped server)
    on the same load."""
    windows: Mapping[str, Mapping[str, list[Mapping[str, Any]]]] = result["windows"]
    names = list(windows)
    if not names:
        return []
    loads = list(windows[names[0]])
    lines = [
        "| load | server | req/s | p50 (ms) | p99 (ms) | web CPU (ms/request) |"
        f" rate vs {names[0]} | requests over 5 s (all windows) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for load in loads:
        first = statistics.median(float(w["rps"]) for w in windows[names[0]][load])
        for name in names:
            found = windows[name].get(load, [])
            rates = [float(w["rps"]) for w in found]
            p50 = statistics.median(float(w["p50_ms"]) for w in found) if found else 0.0
            ratio = f"{statistics.median(rates) / first:.2f}×" if rates and first else "–"
            # CPU per request of the web container: steadier than the rate on a busy machine.
            web = [
                float(w["cpu_ms_per_request"]["web"])
                for w in found
                if "web" in w.get("cpu_ms_per_request", {})
            ]
            cpu = f"{statistics.median(web):.3f}" if web else "–"
            lines.append(
                f"| {load} | {name} | {spread(rates)} | {p50:.1f} |"
                f" {spread([float(w['p99_ms']) for w in found])} | {cpu} | {ratio} |"
                f" {sum(int(w.get('timeouts', 0)) for w in found)} |"
            )
    return lines


def curve_table(
    measure: str,
    unit: str,
    points: Mapping[str, Mapping[int, Sequence[float]]],
    ratios: bool = True,
) -> list[str]:
    """One cost curve: a row per size, a column per side (`median (min-max)` of its rounds in
    `unit`, or in the side's own name when unit is empty), and with `ratios` the first side's
    median (ours) over each later side's (the peer), as BENCHMARKS.md's ratios read: 0.5 is
    half the peer's time."""
    sides = list(points)
    sizes = sorted({size for found in points.values() for size in found})
    header = f"| {measure} | " + " | ".join(f"{side} ({unit})" if unit else side for side in sides)
    others = sides[1:] if ratios else []
    named = [f"{sides[0]} / {side}" for side in others]
    lines = [
        header + "".join(f" | {name}" for name in named) + " |",
        "|---" * (1 + len(sides) + len(named)) + "|",
    ]
    for size in sizes:
        cells = [spread(points[side].get(size, [])) for side in sides]
        row = f"| {size:,} | " + " | ".join(cells)
        first = points[sides[0]].get(size, [])
        for side in others:
            other = points[side].get(size, [])
            if first and other and statistics.median(other):
                row += f" | {statistics.median(first) / statistics.median(other):.2f}×"
            else:
                row += " | –"
        lines.append(row + " |")
    return lines


def load_line(part: str, before: Sequence[float], after: Sequence[float]) -> str:
    """The load average at a part's start and end, as BENCHMARKS.md writes it."""

    def shown(values: Sequence[float]) -> str:
        return " / ".join(f"{value:.1f}" for value in values)

    return (
        f"{part}: load average {shown(before)} at the start, {shown(after)} at the end"
        " (1/5/15 min)."
    )
