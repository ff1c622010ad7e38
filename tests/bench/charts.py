"""PNG charts of the cost curves (matplotlib, the `bench` dependency group), one per measure:
a line per side (ours, the peer) through the median of each size, the rounds' min-max as error
bars, sizes on a log axis (5 to 100 services, 100 to 100,000 images)."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path


def draw_curve(
    path: Path,
    title: str,
    size_label: str,
    value_label: str,
    points: Mapping[str, Mapping[int, Sequence[float]]],
) -> Path:
    """Write the chart to `path` (a .png; its folder is made) and return it."""
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    figure, axes = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    try:
        for side, found in points.items():
            sizes = sorted(size for size, values in found.items() if values)
            if not sizes:
                continue
            middles = [statistics.median(found[size]) for size in sizes]
            below = [middle - min(found[size]) for middle, size in zip(middles, sizes, strict=True)]
            above = [max(found[size]) - middle for middle, size in zip(middles, sizes, strict=True)]
            axes.errorbar(sizes, middles, yerr=[below, above], marker="o", capsize=3, label=side)
        axes.set_xscale("log")
        # The measured sizes as the ticks, written as numbers (5, 25, 10,000), not powers of 10.
        axes.set_xticks(sorted({size for found in points.values() for size in found}))
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
        axes.xaxis.set_minor_formatter(NullFormatter())
        axes.set_title(title)
        axes.set_xlabel(size_label)
        axes.set_ylabel(value_label)
        axes.set_ylim(bottom=0)
        axes.grid(True, which="both", alpha=0.3)
        axes.legend()
        figure.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, format="png")
    finally:
        plt.close(figure)
    return path
