"""One screen of the services' metrics: request rate, p50/p99 latency, 5xx, queue depth, failed
Redis and OSS calls, thumbnail jobs and nginx's connections, one row per source.

Pure: it reads what scrapes returned (a source's name -> the Prometheus text of the app's
web or worker, or the text of nginx's stub_status) and renders text. Where the text comes from
(an exec in a local container, the same over SSH on a deployed host) is the caller's business,
so `invoke metrics` and a remote summary share all of this. Two scrapes `seconds` apart give
rates and the window's percentiles; one gives totals since each process started.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

# The app's metrics by their names after its namespace (`<namespace>_http_requests_total`, as
# Prometheus' naming conventions have it): stackctl knows no app, so any namespace is read.
REQUESTS = "http_requests_total"
LATENCY_BUCKETS = "http_request_duration_seconds_bucket"
QUEUE_DEPTH = "thumbnail_queue_depth"
JOBS = "thumbnail_jobs_total"
DEPENDENCY_ERRORS = "dependency_errors_total"
NGINX_REQUESTS = "nginx_http_requests_total"
NGINX_ACTIVE = "nginx_connections_active"
_STUB_STATUS = re.compile(
    r"Active connections:\s*(\d+)\s*server accepts handled requests\s*(\d+)\s+(\d+)\s+(\d+)\s*"
    r"Reading:\s*(\d+)\s*Writing:\s*(\d+)\s*Waiting:\s*(\d+)"
)


class MetricsTextError(ValueError):
    """A source's answer is neither Prometheus text nor nginx's stub_status."""


@dataclass(frozen=True)
class Unreachable:
    """A source that gave no metrics, and why (one line)."""

    reason: str


@dataclass(frozen=True)
class Reading:
    """What one scrape of one source says, added up over routes, methods and processes."""

    requests: float | None = None
    server_errors: float | None = None
    # upper bound -> requests at most that slow (cumulative, as Prometheus' buckets)
    latency: Mapping[float, float] = field(default_factory=dict)
    queue_depth: float | None = None
    jobs: Mapping[str, float] = field(default_factory=dict)
    dependency_errors: Mapping[str, float] = field(default_factory=dict)
    active_connections: float | None = None


@dataclass(frozen=True)
class Row:
    source: str
    rate: float | None = None  # requests per second (None: one scrape, or not an HTTP source)
    requests: float | None = None  # in the window (or since start)
    p50: float | None = None  # seconds
    p99: float | None = None
    server_errors: float | None = None
    queue_depth: float | None = None
    jobs: Mapping[str, float] = field(default_factory=dict)
    dependency_errors: Mapping[str, float] = field(default_factory=dict)
    active_connections: float | None = None
    unreachable: str | None = None


def stub_status_text(text: str) -> str:
    """nginx's stub_status as Prometheus text, named as nginx-prometheus-exporter names it."""
    found = _STUB_STATUS.search(text)
    if found is None:
        raise MetricsTextError("not nginx stub_status text")
    active, accepted, handled, requests, reading, writing, waiting = found.groups()
    return (
        f"# TYPE {NGINX_ACTIVE} gauge\n{NGINX_ACTIVE} {active}\n"
        f"# TYPE nginx_connections_accepted counter\nnginx_connections_accepted {accepted}\n"
        f"# TYPE nginx_connections_handled counter\nnginx_connections_handled {handled}\n"
        f"# TYPE nginx_http_requests counter\n{NGINX_REQUESTS} {requests}\n"
        f"# TYPE nginx_connections_reading gauge\nnginx_connections_reading {reading}\n"
        f"# TYPE nginx_connections_writing gauge\nnginx_connections_writing {writing}\n"
        f"# TYPE nginx_connections_waiting gauge\nnginx_connections_waiting {waiting}\n"
    )


def parse(text: str) -> Reading:
    """Read one source's answer. Raises MetricsTextError when it is not metrics text."""
    if text.lstrip().startswith("Active connections:"):
        text = stub_status_text(text)
    samples: list[tuple[str, Mapping[str, str], float]] = []
    try:
        for family in text_string_to_metric_families(text):
            samples.extend((s.name, s.labels, s.value) for s in family.samples)
    except ValueError as exc:
        raise MetricsTextError(f"not Prometheus text: {exc}") from None
    return _reading(samples)


def _without_namespace(name: str) -> str:
    """nginx's names (made from its stub_status here) as they are; an app's without its first
    word, its namespace."""
    if name.startswith("nginx_"):
        return name
    return name.partition("_")[2]


def _reading(samples: Iterable[tuple[str, Mapping[str, str], float]]) -> Reading:
    names: set[str] = set()
    requests = server_errors = queue = active = nginx_requests = 0.0
    latency: dict[float, float] = {}
    jobs: dict[str, float] = {}
    failures: dict[str, float] = {}
    for full_name, labels, value in samples:
        name = _without_namespace(full_name)
        names.add(name)
        if name == REQUESTS:
            requests += value
            if labels.get("status", "").startswith("5"):
                server_errors += value
        elif name == LATENCY_BUCKETS:
            bound = float(labels["le"])
            latency[bound] = latency.get(bound, 0.0) + value
        elif name == QUEUE_DEPTH:
            queue += value
        elif name == JOBS:
            jobs[labels.get("state", "")] = jobs.get(labels.get("state", ""), 0.0) + value
        elif name == DEPENDENCY_ERRORS:
            dependency = labels.get("dependency", "")
            failures[dependency] = failures.get(dependency, 0.0) + value
        elif name == NGINX_REQUESTS:
            nginx_requests += value
        elif name == NGINX_ACTIVE:
            active += value
    if REQUESTS in names:
        http_requests: float | None = requests
    elif NGINX_REQUESTS in names:
        http_requests = nginx_requests
    else:
        http_requests = None
    return Reading(
        requests=http_requests,
        server_errors=server_errors if REQUESTS in names else None,
        latency=latency,
        queue_depth=queue if QUEUE_DEPTH in names else None,
        jobs=jobs,
        dependency_errors=failures,
        active_connections=active if NGINX_ACTIVE in names else None,
    )


def quantile(q: float, buckets: Mapping[float, float]) -> float | None:
    """The q-quantile of a cumulative histogram, as Prometheus' histogram_quantile computes it:
    linear within the bucket that holds it; the highest finite bound if it falls past it."""
    if not buckets:
        return None
    bounds = sorted(buckets)
    count = buckets[bounds[-1]]
    if count <= 0:
        return None
    rank = q * count
    lower, below = 0.0, 0.0
    for bound in bounds:
        within = buckets[bound]
        if within >= rank:
            if math.isinf(bound):
                finite = [b for b in bounds if not math.isinf(b)]
                return finite[-1] if finite else None
            if within == below:
                return bound
            return lower + (bound - lower) * (rank - below) / (within - below)
        lower, below = bound, within
    return None


def _delta(after: float | None, before: float | None) -> float | None:
    """A counter's increase; a counter that went down was reset (its process restarted)."""
    if after is None:
        return None
    if before is None or after < before:
        return after
    return after - before


def _deltas(after: Mapping[str, float], before: Mapping[str, float]) -> dict[str, float]:
    return {key: _delta(value, before.get(key)) or 0.0 for key, value in after.items()}


def _window(after: Reading, before: Reading | None) -> Reading:
    if before is None:
        return after
    latency = after.latency
    if sum(after.latency.values()) >= sum(before.latency.values()):
        latency = {b: v - before.latency.get(b, 0.0) for b, v in after.latency.items()}
    return Reading(
        requests=_delta(after.requests, before.requests),
        server_errors=_delta(after.server_errors, before.server_errors),
        latency=latency,
        queue_depth=after.queue_depth,  # a gauge: its value now
        jobs=_deltas(after.jobs, before.jobs),
        dependency_errors=_deltas(after.dependency_errors, before.dependency_errors),
        active_connections=after.active_connections,
    )


def summarize(
    after: Mapping[str, str | Unreachable],
    before: Mapping[str, str | Unreachable] | None = None,
    seconds: float = 0.0,
) -> list[Row]:
    """One row per source of `after`, over the window since `before` (`seconds` long) when
    given, else over each process's life."""
    rows = []
    for source, answer in after.items():
        if isinstance(answer, Unreachable):
            rows.append(Row(source, unreachable=answer.reason))
            continue
        try:
            now = parse(answer)
        except MetricsTextError as exc:
            rows.append(Row(source, unreachable=str(exc)))
            continue
        earlier = (before or {}).get(source)
        then = None
        if isinstance(earlier, str):
            try:
                then = parse(earlier)
            except MetricsTextError:
                then = None
        window = _window(now, then)
        rate = None
        if then is not None and seconds > 0 and window.requests is not None:
            rate = window.requests / seconds
        rows.append(
            Row(
                source,
                rate=rate,
                requests=window.requests,
                p50=quantile(0.5, window.latency),
                p99=quantile(0.99, window.latency),
                server_errors=window.server_errors,
                queue_depth=window.queue_depth,
                jobs=window.jobs,
                dependency_errors=window.dependency_errors,
                active_connections=window.active_connections,
            )
        )
    return rows


def _number(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def _milliseconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.1f} ms" if value < 10 else f"{value:.0f} s"


def _server_errors(row: Row) -> str:
    if row.server_errors is None:
        return "-"
    if not row.requests:
        return _number(row.server_errors)
    return f"{row.server_errors:,.0f} ({100 * row.server_errors / row.requests:.1f}%)"


def _jobs(row: Row) -> str:
    """The states that moved (web queues jobs, the worker finishes them): "0" if none did."""
    if not row.jobs:
        return "-"
    moved = [f"{state} {n:,.0f}" for state, n in row.jobs.items() if n]
    return " ".join(moved) or "0"


def _failures(row: Row) -> str:
    if not row.dependency_errors:
        return "-"
    return " ".join(f"{name} {n:,.0f}" for name, n in sorted(row.dependency_errors.items()))


HEADER = (
    "SOURCE", "REQ/S", "REQUESTS", "P50", "P99", "5XX", "QUEUE", "CONNS", "JOBS", "FAILED CALLS"
)  # fmt: skip


def render(rows: Iterable[Row], seconds: float = 0.0) -> str:
    """The rows as an aligned table, under a line saying what window they cover."""
    table: list[tuple[str, ...]] = [HEADER]
    for row in rows:
        if row.unreachable is not None:
            table.append((row.source, f"no metrics: {row.unreachable}"))
            continue
        table.append(
            (
                row.source,
                _number(row.rate, 1),
                _number(row.requests),
                _milliseconds(row.p50),
                _milliseconds(row.p99),
                _server_errors(row),
                _number(row.queue_depth),
                _number(row.active_connections),
                _jobs(row),
                _failures(row),
            )
        )
    widths = [max(len(line[i]) for line in table if len(line) > i) for i in range(len(HEADER))]
    lines = []
    for line in table:
        if len(line) == 2:
            lines.append(f"{line[0].ljust(widths[0])}  {line[1]}")
        else:
            lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
    window = f"the last {seconds:.1f} s" if seconds > 0 else "each process's life (one scrape)"
    return f"metrics over {window}\n" + "\n".join(lines) + "\n"
