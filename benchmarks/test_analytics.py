"""Benchmarks: dashboard queries over the playback ``events`` table (DuckDB, threads=1)."""

import pytest
from playback import queries

pytestmark = pytest.mark.benchmark(group="analytics")


def test_daily_active_users(benchmark, events_db):
    rows = benchmark(queries.daily_active_users, events_db)
    assert rows


def test_watch_time_by_platform_and_day(benchmark, events_db):
    rows = benchmark(queries.watch_time_by_platform_and_day, events_db)
    assert rows


def test_top_n_media(benchmark, events_db):
    rows = benchmark(queries.top_n_media, events_db, n=10)
    assert 0 < len(rows) <= 10


def test_peak_concurrent_streams(benchmark, events_db):
    rows = benchmark(queries.peak_concurrent_streams, events_db, days=7)
    assert rows and all(r[1] >= 1 for r in rows)


def test_geographic_aggregation(benchmark, events_db):
    rows = benchmark(queries.geographic_aggregation, events_db)
    assert rows


def test_transcode_ratio(benchmark, events_db):
    rows = benchmark(queries.transcode_ratio, events_db)
    assert rows


def test_bitrate_p95_by_platform(benchmark, events_db):
    rows = benchmark(queries.bitrate_p95_by_platform, events_db, days=30)
    assert rows


def test_cohort_retention(benchmark, events_db):
    rows = benchmark(queries.cohort_retention, events_db)
    assert rows
