"""Benchmarks: syncing playback history from the paginated HTTP API into DuckDB.

Every round does identical work: each call syncs into a fresh in-memory
DuckDB connection, and the flaky server's request counter is reset first so
the same requests fail every round.
"""

import pytest
from playback import queries, sync_client

pytestmark = pytest.mark.benchmark(group="sync")

PAGE_LIMIT = 1000
BATCH_SIZE = 5000
# Small backoff so the retry benchmark measures the retry path, not sleep().
FAST_RETRY = sync_client.RetryPolicy(max_attempts=5, backoff_base=0.001)


def _full(session, url):
    con = queries.connect()
    try:
        return sync_client.full_sync(session, url, con, limit=PAGE_LIMIT, batch_size=BATCH_SIZE, policy=FAST_RETRY)
    finally:
        con.close()


def _incremental(session, url, cursor):
    con = queries.connect()
    try:
        return sync_client.incremental_sync(
            session, url, con, cursor, limit=PAGE_LIMIT, batch_size=BATCH_SIZE, policy=FAST_RETRY
        )
    finally:
        con.close()


@pytest.fixture(scope="module")
def prefetched_pages(sync_server, http_session):
    """All raw pages (with overlaps) fetched once, for the HTTP-free benchmarks."""
    report = sync_client.SyncReport()
    pages, after = [], 0
    while True:
        page = sync_client.fetch_page(http_session, sync_server, after, PAGE_LIMIT, FAST_RETRY, report)
        pages.append(page["events"])
        if page["next_cursor"] is None:
            return pages
        after = page["next_cursor"]


def test_full_sync(benchmark, sync_server, http_session, sync_events):
    report = benchmark(_full, http_session, sync_server)
    assert report.inserted == sync_events
    assert report.duplicates_skipped > 0


def test_incremental_sync_from_mid_cursor(benchmark, sync_server, http_session, sync_events):
    mid = sync_events // 2
    report = benchmark(_incremental, http_session, sync_server, mid)
    assert report.inserted == sync_events - mid
    assert report.cursor == sync_events


def test_dedup_overlapping_pages(benchmark, prefetched_pages, sync_events):
    events = benchmark(sync_client.dedupe_pages, prefetched_pages)
    assert len(events) == sync_events


def test_batched_upsert(benchmark, prefetched_pages, sync_events):
    events = sync_client.dedupe_pages(prefetched_pages)

    def upsert():
        con = queries.connect()
        try:
            sync_client.create_history_table(con)
            return sync_client.upsert_events(con, events, batch_size=BATCH_SIZE)
        finally:
            con.close()

    assert benchmark(upsert) == sync_events


def test_sync_with_retries(benchmark, flaky_sync_server, http_session, sync_events):
    def flaky_full_sync():
        http_session.post(f"{flaky_sync_server}/api/reset", timeout=10).raise_for_status()
        return _full(http_session, flaky_sync_server)

    report = benchmark(flaky_full_sync)
    assert report.inserted == sync_events
    assert report.retries > 0
