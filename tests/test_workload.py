"""Correctness tests for the playback-analytics workload in ``benchmarks/playback``.

Small scale (5,000 events), no timing assertions: every check is on data.
"""

import os
import subprocess
import sys
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import requests

# The workload package lives in benchmarks/ (which pytest only puts on sys.path
# when collecting benchmarks/ itself); add it so ``import playback`` works here.
BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

from playback import generator, queries, sync_client  # noqa: E402
from playback.sync_server import SyncServer  # noqa: E402

SCALE = 5000
SEED = 123


# --------------------------------------------------------------------------- data


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("workload-cache")


@pytest.fixture(scope="module")
def con(cache_dir):
    path = generator.ensure_events_parquet(cache_dir, SCALE, SEED)
    c = queries.connect()
    generator.load_events(c, path)
    yield c
    c.close()


@pytest.fixture(scope="module")
def rows(con):
    cur = con.execute("SELECT * FROM events ORDER BY event_id")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=False)) for r in cur.fetchall()]


# ------------------------------------------------------------------- generator


def test_database_file_is_built_once_and_answers_as_the_in_memory_table(cache_dir, con):
    path = generator.ensure_events_database(cache_dir, SCALE, SEED)
    built = path.stat().st_mtime_ns
    assert generator.ensure_events_database(cache_dir, SCALE, SEED) == path
    assert path.stat().st_mtime_ns == built  # reused, not rebuilt
    assert not list(cache_dir.glob(".*.tmp"))
    attached = queries.connect(str(path), read_only=True)
    try:
        generator.warm_events(attached)
        for name in ("daily_active_users", "top_n_media", "cohort_retention", "bitrate_p95_by_platform"):
            assert getattr(queries, name)(attached) == getattr(queries, name)(con), name
        with pytest.raises(Exception, match="read-only"):
            attached.execute("DELETE FROM events")
    finally:
        attached.close()


def test_generator_same_seed_same_data():
    a = generator.generate_arrays(SCALE, SEED)
    b = generator.generate_arrays(SCALE, SEED)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_generator_different_seed_differs():
    a = generator.generate_arrays(SCALE, SEED)
    b = generator.generate_arrays(SCALE, SEED + 1)
    assert not np.array_equal(a["media_id"], b["media_id"])
    assert not np.array_equal(a["started_at"], b["started_at"])


def test_generated_columns_and_ranges(con, rows):
    cols = [r[0] for r in con.execute("DESCRIBE events").fetchall()]
    assert tuple(cols) == generator.EVENTS_DDL_COLUMNS
    assert len(rows) == SCALE
    assert [r["event_id"] for r in rows] == list(range(1, SCALE + 1))
    base = datetime(2024, 1, 1)
    for r in rows:
        assert r["media_type"] in generator.MEDIA_TYPES
        assert r["platform"] in generator.PLATFORMS
        assert r["player"] in generator.PLAYERS[generator.PLATFORMS.index(r["platform"])]
        assert r["transcode_decision"] in generator.TRANSCODE_DECISIONS
        assert base <= r["started_at"] < base + timedelta(days=generator.SPAN_DAYS)
        assert r["stopped_at"] == r["started_at"] + timedelta(seconds=r["duration_s"] + r["paused_s"])
        assert r["updated_at"] >= r["stopped_at"]
        assert -90 <= r["lat"] <= 90 and -180 <= r["lon"] <= 180
    # event_id follows start order
    starts = [r["started_at"] for r in rows]
    assert starts == sorted(starts)


def test_generated_data_is_skewed(rows):
    media = defaultdict(int)
    users = defaultdict(int)
    for r in rows:
        media[r["media_id"]] += 1
        users[r["user_id"]] += 1
    top_media = sorted(media.values(), reverse=True)
    assert top_media[0] > 10 * np.median(top_media)  # Zipf-ish head
    top_users = sorted(users.values(), reverse=True)
    heavy = top_users[: max(1, len(top_users) // 10)]
    assert sum(heavy) > 0.3 * len(rows)  # top 10% users >30% of plays


def test_parquet_cache_reused_and_atomic(tmp_path, monkeypatch):
    p1 = generator.ensure_events_parquet(tmp_path, 1000, 5)
    assert p1.exists() and "seed5" in p1.name and "1000" in p1.name
    mtime = p1.stat().st_mtime_ns

    def boom(*a, **k):
        raise AssertionError("cache miss: data regenerated")

    monkeypatch.setattr(generator, "generate_arrays", boom)
    p2 = generator.ensure_events_parquet(tmp_path, 1000, 5)
    assert p2 == p1 and p2.stat().st_mtime_ns == mtime
    with pytest.raises(AssertionError):
        generator.ensure_events_parquet(tmp_path, 1000, 6)  # other seed -> other file
    assert sorted(f.name for f in tmp_path.iterdir()) == [p1.name]  # no temp leftovers


def test_parquet_roundtrip_is_deterministic(tmp_path, con):
    path = generator.ensure_events_parquet(tmp_path, SCALE, SEED)
    other = queries.connect()
    generator.load_events(other, path)
    a = con.execute("SELECT * FROM events ORDER BY event_id").fetchall()
    b = other.execute("SELECT * FROM events ORDER BY event_id").fetchall()
    assert a == b


# --------------------------------------------------------------------- queries


def _day(ts):
    return ts.date()


def test_daily_active_users(con, rows):
    users = defaultdict(set)
    for r in rows:
        users[_day(r["started_at"])].add(r["user_id"])
    expected = sorted((d, len(u)) for d, u in users.items())
    assert queries.daily_active_users(con) == expected


def test_watch_time_by_platform_and_day(con, rows):
    agg = defaultdict(lambda: [0, 0])
    for r in rows:
        a = agg[(_day(r["started_at"]), r["platform"])]
        a[0] += 1
        a[1] += r["duration_s"]
    got = queries.watch_time_by_platform_and_day(con)
    assert [(d, p, n) for d, p, n, _ in got] == [(k[0], k[1], v[0]) for k, v in sorted(agg.items())]
    for d, p, _, hours in got:
        assert hours == pytest.approx(agg[(d, p)][1] / 3600.0)


def test_top_n_media(con, rows):
    plays = defaultdict(int)
    secs = defaultdict(int)
    mtype = {}
    for r in rows:
        plays[r["media_id"]] += 1
        secs[r["media_id"]] += r["duration_s"]
        mtype[r["media_id"]] = r["media_type"]
    top = sorted(plays, key=lambda m: (-plays[m], m))[:5]
    got = queries.top_n_media(con, n=5)
    assert [(m, t, n) for m, t, n, _ in got] == [(m, mtype[m], plays[m]) for m in top]
    for m, _, _, hours in got:
        assert hours == pytest.approx(secs[m] / 3600.0)


def test_peak_concurrent_streams(con, rows):
    days = 7
    last = max(r["started_at"] for r in rows)
    lo = datetime(last.year, last.month, last.day) - timedelta(days=days - 1)
    hi = datetime(last.year, last.month, last.day) + timedelta(days=1)
    deltas = []
    for r in rows:
        if r["stopped_at"] > lo:
            deltas.append((max(r["started_at"], lo), 1))
            deltas.append((r["stopped_at"], -1))
    deltas.sort()  # (ts, delta): stops (-1) before starts (+1) at equal ts
    best = {}
    cur = 0
    for ts, d in deltas:
        cur += d
        if ts >= hi:
            continue
        day = ts.date()
        if day not in best or cur > best[day][0]:
            best[day] = (cur, ts)
    expected = [(d, c, ts) for d, (c, ts) in sorted(best.items())]
    got = queries.peak_concurrent_streams(con, days=days)
    assert got == expected
    assert len(got) == days


def test_geographic_aggregation(con, rows):
    agg = defaultdict(list)
    for r in rows:
        agg[(r["country"], r["city"])].append(r)
    got = queries.geographic_aggregation(con)
    keys = sorted(agg, key=lambda k: (-len(agg[k]), k))
    assert [(c, ci, n) for c, ci, n, *_ in got] == [(k[0], k[1], len(agg[k])) for k in keys]
    for country, city, _, lat, lon, hours in got:
        rs = agg[(country, city)]
        assert lat == pytest.approx(sum(r["lat"] for r in rs) / len(rs))
        assert lon == pytest.approx(sum(r["lon"] for r in rs) / len(rs))
        assert hours == pytest.approx(sum(r["duration_s"] for r in rs) / 3600.0)
    cities = {c[0]: c for c in generator.CITIES}
    for country, city, _, lat, lon, _ in got:
        assert cities[city][1] == country
        assert abs(lat - cities[city][2]) < 0.5 and abs(lon - cities[city][3]) < 0.5


def test_transcode_ratio(con, rows):
    got = queries.transcode_ratio(con)
    assert [g[0] for g in got] == sorted({r["platform"] for r in rows})
    for platform, n, direct, copy, trans in got:
        rs = [r["transcode_decision"] for r in rows if r["platform"] == platform]
        assert n == len(rs)
        assert direct == pytest.approx(rs.count("direct play") / n)
        assert copy == pytest.approx(rs.count("copy") / n)
        assert trans == pytest.approx(rs.count("transcode") / n)
        assert direct + copy + trans == pytest.approx(1.0)


def test_bitrate_p95_by_platform(con, rows):
    days = 30
    last = max(r["started_at"] for r in rows)
    lo = datetime(last.year, last.month, last.day) - timedelta(days=days - 1)
    groups = defaultdict(list)
    for r in rows:
        if r["started_at"] >= lo:
            groups[(r["platform"], r["media_type"])].append(r["bitrate_kbps"])
    got = queries.bitrate_p95_by_platform(con, days=days)
    assert [(p, m) for p, m, *_ in got] == sorted(groups)
    for p, m, p50, p95 in got:
        vals = np.array(groups[(p, m)], dtype=float)
        assert p50 == pytest.approx(np.percentile(vals, 50, method="linear"))
        assert p95 == pytest.approx(np.percentile(vals, 95, method="linear"))
        assert p50 <= p95


def test_cohort_retention(con, rows):
    def week(ts):
        d = ts.date()
        return d - timedelta(days=d.weekday())

    weeks = defaultdict(set)
    for r in rows:
        weeks[r["user_id"]].add(week(r["started_at"]))
    cohort = {u: min(ws) for u, ws in weeks.items()}
    size = defaultdict(int)
    for c in cohort.values():
        size[c] += 1
    active = defaultdict(int)
    for u, ws in weeks.items():
        for w in ws:
            active[(cohort[u], (w - cohort[u]).days // 7)] += 1
    got = queries.cohort_retention(con)
    assert [(c, k, n, s) for c, k, n, s, _ in got] == [(c, k, n, size[c]) for (c, k), n in sorted(active.items())]
    for _cohort, k, n, s, ret in got:
        assert ret == pytest.approx(n / s)
        if k == 0:
            assert ret == 1.0


def test_queries_registry_runs_all(con):
    assert len(queries.QUERIES) >= 8
    for name, (fn, kwargs) in queries.QUERIES.items():
        assert fn(con, **kwargs), name


def test_connect_uses_one_thread_and_no_async_io_threads():
    c = queries.connect()
    assert c.execute("SELECT current_setting('threads'), current_setting('async_threads')").fetchone() == (1, 0)


# ------------------------------------------------------------------------ sync

N_SYNC = 2000
FAST = sync_client.RetryPolicy(max_attempts=4, backoff_base=0.0)


@pytest.fixture(scope="module")
def server():
    with SyncServer(N_SYNC, seed=3, overlap=10, fail_every=0) as srv:
        yield srv


@pytest.fixture()
def session():
    with requests.Session() as s:
        yield s


def _history(c):
    cur = c.execute("SELECT * FROM history ORDER BY event_id")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=False)) for r in cur.fetchall()]


def test_server_binds_loopback_and_overlaps_pages(server, session):
    assert server.base_url.startswith("http://127.0.0.1:")
    p1 = session.get(f"{server.base_url}/api/history", params={"limit": 100}).json()
    assert [e["event_id"] for e in p1["events"]] == list(range(1, 101))
    assert p1["next_cursor"] == 90  # 10 events of overlap
    p2 = session.get(f"{server.base_url}/api/history", params={"after": p1["next_cursor"], "limit": 100}).json()
    assert p2["events"][0]["event_id"] == 91
    last = session.get(f"{server.base_url}/api/history", params={"after": N_SYNC - 5, "limit": 100}).json()
    assert last["next_cursor"] is None and len(last["events"]) == 5
    bad = session.get(f"{server.base_url}/api/history", params={"limit": 0})
    assert bad.status_code == 400


def test_full_sync_gets_every_event_once(server, session):
    c = queries.connect()
    rep = sync_client.full_sync(session, server.base_url, c, limit=100, batch_size=300, policy=FAST)
    assert rep.inserted == N_SYNC
    assert rep.duplicates_skipped > 0
    assert rep.fetched == rep.inserted + rep.duplicates_skipped
    assert rep.retries == 0 and rep.cursor == N_SYNC
    hist = _history(c)
    assert [h["event_id"] for h in hist] == list(range(1, N_SYNC + 1))
    src = {e["event_id"]: e for e in server.store.events}
    for h in hist[::97]:
        e = src[h["event_id"]]
        assert h["user_id"] == e["user_id"] and h["platform"] == e["platform"]
        assert h["started_at"] == datetime.fromisoformat(e["started_at"])
        assert h["lat"] == e["lat"]


def test_incremental_sync_fetches_only_newer(server, session):
    c = queries.connect()
    mid = 1234
    rep = sync_client.incremental_sync(session, server.base_url, c, mid, limit=100, policy=FAST)
    assert rep.inserted == N_SYNC - mid
    assert rep.fetched == rep.inserted + rep.duplicates_skipped
    assert c.execute("SELECT MIN(event_id), COUNT(*) FROM history").fetchone() == (mid + 1, N_SYNC - mid)
    # Nothing new since the last cursor: one empty page, nothing inserted.
    again = sync_client.incremental_sync(session, server.base_url, c, rep.cursor, policy=FAST)
    assert (again.fetched, again.inserted, again.cursor) == (0, 0, N_SYNC)


def test_upsert_replaces_existing_rows(server):
    c = queries.connect()
    sync_client.create_history_table(c)
    events = [dict(e) for e in server.store.events[:50]]
    sync_client.upsert_events(c, events, batch_size=7)
    events[0]["bitrate_kbps"] = 1
    sync_client.upsert_events(c, events[:1])
    assert c.execute("SELECT COUNT(*) FROM history").fetchone()[0] == 50
    assert c.execute("SELECT bitrate_kbps FROM history WHERE event_id = 1").fetchone()[0] == 1


def test_dedupe_pages_keeps_first_copy():
    rep = sync_client.SyncReport()
    pages = [[{"event_id": 1, "v": "a"}, {"event_id": 2}], [{"event_id": 1, "v": "b"}, {"event_id": 3}]]
    out = sync_client.dedupe_pages(pages, report=rep)
    assert [e["event_id"] for e in out] == [1, 2, 3] and out[0]["v"] == "a"
    assert rep.duplicates_skipped == 1


def test_sync_retries_are_counted_and_backoff_honours_retry_after(session, monkeypatch):
    sleeps = []
    monkeypatch.setattr(sync_client.time, "sleep", sleeps.append)
    policy = sync_client.RetryPolicy(max_attempts=4, backoff_base=0.25)
    with SyncServer(N_SYNC, seed=3, overlap=10, fail_every=3) as srv:
        c = queries.connect()
        rep = sync_client.full_sync(session, srv.base_url, c, limit=200, policy=policy)
        failures = srv.store.failures
    assert rep.inserted == N_SYNC
    assert failures >= 3 and rep.retries == failures
    # 429s carry Retry-After: 0 (no sleep); 503s back off base * 2**(attempt-1) = 0.25 s.
    assert sleeps == [0.25] * (failures // 2)
    assert len(_history(c)) == N_SYNC


def test_sync_retries_exhausted_raises(session, monkeypatch):
    monkeypatch.setattr(sync_client.time, "sleep", lambda s: None)
    policy = sync_client.RetryPolicy(max_attempts=3, backoff_base=0.01)
    with SyncServer(100, fail_every=1) as srv:
        with pytest.raises(sync_client.SyncError, match="retries exhausted"):
            sync_client.full_sync(session, srv.base_url, queries.connect(), policy=policy)
        assert srv.store.requests == 3


def test_server_reset_and_stats(session):
    with SyncServer(100, fail_every=2) as srv:
        url = srv.base_url
        assert session.get(f"{url}/api/history").status_code == 200
        r = session.get(f"{url}/api/history")
        assert r.status_code == 429 and r.headers["Retry-After"] == "0"
        assert session.get(f"{url}/api/history").status_code == 200
        assert session.get(f"{url}/api/history").status_code == 503
        assert session.get(f"{url}/api/stats").json()["failures"] == 2
        session.post(f"{url}/api/reset").raise_for_status()
        assert session.get(f"{url}/api/stats").json()["requests"] == 0


def test_server_runs_as_subprocess(session):
    env = dict(os.environ, PYTHONPATH=str(BENCH_DIR))
    proc = subprocess.Popen(
        [sys.executable, "-m", "playback.sync_server", "--port", "0", "--events", "50", "--fail-every", "0"],
        cwd=str(BENCH_DIR),
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = int(proc.stdout.readline())
        page = session.get(f"http://127.0.0.1:{port}/api/history", params={"limit": 1000}, timeout=10).json()
        assert len(page["events"]) == 50 and page["next_cursor"] is None
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


def _benchmarks_conftest():
    """benchmarks/conftest.py as a plain module (its fixtures are not registered here)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("benchmarks_conftest_under_test", BENCH_DIR / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sync_server_port_follows_the_benchmark_name():
    bench_conftest = _benchmarks_conftest()
    port = bench_conftest.preferred_port("benchmarks/test_sync.py::test_full_sync", 0)
    assert port == bench_conftest.preferred_port("benchmarks/test_sync.py::test_full_sync", 0)
    assert 10_000 <= port < 32_768  # below the kernel's ephemeral range
    assert bench_conftest.preferred_port("benchmarks/test_sync.py::test_full_sync", 4) == port + 1
    others = {bench_conftest.preferred_port(f"benchmarks/test_sync.py::test_{i}", 0) for i in range(20)}
    assert len(others) > 15


def test_sync_server_falls_back_to_a_free_port_when_its_own_is_taken(monkeypatch):
    import socket

    bench_conftest = _benchmarks_conftest()
    taken = socket.socket()
    for attempt in range(50):  # a probe name whose port nothing else holds
        nodeid = f"tests/test_workload.py::port-probe-{os.getpid()}-{attempt}"
        wanted = bench_conftest.preferred_port(nodeid, 0)
        try:
            taken.bind(("127.0.0.1", wanted))
            break
        except OSError:
            continue
    else:
        pytest.fail("50 preferred ports in use on this machine")
    monkeypatch.setenv("PYTEST_CURRENT_TEST", f"{nodeid} (setup)")
    with taken:
        taken.listen()
        proc, url = bench_conftest._start_server_process(50, fail_every=0)
        try:
            assert not url.endswith(f":{wanted}")
            assert len(requests.get(f"{url}/api/history", params={"limit": 1000}, timeout=10).json()["events"]) == 50
        finally:
            bench_conftest._stop_server_process(proc)
    proc, url = bench_conftest._start_server_process(50, fail_every=0)
    try:
        assert url == f"http://127.0.0.1:{wanted}"
    finally:
        bench_conftest._stop_server_process(proc)
