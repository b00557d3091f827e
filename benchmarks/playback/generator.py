"""Deterministic, seeded generator of playback events (vectorised with numpy).

The same ``(scale, seed)`` always yields byte-identical data, independent of
machine or thread count.  Data is produced as a dict of numpy arrays (numeric
columns plus small integer codes for categorical columns); the categorical
codes are expanded to strings inside DuckDB when the parquet cache is written,
so no pandas/pyarrow dependency is needed.

Shape of the data (chosen to look like a real media server's history):

* media popularity is Zipf-like (a few titles get most plays);
* user activity is heavy-tailed: a minority of heavy users produce most events;
* each user has a home city and a preferred platform;
* start times span ~90 days with an evening-heavy diurnal pattern;
* ``event_id`` is assigned in ``started_at`` order (like a history table).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = [
    "BASE_EPOCH_S",
    "CITIES",
    "EVENTS_DDL_COLUMNS",
    "MEDIA_TYPES",
    "PLATFORMS",
    "PLAYERS",
    "SPAN_DAYS",
    "TRANSCODE_DECISIONS",
    "cache_path",
    "ensure_events_parquet",
    "generate_arrays",
    "generate_events",
    "load_events",
]

MEDIA_TYPES = ("movie", "episode", "track")
PLATFORMS = ("web", "ios", "android", "tv", "desktop")
# Player names per platform (index = platform code).
PLAYERS = (
    ("Chrome", "Firefox", "Safari", "Edge"),
    ("iOS App", "iPadOS App"),
    ("Android App", "Android Tablet"),
    ("Roku", "Apple TV", "Android TV", "Smart TV"),
    ("Desktop App (Windows)", "Desktop App (macOS)", "Desktop App (Linux)"),
)
TRANSCODE_DECISIONS = ("direct play", "copy", "transcode")
# (city, country, lat, lon, relative population weight)
CITIES = (
    ("New York", "US", 40.7128, -74.0060, 9.0),
    ("Los Angeles", "US", 34.0522, -118.2437, 6.0),
    ("Chicago", "US", 41.8781, -87.6298, 4.0),
    ("Houston", "US", 29.7604, -95.3698, 3.0),
    ("Seattle", "US", 47.6062, -122.3321, 2.0),
    ("Toronto", "CA", 43.6532, -79.3832, 3.0),
    ("Vancouver", "CA", 49.2827, -123.1207, 1.5),
    ("Mexico City", "MX", 19.4326, -99.1332, 4.0),
    ("Sao Paulo", "BR", -23.5505, -46.6333, 5.0),
    ("Buenos Aires", "AR", -34.6037, -58.3816, 2.5),
    ("London", "GB", 51.5074, -0.1278, 6.0),
    ("Manchester", "GB", 53.4808, -2.2426, 1.5),
    ("Paris", "FR", 48.8566, 2.3522, 4.0),
    ("Lyon", "FR", 45.7640, 4.8357, 1.0),
    ("Berlin", "DE", 52.5200, 13.4050, 3.5),
    ("Munich", "DE", 48.1351, 11.5820, 1.5),
    ("Madrid", "ES", 40.4168, -3.7038, 2.5),
    ("Rome", "IT", 41.9028, 12.4964, 2.0),
    ("Amsterdam", "NL", 52.3676, 4.9041, 1.5),
    ("Stockholm", "SE", 59.3293, 18.0686, 1.0),
    ("Warsaw", "PL", 52.2297, 21.0122, 1.5),
    ("Tokyo", "JP", 35.6762, 139.6503, 7.0),
    ("Osaka", "JP", 34.6937, 135.5023, 2.5),
    ("Seoul", "KR", 37.5665, 126.9780, 4.0),
    ("Mumbai", "IN", 19.0760, 72.8777, 5.0),
    ("Bangalore", "IN", 12.9716, 77.5946, 3.0),
    ("Singapore", "SG", 1.3521, 103.8198, 1.5),
    ("Sydney", "AU", -33.8688, 151.2093, 2.5),
    ("Melbourne", "AU", -37.8136, 144.9631, 2.0),
    ("Johannesburg", "ZA", -26.2041, 28.0473, 1.5),
)
BASE_EPOCH_S = 1_704_067_200  # 2024-01-01T00:00:00Z
SPAN_DAYS = 90

# Column order of the ``events`` table / parquet file.
EVENTS_DDL_COLUMNS = (
    "event_id",
    "user_id",
    "media_id",
    "media_type",
    "platform",
    "player",
    "started_at",
    "stopped_at",
    "duration_s",
    "paused_s",
    "bitrate_kbps",
    "transcode_decision",
    "city",
    "country",
    "lat",
    "lon",
    "updated_at",
)

# Media lengths in seconds per media type: (low, high).
_MEDIA_LEN = np.array([[80 * 60, 160 * 60], [20 * 60, 65 * 60], [120, 420]], dtype=np.int64)
# P(media_type) over the catalogue.
_MEDIA_TYPE_P = np.array([0.25, 0.45, 0.30])
# P(platform) for a user's preferred platform.
_PLATFORM_P = np.array([0.22, 0.20, 0.23, 0.25, 0.10])
# P(transcode decision | platform): direct play, copy, transcode.
_TRANSCODE_P = np.array(
    [
        [0.45, 0.15, 0.40],  # web
        [0.70, 0.15, 0.15],  # ios
        [0.60, 0.15, 0.25],  # android
        [0.80, 0.12, 0.08],  # tv
        [0.85, 0.10, 0.05],  # desktop
    ]
)
# Typical bitrate (kbps) per media type, scaled by transcode decision.
_BITRATE_BASE = np.array([8000.0, 5000.0, 320.0])
_BITRATE_TRANSCODE_FACTOR = np.array([1.0, 0.9, 0.45])
# Hour-of-day weights (evening heavy).
_HOUR_W = np.array([3, 2, 1, 1, 1, 1, 1, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 6, 8, 10, 11, 10, 8, 5], dtype=float)


def _weighted_choice(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """Vectorised weighted sampling (inverse CDF via searchsorted)."""
    cdf = np.cumsum(weights, dtype=np.float64)
    cdf /= cdf[-1]
    idx = np.searchsorted(cdf, rng.random(size), side="right")
    return np.minimum(idx, len(weights) - 1).astype(np.int64)


def _users(rng: np.random.Generator, n_users: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-user activity weight, city and preferred platform."""
    # Heavy-tailed activity: lognormal weights -> a minority of heavy users.
    user_w = rng.lognormal(mean=0.0, sigma=1.4, size=n_users)
    city_w = np.array([c[4] for c in CITIES])
    user_city = _weighted_choice(rng, city_w, n_users)
    user_platform = _weighted_choice(rng, _PLATFORM_P, n_users)
    return user_w, user_city, user_platform


def _media(rng: np.random.Generator, n_media: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-media popularity weight, media type and length in seconds."""
    ranks = np.arange(1, n_media + 1, dtype=np.float64)
    media_w = 1.0 / ranks**1.0  # Zipf-ish popularity
    media_w = media_w[rng.permutation(n_media)]  # ids not ordered by rank
    media_type_of = _weighted_choice(rng, _MEDIA_TYPE_P, n_media)
    lo = _MEDIA_LEN[media_type_of, 0]
    hi = _MEDIA_LEN[media_type_of, 1]
    media_len = lo + (rng.random(n_media) * (hi - lo)).astype(np.int64)
    return media_w, media_type_of, media_len


def generate_arrays(scale: int, seed: int = 42) -> dict[str, np.ndarray]:
    """Generate ``scale`` events as numeric numpy arrays.

    Categorical columns are integer codes into the module-level tuples:
    ``media_type``, ``platform``, ``player`` (index into ``PLAYERS[platform]``),
    ``transcode_decision``, ``city`` (index into ``CITIES``).  Timestamps are
    int64 epoch seconds.  Deterministic for a given ``(scale, seed)``.
    """
    if scale < 1:
        raise ValueError("scale must be >= 1")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(scale)]))
    n = int(scale)
    n_users = max(20, n // 50)
    n_media = max(20, n // 20)

    # The draw order is part of the data set: users first, then media, then events.
    user_w, user_city, user_platform = _users(rng, n_users)
    media_w, media_type_of, media_len = _media(rng, n_media)

    # --- per-event columns ------------------------------------------------
    user_idx = _weighted_choice(rng, user_w, n)
    media_idx = _weighted_choice(rng, media_w, n)
    media_type = media_type_of[media_idx]

    platform = user_platform[user_idx].copy()
    roam = rng.random(n) < 0.2  # 20% off preferred platform
    platform[roam] = _weighted_choice(rng, _PLATFORM_P, int(roam.sum()))

    n_players = np.array([len(p) for p in PLAYERS])
    player = (rng.random(n) * n_players[platform]).astype(np.int64)

    day = rng.integers(0, SPAN_DAYS, size=n)
    hour = _weighted_choice(rng, _HOUR_W, n)
    sec_in_hour = rng.integers(0, 3600, size=n)
    started = BASE_EPOCH_S + day * 86400 + hour * 3600 + sec_in_hour

    # Fraction watched: many complete plays, many early abandons.
    frac = np.clip(rng.beta(1.2, 0.8, size=n), 0.02, 1.0)
    duration = np.maximum(30, (media_len[media_idx] * frac).astype(np.int64))
    paused = np.where(rng.random(n) < 0.35, rng.exponential(120.0, size=n).astype(np.int64), 0)
    stopped = started + duration + paused

    # Transcode decision conditional on platform (vectorised inverse CDF).
    tcdf = np.cumsum(_TRANSCODE_P, axis=1)
    u = rng.random(n)
    transcode = (u[:, None] >= tcdf[platform]).sum(axis=1).astype(np.int64)
    transcode = np.minimum(transcode, 2)
    bitrate = (
        _BITRATE_BASE[media_type] * _BITRATE_TRANSCODE_FACTOR[transcode] * rng.lognormal(0.0, 0.25, size=n)
    ).astype(np.int64)

    city = user_city[user_idx]
    lat = np.array([c[2] for c in CITIES])[city] + rng.normal(0.0, 0.05, size=n)
    lon = np.array([c[3] for c in CITIES])[city] + rng.normal(0.0, 0.05, size=n)
    updated = stopped + rng.integers(0, 300, size=n)

    # event_id in start order (stable sort keeps it deterministic).
    order = np.argsort(started, kind="stable")
    cols = {
        "user_id": user_idx + 1,
        "media_id": media_idx + 1,
        "media_type": media_type,
        "platform": platform,
        "player": player,
        "started_at": started,
        "stopped_at": stopped,
        "duration_s": duration,
        "paused_s": paused,
        "bitrate_kbps": bitrate,
        "transcode_decision": transcode,
        "city": city,
        "lat": np.round(lat, 4),
        "lon": np.round(lon, 4),
        "updated_at": updated,
    }
    out = {"event_id": np.arange(1, n + 1, dtype=np.int64)}
    for k, v in cols.items():
        out[k] = np.ascontiguousarray(v[order])
    return out


def _lookup_sql() -> str:
    """SQL expressions that expand integer codes into the final columns."""

    def lst(values) -> str:
        return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"

    players_flat = [p for group in PLAYERS for p in group]
    offsets = np.cumsum([0] + [len(g) for g in PLAYERS])[:-1].tolist()
    return f"""
        event_id::BIGINT AS event_id,
        user_id::INTEGER AS user_id,
        media_id::INTEGER AS media_id,
        {lst(MEDIA_TYPES)}[media_type + 1] AS media_type,
        {lst(PLATFORMS)}[platform + 1] AS platform,
        {lst(players_flat)}[{offsets}[platform + 1] + player + 1] AS player,
        make_timestamp(started_at * 1000000) AS started_at,
        make_timestamp(stopped_at * 1000000) AS stopped_at,
        duration_s::INTEGER AS duration_s,
        paused_s::INTEGER AS paused_s,
        bitrate_kbps::INTEGER AS bitrate_kbps,
        {lst(TRANSCODE_DECISIONS)}[transcode_decision + 1] AS transcode_decision,
        {lst([c[0] for c in CITIES])}[city + 1] AS city,
        {lst([c[1] for c in CITIES])}[city + 1] AS country,
        lat::DOUBLE AS lat,
        lon::DOUBLE AS lon,
        make_timestamp(updated_at * 1000000) AS updated_at
    """


def _arrays_relation_sql(view: str) -> str:
    return f"SELECT {_lookup_sql()} FROM {view} ORDER BY event_id"


def generate_events(scale: int, seed: int = 42) -> list[dict]:
    """Generate events as a list of JSON-friendly dicts (for the sync server).

    Timestamps are ISO-8601 strings (UTC, no offset); meant for small scales.
    """
    import duckdb

    arrays = generate_arrays(scale, seed)
    con = duckdb.connect(config={"threads": 1})
    try:
        con.register("_gen_arrays", arrays)
        sql = _arrays_relation_sql("_gen_arrays")
        cur = con.execute(
            f"SELECT * REPLACE ("
            f"strftime(started_at, '%Y-%m-%dT%H:%M:%S') AS started_at, "
            f"strftime(stopped_at, '%Y-%m-%dT%H:%M:%S') AS stopped_at, "
            f"strftime(updated_at, '%Y-%m-%dT%H:%M:%S') AS updated_at) "
            f"FROM ({sql})"
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=False)) for row in cur.fetchall()]
    finally:
        con.close()


def cache_path(cache_dir: str | os.PathLike, scale: int, seed: int) -> Path:
    """Cache file name is keyed by seed and scale."""
    return Path(cache_dir) / f"events_seed{int(seed)}_n{int(scale)}.parquet"


def ensure_events_parquet(cache_dir: str | os.PathLike, scale: int, seed: int = 42) -> Path:
    """Return the parquet file for ``(scale, seed)``, generating it if missing.

    Written atomically (temp file in the same dir + ``os.replace``) so that a
    concurrent or interrupted run never leaves a truncated cache file.
    """
    import duckdb

    path = cache_path(cache_dir, scale, seed)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    arrays = generate_arrays(scale, seed)
    con = duckdb.connect(config={"threads": 1})
    try:
        con.register("_gen_arrays", arrays)
        tmp_sql = str(tmp).replace("'", "''")
        con.execute(f"COPY ({_arrays_relation_sql('_gen_arrays')}) TO '{tmp_sql}' (FORMAT parquet, COMPRESSION zstd)")
    finally:
        con.close()
    os.replace(tmp, path)
    return path


def database_path(cache_dir: str | os.PathLike, scale: int, seed: int) -> Path:
    return Path(cache_dir) / f"events_seed{int(seed)}_n{int(scale)}_uncompressed.duckdb"


def ensure_events_database(cache_dir: str | os.PathLike, scale: int, seed: int = 42) -> Path:
    """Return a DuckDB database file holding table ``events`` for ``(scale, seed)``, building it if missing.

    Why a file: every worker process (5 timing, one memory worker per
    benchmark and run, the Callgrind workers) used to load the million rows
    from parquet into an in-memory table, 4 s a process here and many times
    that under Callgrind; attaching the built file read-only takes 0.2 s
    (docs/cost.md).  Built once, atomically (temporary file, checkpoint,
    ``os.replace``), so concurrent workers never open a half-written file.

    Stored uncompressed, as the in-memory table was: with DuckDB's default
    compression the first call of ``daily_active_users`` in a process (the
    memory pass's only call) allocated 23 MB that memray saw, against
    0.9 MB from the in-memory table and 0.07 MB from the uncompressed file
    (137 MB on disk instead of 31 MB).
    """
    import duckdb

    path = database_path(cache_dir, scale, seed)
    if path.exists():
        return path
    parquet = ensure_events_parquet(cache_dir, scale, seed)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp), config={"threads": 1})
    try:
        con.execute("PRAGMA force_compression='uncompressed'")
        load_events(con, parquet)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(tmp, path)
    return path


def warm_events(con, table: str = "events") -> None:
    """Read every column of ``table`` once, so its blocks are resident before the first measured call.

    An attached file is read lazily: without this, the first call of each
    process (the only call of the memory pass) would also pay for reading
    the table, and its resident-set peak would include it, where the
    in-memory table of before held it already.
    """
    columns = [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()]
    # hash() needs every value (count() reads only validity masks, min/max may come from zone maps)
    aggregates = ", ".join(f'sum(hash("{column}"))' for column in columns)
    con.execute(f"SELECT {aggregates} FROM {table}").fetchall()


def load_events(con, parquet_path: str | os.PathLike, table: str = "events") -> None:
    """(Re)create table ``events`` in ``con`` from the parquet cache file."""
    p = str(parquet_path).replace("'", "''")
    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_parquet('{p}')")
