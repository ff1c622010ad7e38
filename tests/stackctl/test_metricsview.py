"""The one-screen metrics summary (`invoke metrics`): what it makes of the text scrapes return."""

from __future__ import annotations

import pytest

from stackctl.stack.metricsview import (
    MetricsTextError,
    Unreachable,
    parse,
    quantile,
    render,
    stub_status_text,
    summarize,
)


def web_text(
    *,
    ok: int,
    errors: int = 0,
    fast: int = 0,
    slow: int = 0,
    queue: int | None = None,
    redis_timeouts: int = 0,
) -> str:
    """The gallery's web metrics as gunicorn's master serves them: `fast` requests within
    10 ms, `slow` within 100 ms, over two routes."""
    lines = [
        "# TYPE gallery_http_requests counter",
        f'gallery_http_requests_total{{method="GET",route="/main/",status="200"}} {ok}',
        f'gallery_http_requests_total{{method="POST",route="/api/images",status="503"}} {errors}',
        "# TYPE gallery_http_request_duration_seconds histogram",
    ]
    for route, share in (("/main/", 1.0), ("/api/images", 0.0)):
        for bound, count in (("0.01", fast), ("0.1", fast + slow), ("+Inf", fast + slow)):
            lines.append(
                "gallery_http_request_duration_seconds_bucket"
                f'{{le="{bound}",method="GET",route="{route}"}} {count * share}'
            )
        lines.append(
            f'gallery_http_request_duration_seconds_count{{method="GET",route="{route}"}} '
            f"{(fast + slow) * share}"
        )
    lines += [
        "# TYPE gallery_dependency_errors counter",
        f'gallery_dependency_errors_total{{dependency="redis",kind="timeout"}} {redis_timeouts}',
        'gallery_dependency_errors_total{dependency="oss",kind="timeout"} 0',
    ]
    if queue is not None:
        lines += [
            "# TYPE gallery_thumbnail_queue_depth gauge",
            f'gallery_thumbnail_queue_depth{{queue="celery"}} {queue}',
        ]
    return "\n".join(lines) + "\n"


STUB_STATUS = """Active connections: 3
server accepts handled requests
 16 16 {requests}
Reading: 0 Writing: 1 Waiting: 2
"""


def test_rate_is_the_requests_between_two_scrapes_over_the_seconds_between_them() -> None:
    before = {"web": web_text(ok=100)}
    after = {"web": web_text(ok=600, errors=0)}
    (row,) = summarize(after, before, seconds=5.0)
    assert row.rate == 100.0
    assert row.requests == 500


def test_one_scrape_gives_totals_since_start_and_no_rate() -> None:
    (row,) = summarize({"web": web_text(ok=42)})
    assert row.rate is None
    assert row.requests == 42


def test_percentiles_come_from_the_windows_buckets_only() -> None:
    before = {"web": web_text(ok=0, fast=1000, slow=0)}
    after = {"web": web_text(ok=0, fast=1000, slow=100)}
    (row,) = summarize(after, before, seconds=1.0)
    assert row.p50 == pytest.approx(0.055)
    assert row.p99 == pytest.approx(0.0991)


def test_5xx_are_counted_in_the_window() -> None:
    before = {"web": web_text(ok=90, errors=1)}
    after = {"web": web_text(ok=180, errors=11)}
    (row,) = summarize(after, before, seconds=1.0)
    assert row.server_errors == 10
    assert row.requests == 100


def test_a_counter_that_went_down_was_reset_and_counts_from_zero() -> None:
    before = {"web": web_text(ok=5000)}
    after = {"web": web_text(ok=30)}
    (row,) = summarize(after, before, seconds=1.0)
    assert row.requests == 30


def test_queue_depth_and_failed_calls_are_shown() -> None:
    before = {"web": web_text(ok=1, queue=0, redis_timeouts=2)}
    after = {"web": web_text(ok=1, queue=7, redis_timeouts=5)}
    (row,) = summarize(after, before, seconds=1.0)
    assert row.queue_depth == 7
    assert row.dependency_errors == {"redis": 3, "oss": 0}


def test_nginx_stub_status_gives_a_rate_and_its_connections() -> None:
    before = {"nginx": STUB_STATUS.format(requests=100)}
    after = {"nginx": STUB_STATUS.format(requests=300)}
    (row,) = summarize(after, before, seconds=2.0)
    assert row.rate == 100.0
    assert row.active_connections == 3
    assert row.p99 is None


def test_stub_status_reads_as_nginx_prometheus_exporters_names() -> None:
    text = stub_status_text(STUB_STATUS.format(requests=31))
    reading = parse(text)
    assert "nginx_http_requests_total 31" in text
    assert reading.requests == 31


def test_a_source_without_metrics_is_a_row_that_says_why() -> None:
    rows = summarize({"web-1": Unreachable("connection refused"), "web-2": "<html>oops</html>"})
    assert rows[0].unreachable == "connection refused"
    assert rows[1].unreachable is not None
    assert "no metrics: connection refused" in render(rows)


def jobs_text(done: int, failed: int) -> str:
    return (
        "# TYPE gallery_thumbnail_jobs counter\n"
        'gallery_thumbnail_jobs_total{state="queued"} 0\n'
        f'gallery_thumbnail_jobs_total{{state="done"}} {done}\n'
        f'gallery_thumbnail_jobs_total{{state="failed"}} {failed}\n'
    )


def test_jobs_show_the_states_that_moved_in_the_window() -> None:
    before = {"worker": jobs_text(done=4, failed=1)}
    after = {"worker": jobs_text(done=9, failed=1)}
    (busy,) = summarize(after, before, seconds=1.0)
    (idle,) = summarize(after, after, seconds=1.0)
    assert "done 5" in render([busy]).splitlines()[2]
    assert "failed" not in render([busy]).splitlines()[2]
    assert render([idle]).splitlines()[2].split()[-2:] == ["0", "-"]


def test_text_that_is_not_metrics_is_refused() -> None:
    with pytest.raises(MetricsTextError):
        parse("Active connections: lots")


def test_quantile_past_the_last_finite_bucket_is_that_bound() -> None:
    assert quantile(0.99, {0.1: 0.0, 1.0: 0.0, float("inf"): 10.0}) == 1.0


def test_quantile_of_no_requests_is_unknown() -> None:
    assert quantile(0.5, {0.1: 0.0, float("inf"): 0.0}) is None


def test_the_screen_has_one_line_per_source_under_a_header() -> None:
    before = {"web": web_text(ok=0, fast=0), "nginx": STUB_STATUS.format(requests=0)}
    after = {"web": web_text(ok=50, fast=50), "nginx": STUB_STATUS.format(requests=50)}
    screen = render(summarize(after, before, seconds=5.0), seconds=5.0)
    lines = screen.splitlines()
    assert lines[0] == "metrics over the last 5.0 s"
    assert lines[1].split()[:6] == ["SOURCE", "REQ/S", "REQUESTS", "P50", "P99", "5XX"]
    assert lines[2].split()[:3] == ["web", "10.0", "50"]
    assert lines[3].split()[:3] == ["nginx", "10.0", "50"]
    assert len(lines) == 4
