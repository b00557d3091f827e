"""Dashboard queries over the ``events`` table (DuckDB).

Every query is a named function ``f(con, ...) -> list[tuple]`` with a
deterministic ``ORDER BY`` so results can be compared across runs and against
independent reference implementations (see ``tests/test_workload.py``).
"""

from __future__ import annotations

import duckdb

__all__ = [
    "QUERIES",
    "bitrate_p95_by_platform",
    "cohort_retention",
    "connect",
    "daily_active_users",
    "geographic_aggregation",
    "peak_concurrent_streams",
    "top_n_media",
    "transcode_ratio",
    "watch_time_by_platform_and_day",
]


def connect(database: str = ":memory:", *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB connection configured for benchmarking.

    ``threads=1``: the CI runners are 2-core shared boxes; letting DuckDB fan a
    query out over all cores makes timings depend on whatever else is running
    (noisy neighbours, the pytest process itself, the sync server), which
    swamps the regressions we are trying to detect.  Single-threaded execution
    gives stable, comparable timings run-to-run.

    ``async_threads=0``: DuckDB starts 8 asynchronous I/O threads per
    database otherwise.  The suite's database is read whole by its fixture
    before any measured call (``generator.warm_events``), so there is no I/O
    for them to overlap, but their start-up touches the allocator at moments that depend
    on the machine's timing, so the heap a query starts from differs between
    processes and so does its instruction count (a loop of small queries:
    146.7-149.7 M instructions with them, within 0.004% without).

    ``read_only``: the benchmarks attach the workload's database file that
    the first process built (``generator.ensure_events_database``).
    """
    return duckdb.connect(database, read_only=read_only, config={"threads": 1, "async_threads": 0})


def _rows(con, sql: str, params=None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def daily_active_users(con) -> list[tuple]:
    """(day DATE, distinct users with a play started that day)."""
    return _rows(
        con,
        """
        SELECT CAST(started_at AS DATE) AS day, COUNT(DISTINCT user_id) AS dau
        FROM events
        GROUP BY day
        ORDER BY day
    """,
    )


def watch_time_by_platform_and_day(con) -> list[tuple]:
    """(day, platform, plays, total watch hours) - watch time = duration_s."""
    return _rows(
        con,
        """
        SELECT CAST(started_at AS DATE) AS day, platform,
               COUNT(*) AS plays,
               SUM(duration_s) / 3600.0 AS watch_hours
        FROM events
        GROUP BY day, platform
        ORDER BY day, platform
    """,
    )


def top_n_media(con, n: int = 10) -> list[tuple]:
    """(media_id, media_type, plays, watch hours) for the n most played titles.

    Ties on play count are broken by ``media_id``.  (A per-title distinct-user
    count was dropped: COUNT(DISTINCT) over ~50k groups tripled the cost.)
    """
    return _rows(
        con,
        """
        SELECT media_id, any_value(media_type) AS media_type,
               COUNT(*) AS plays,
               SUM(duration_s) / 3600.0 AS watch_hours
        FROM events
        GROUP BY media_id
        ORDER BY plays DESC, media_id
        LIMIT ?
    """,
        [int(n)],
    )


def peak_concurrent_streams(con, days: int = 7) -> list[tuple]:
    """(day, peak concurrent streams, first time the peak was reached) for the
    last ``days`` calendar days of data (the dashboard's "last week" panel).

    Classic sweep: each play contributes +1 at ``started_at`` and -1 at
    ``stopped_at``; a running SUM window over the time-ordered deltas gives the
    concurrency.  At equal timestamps stops are applied before starts
    (half-open intervals ``[started_at, stopped_at)``).  Plays that started
    before the window but are still running are counted from the window start.

    Restricting to a window keeps this at ~25 ms for 1M events; a sweep over
    the full 90 days sorts 2M rows and takes ~300 ms single-threaded.
    """
    return _rows(
        con,
        """
        WITH bounds AS (
            SELECT date_trunc('day', MAX(started_at)) - to_days(? - 1) AS lo,
                   date_trunc('day', MAX(started_at)) + INTERVAL 1 DAY AS hi
            FROM events
        ),
        live AS (
            SELECT greatest(started_at, lo) AS started_at, stopped_at
            FROM events, bounds
            WHERE stopped_at > lo
        ),
        deltas AS (
            SELECT started_at AS ts, 1 AS delta FROM live
            UNION ALL
            SELECT stopped_at AS ts, -1 AS delta FROM live
        ),
        running AS (
            SELECT ts, SUM(delta) OVER (ORDER BY ts, delta
                                        ROWS UNBOUNDED PRECEDING) AS concurrent
            FROM deltas
        )
        SELECT CAST(ts AS DATE) AS day,
               MAX(concurrent) AS peak,
               arg_min(ts, (-concurrent, ts)) AS peak_at
        FROM running, bounds
        WHERE ts < hi
        GROUP BY day
        ORDER BY day
    """,
        [int(days)],
    )


def geographic_aggregation(con) -> list[tuple]:
    """(country, city, plays, avg lat, avg lon, watch hours)."""
    return _rows(
        con,
        """
        SELECT country, city,
               COUNT(*) AS plays,
               AVG(lat) AS avg_lat, AVG(lon) AS avg_lon,
               SUM(duration_s) / 3600.0 AS watch_hours
        FROM events
        GROUP BY country, city
        ORDER BY plays DESC, country, city
    """,
    )


def transcode_ratio(con) -> list[tuple]:
    """(platform, plays, direct-play ratio, copy ratio, transcode ratio)."""
    return _rows(
        con,
        """
        SELECT platform,
               COUNT(*) AS plays,
               AVG(CASE WHEN transcode_decision = 'direct play' THEN 1.0 ELSE 0.0 END) AS direct_ratio,
               AVG(CASE WHEN transcode_decision = 'copy' THEN 1.0 ELSE 0.0 END) AS copy_ratio,
               AVG(CASE WHEN transcode_decision = 'transcode' THEN 1.0 ELSE 0.0 END) AS transcode_ratio
        FROM events
        GROUP BY platform
        ORDER BY platform
    """,
    )


def bitrate_p95_by_platform(con, days: int = 30) -> list[tuple]:
    """(platform, media_type, p50 kbps, p95 kbps) over plays started in the
    last ``days`` calendar days, via interpolated quantiles (``quantile_cont``).

    Quantiles must materialise every value of a group; over all 90 days this
    costs ~60 ms at 1M events, the 30-day panel ~20 ms.
    """
    return _rows(
        con,
        """
        WITH bounds AS (
            SELECT date_trunc('day', MAX(started_at)) - to_days(? - 1) AS lo
            FROM events
        )
        SELECT platform, media_type,
               quantile_cont(bitrate_kbps, 0.5) AS p50_kbps,
               quantile_cont(bitrate_kbps, 0.95) AS p95_kbps
        FROM events, bounds
        WHERE started_at >= lo
        GROUP BY platform, media_type
        ORDER BY platform, media_type
    """,
        [int(days)],
    )


def cohort_retention(con) -> list[tuple]:
    """(cohort week, weeks since first seen, active users, cohort size, retention).

    A user's cohort is the (ISO, Monday-based) week of their first play.
    """
    return _rows(
        con,
        """
        WITH uw AS (
            SELECT DISTINCT user_id, date_trunc('week', started_at) AS week
            FROM events
        ),
        firsts AS (
            SELECT user_id, MIN(week) AS cohort FROM uw GROUP BY user_id
        ),
        sizes AS (
            SELECT cohort, COUNT(*) AS cohort_size FROM firsts GROUP BY cohort
        ),
        activity AS (
            SELECT f.cohort,
                   CAST(date_diff('day', f.cohort, uw.week) / 7 AS INTEGER) AS weeks_since,
                   COUNT(*) AS active_users
            FROM uw JOIN firsts f USING (user_id)
            GROUP BY ALL
        )
        SELECT CAST(a.cohort AS DATE) AS cohort_week, a.weeks_since, a.active_users,
               s.cohort_size, a.active_users / s.cohort_size AS retention
        FROM activity a JOIN sizes s USING (cohort)
        ORDER BY cohort_week, weeks_since
    """,
    )


# name -> (callable, kwargs) - used by the benchmark suite and the tests.
QUERIES = {
    "daily_active_users": (daily_active_users, {}),
    "watch_time_by_platform_and_day": (watch_time_by_platform_and_day, {}),
    "top_n_media": (top_n_media, {"n": 10}),
    "peak_concurrent_streams": (peak_concurrent_streams, {"days": 7}),
    "geographic_aggregation": (geographic_aggregation, {}),
    "transcode_ratio": (transcode_ratio, {}),
    "bitrate_p95_by_platform": (bitrate_p95_by_platform, {"days": 30}),
    "cohort_retention": (cohort_retention, {}),
}
