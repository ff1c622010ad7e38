"""`invoke deploy.metrics`: `invoke metrics`' one screen (rate, p50/p99, 5xx, queue depth,
failures) from every deployed host, each row named `host container`. The scrape is an exec in each
container through its host's engine (`metricsscrape`): no metrics port leaves a host."""

from __future__ import annotations

from collections.abc import Mapping

from stackctl.stack.metricsscrape import SCRAPES, Target, scrape_all, two_scrapes
from stackctl.stack.metricsview import render, summarize


def screen(targets: Mapping[str, Target], seconds: float) -> str:
    """The rendered summary: over `seconds` between two scrapes, or (0) each process's life."""
    if seconds:
        before, after, waited = two_scrapes(targets, seconds)
        return render(summarize(after, before, waited), waited)
    return render(summarize(scrape_all(targets)))


def scraped_services(services: list[str]) -> list[str]:
    """Those of a deploy's services (roles, proxy) that serve metrics."""
    return [s for s in services if s in SCRAPES]
