"""The history store: one summary record per recorded commit, kept in a plain directory.

Layout (embedded, no server; every write goes through
:func:`benchwatch.resultfile.write_atomically`, so a reader or a crash never
sees a half-written file)::

    history/
      index.json                              list of records, in order
      20240501T120000Z-1a2b3c4d.json.gz       one record per recorded run
      ...

A record holds the commit, its parent, the date (UTC, ISO 8601), tags, the
branch, an environment summary and, per benchmark and metric (p50, p95, p99,
mean, peak_memory, allocations), ``[value, low, high, n_runs]``:

* ``value`` -- the median over runs of the per-run statistic
  (:meth:`benchwatch.model.BenchmarkResult.statistic`);
* ``low``/``high`` -- a 95% t-interval across runs on the log of the per-run
  statistics (so it brackets their geometric mean; a plain t-interval when a
  statistic is zero), ``null`` with fewer than 2 runs;
* ``n_runs`` -- how many runs gave the statistic.

Raw samples are left out unless asked for (``keep_samples``): they are what
makes a history grow.

Format history (``schema_version``, in the index and in every record):
    1  first format.

An unknown version is rejected with a one-line InputError.  The index is the
source of truth: a record file missing from it (a crash between writing the
record and the index) is ignored and overwritten by the next append of that
commit.  One writer at a time: appends and prunes do not lock.

Growth per run (measured with ``benchmarks/bench_trend_report.py --growth``:
5 runs per benchmark, all six metrics, 100 samples per run when kept)::

    benchmarks   .json.gz (default)   .json        .json.gz with samples
    13           1.5 KB               4.7 KB       60 KB
    1,000        91 KB                341 KB       4.6 MB

A year of nightly records is about 0.5 MB for 13 benchmarks and 33 MB for
1,000 (1.7 GB with samples): :func:`prune` keeps the last ``keep_last``
records at full resolution and tagged releases always, and thins records
older than ``thin_older_than_days`` to one per day.  Values are stored with
six significant digits, far below run-to-run noise.
"""

from __future__ import annotations

import gc
import gzip
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

from benchwatch.errors import InputError, UsageError
from benchwatch.model import ALL_METRICS, BenchmarkResult, ResultSet
from benchwatch.resultfile import read_json_document, write_atomically

SCHEMA_VERSION = 1
INDEX_NAME = "index.json"
CONFIDENCE = 0.95
HISTORY_METRICS = ALL_METRICS
_ENVIRONMENT_SUMMARY = (
    "cpu_model",
    "cpu_count",
    "cpu_governor",
    "os",
    "python_version",
    "python_implementation",
    "hostname",
    "git_dirty",
)
_SAFE_NAME = re.compile(r"[^0-9A-Za-z._-]")


# -- the in-memory shape -------------------------------------------------------


@dataclass(frozen=True)
class MetricSummary:
    """One metric of one benchmark at one commit (see the module docstring)."""

    value: float
    low: float | None
    high: float | None
    n_runs: int


@dataclass(frozen=True, eq=False)
class Record:
    """One recorded run of the suite at one commit.

    ``benchmarks`` maps a benchmark name to ``{"unit": ..., "metrics":
    {metric: [value, low, high, n_runs]}}`` (and ``"samples"`` when kept),
    exactly as stored: histories of 1,000 benchmarks x 500 commits stay
    cheap to load.  Use :meth:`summary` for a typed view.
    """

    commit: str
    parent: str | None
    date: str
    tags: tuple[str, ...]
    branch: str | None
    environment: Mapping[str, Any]
    benchmarks: Mapping[str, Mapping[str, Any]]
    file: str
    source: str | None = None
    message: str | None = None

    @property
    def short_commit(self) -> str:
        return self.commit[:8]

    def summary(self, benchmark: str, metric: str) -> MetricSummary | None:
        entry = self.benchmarks.get(benchmark)
        if entry is None:
            return None
        row = entry.get("metrics", {}).get(metric)
        if row is None:
            return None
        value, low, high, n_runs = row
        return MetricSummary(
            value=math.nan if value is None else float(value),
            low=None if low is None else float(low),
            high=None if high is None else float(high),
            n_runs=int(n_runs),
        )


@dataclass(frozen=True, eq=False)
class History:
    """Every record of a history directory, oldest first (by date, then append order)."""

    directory: Path
    records: tuple[Record, ...]

    def benchmark_names(self) -> list[str]:
        """Every benchmark name seen in any record, in first-seen order."""
        seen: dict[str, None] = {}
        for record in self.records:
            for name in record.benchmarks:
                seen.setdefault(name, None)
        return list(seen)

    def unit(self, benchmark: str) -> str:
        for record in reversed(self.records):
            entry = record.benchmarks.get(benchmark)
            if entry is not None:
                return str(entry.get("unit", "seconds"))
        return "seconds"

    def tagged(self) -> list[tuple[str, int]]:
        """``(tag, record index)`` for every tag, in history order."""
        return [(tag, index) for index, record in enumerate(self.records) for tag in record.tags]


@dataclass(frozen=True, eq=False)
class Series:
    """One benchmark metric over the history: parallel arrays, one entry per record holding it.

    ``low``/``high`` are NaN where no interval was recorded; ``positions``
    are the indices of those records in ``History.records``.
    """

    benchmark: str
    metric: str
    positions: np.ndarray
    commits: tuple[str, ...]
    dates: tuple[str, ...]
    values: np.ndarray
    low: np.ndarray
    high: np.ndarray
    n_runs: np.ndarray

    def __len__(self) -> int:
        return int(self.values.size)


# -- summarising a result --------------------------------------------------------


def summarize_metric(per_run: Sequence[float], confidence: float = CONFIDENCE) -> list[Any] | None:
    """``[value, low, high, n_runs]`` from per-run statistics (NaN ones dropped), None when there are none.

    ``value`` is their median; the interval is a t-interval on their logs
    (on the values themselves when one is zero), null with fewer than 2 runs.
    """
    values = np.asarray([value for value in per_run if not math.isnan(value)], dtype=np.float64)
    if values.size == 0:
        return None
    median = float(np.median(values))
    if values.size < 2:
        return [median, None, None, 1]
    log = bool((values > 0).all())
    data = np.log(values) if log else values
    center = float(data.mean())
    half = float(scipy_stats.t.ppf(0.5 + confidence / 2.0, values.size - 1) * data.std(ddof=1) / math.sqrt(values.size))
    low, high = (math.exp(center - half), math.exp(center + half)) if log else (center - half, center + half)
    return [median, low, high, int(values.size)]


def summarize_benchmark(benchmark: BenchmarkResult, *, keep_samples: bool = False) -> dict[str, Any]:
    metrics: dict[str, Any] = {}
    for metric in HISTORY_METRICS:
        row = summarize_metric([run.statistic(metric) for run in benchmark.ok_runs])
        if row is not None:
            metrics[metric] = row
    entry: dict[str, Any] = {"unit": benchmark.unit, "metrics": metrics}
    if benchmark.group is not None:
        entry["group"] = benchmark.group
    if benchmark.failed:
        entry["failed_runs"] = len(benchmark.failed_runs)
    if keep_samples:
        entry["samples"] = [run.samples.tolist() for run in benchmark.ok_runs if run.has_samples]
    return entry


# -- dates and names ---------------------------------------------------------------


def normalize_date(value: str | datetime | None) -> str:
    """An ISO 8601 date as UTC ``YYYY-MM-DDTHH:MM:SSZ`` (naive dates are taken as UTC)."""
    if value is None:
        moment = datetime.now(UTC)
    elif isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise UsageError(f"date {value!r} is not an ISO 8601 date (e.g. 2024-05-01T12:00:00Z)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_date(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def record_file_name(date: str, commit: str, *, compress: bool = True) -> str:
    """``<date>-<short commit>.json[.gz]``, e.g. ``20240501T120000Z-1a2b3c4d.json.gz``."""
    stamp = parse_date(date).strftime("%Y%m%dT%H%M%SZ")
    short = _SAFE_NAME.sub("_", commit[:12]) or "unknown"
    return f"{stamp}-{short}.json" + (".gz" if compress else "")


# -- writing -------------------------------------------------------------------------


def append_record(
    history_dir: Path,
    result: ResultSet,
    *,
    commit: str | None = None,
    parent: str | None = None,
    date: str | datetime | None = None,
    tags: Iterable[str] = (),
    branch: str | None = None,
    keep_samples: bool = False,
    message: str | None = None,
    replace: bool = False,
    compress: bool = True,
) -> Record:
    """Summarise ``result`` and add it to the history in ``history_dir`` (created if needed).

    ``commit``/``branch``/``date`` default to the result's environment
    (``git_commit``, ``git_branch``, ``collected_at`` or ``created_at``).
    A commit already in the history is an error unless ``replace``, which
    swaps its record.  Returns the record written.
    """
    environment = result.environment
    commit = commit or environment.git_commit
    if not commit:
        raise UsageError("no commit for the record: the result has no git_commit; pass the commit explicitly")
    summary = {key: getattr(environment, key) for key in _ENVIRONMENT_SUMMARY if getattr(environment, key) is not None}
    return append_summaries(
        history_dir,
        {benchmark.name: summarize_benchmark(benchmark, keep_samples=keep_samples) for benchmark in result.benchmarks},
        commit=commit,
        parent=parent,
        date=date if date is not None else (environment.collected_at or result.created_at),
        tags=tags,
        branch=branch if branch is not None else environment.git_branch,
        environment=summary,
        source=result.source,
        message=message,
        replace=replace,
        compress=compress,
    )


def append_summaries(
    history_dir: Path,
    benchmarks: Mapping[str, Mapping[str, Any]],
    *,
    commit: str,
    parent: str | None = None,
    date: str | datetime | None = None,
    tags: Iterable[str] = (),
    branch: str | None = None,
    environment: Mapping[str, Any] | None = None,
    source: str | None = None,
    message: str | None = None,
    replace: bool = False,
    compress: bool = True,
) -> Record:
    """Add a record from already summarised benchmarks (``{name: {"unit", "metrics"}}``, see the module docstring).

    The lower half of :func:`append_record`; importers and synthetic
    histories use it directly.
    """
    history_dir = Path(history_dir)
    if not commit:
        raise UsageError("a history record needs a commit")
    date_text = normalize_date(date)
    tags = tuple(dict.fromkeys(str(tag) for tag in tags if str(tag)))
    entries = read_index(history_dir) if (history_dir / INDEX_NAME).exists() else []
    existing = [entry for entry in entries if entry["commit"] == commit]
    if existing and not replace:
        raise UsageError(
            f"commit {commit} is already in the history {history_dir}; record it with --replace to overwrite it"
        )
    file_name = record_file_name(date_text, commit, compress=compress)
    document = {
        "schema_version": SCHEMA_VERSION,
        "commit": commit,
        "parent": parent,
        "date": date_text,
        "tags": list(tags),
        "branch": branch,
        "message": message,
        "source": source,
        "environment": dict(environment or {}),
        "benchmarks": {name: _rounded_entry(entry) for name, entry in benchmarks.items()},
    }
    write_atomically(history_dir / file_name, _encode(document, compress=compress))
    entries = [entry for entry in entries if entry["commit"] != commit]
    entries.append(_index_entry(document, file_name))
    write_index(history_dir, entries)
    for entry in existing:
        if entry["file"] != file_name:
            (history_dir / entry["file"]).unlink(missing_ok=True)
    return _record_from_document(document, file_name)


def _significant(value: Any) -> Any:
    # Six significant digits: far below run-to-run noise, and a third of the bytes of repr().
    if value is None:
        return None
    value = float(value)
    if not math.isfinite(value):
        return None
    return float(f"{value:.6g}")


def _rounded_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    entry = dict(entry)
    entry["metrics"] = {
        metric: [_significant(row[0]), _significant(row[1]), _significant(row[2]), int(row[3])]
        for metric, row in (entry.get("metrics") or {}).items()
    }
    return entry


def _encode(document: Mapping[str, Any], *, compress: bool) -> bytes:
    payload = json.dumps(document, allow_nan=False, separators=(",", ":"), default=_nan_to_null).encode("utf-8")
    return gzip.compress(payload, compresslevel=6, mtime=0) if compress else payload


def _nan_to_null(value: Any) -> Any:
    raise TypeError(f"cannot store {type(value).__name__} in a history record")


def _index_entry(document: Mapping[str, Any], file_name: str) -> dict[str, Any]:
    return {
        "commit": document["commit"],
        "parent": document["parent"],
        "date": document["date"],
        "tags": list(document["tags"]),
        "branch": document["branch"],
        "file": file_name,
        "benchmarks": len(document["benchmarks"]),
    }


def write_index(history_dir: Path, entries: list[dict[str, Any]]) -> None:
    index = {"schema_version": SCHEMA_VERSION, "records": entries}
    write_atomically(history_dir / INDEX_NAME, json.dumps(index, indent=1).encode("utf-8"))


# -- reading -------------------------------------------------------------------------


def _check_version(document: Any, path: Path, what: str) -> None:
    if not isinstance(document, dict) or "schema_version" not in document:
        raise InputError(path, f"not a benchwatch history {what} (no schema_version field)")
    version = document["schema_version"]
    if not isinstance(version, int) or isinstance(version, bool):
        raise InputError(path, f"schema_version must be an integer, got {version!r}")
    if version != SCHEMA_VERSION:
        raise InputError(
            path,
            f"unknown history schema_version {version} "
            f"(this benchwatch reads {SCHEMA_VERSION}; a newer one may read it)",
        )


def read_index(history_dir: Path) -> list[dict[str, Any]]:
    path = Path(history_dir) / INDEX_NAME
    if not Path(history_dir).is_dir():
        raise InputError(history_dir, "history directory not found")
    if not path.exists():
        raise InputError(history_dir, f"not a benchwatch history (no {INDEX_NAME})")
    document = read_json_document(path)
    _check_version(document, path, "index")
    records = document.get("records")
    if not isinstance(records, list) or not all(
        isinstance(entry, dict) and "file" in entry and "commit" in entry for entry in records
    ):
        raise InputError(path, "'records' must be a list of objects with 'commit' and 'file'")
    return records


def load_record(path: Path) -> Record:
    """One record file (validated and version-checked)."""
    path = Path(path)
    document = read_json_document(path)
    _check_version(document, path, "record")
    for key in ("commit", "date", "benchmarks"):
        if key not in document:
            raise InputError(path, f"history record has no {key!r} field")
    if not isinstance(document["benchmarks"], dict):
        raise InputError(path, "'benchmarks' must be an object mapping names to summaries")
    try:
        parse_date(document["date"])
    except (TypeError, ValueError):
        raise InputError(path, f"date {document['date']!r} is not YYYY-MM-DDTHH:MM:SSZ") from None
    return _record_from_document(document, path.name)


def _record_from_document(document: Mapping[str, Any], file_name: str) -> Record:
    return Record(
        commit=str(document["commit"]),
        parent=document.get("parent"),
        date=document["date"],
        tags=tuple(document.get("tags") or ()),
        branch=document.get("branch"),
        environment=document.get("environment") or {},
        benchmarks=document["benchmarks"],
        file=file_name,
        source=document.get("source"),
        message=document.get("message"),
    )


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of small acyclic objects.

    Parsing a history makes a few million dicts and lists; the collector
    would scan them again and again (about half the load time) although
    they hold no reference cycles.  Reference counting still frees them.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_history(history_dir: Path) -> History:
    """Read the index and every record it lists; records sorted by date, then append order."""
    history_dir = Path(history_dir)
    entries = read_index(history_dir)
    with paused_gc():
        records = [load_record(history_dir / entry["file"]) for entry in entries]
    order = sorted(range(len(records)), key=lambda i: (records[i].date, i))
    return History(directory=history_dir, records=tuple(records[i] for i in order))


def series(history: History, benchmark: str, metric: str) -> Series:
    """``benchmark``'s ``metric`` over the history (records that lack it are skipped)."""
    positions, commits, dates, rows = [], [], [], []
    for position, record in enumerate(history.records):
        entry = record.benchmarks.get(benchmark)
        if entry is None:
            continue
        row = entry.get("metrics", {}).get(metric)
        if row is None or row[0] is None:
            continue
        positions.append(position)
        commits.append(record.commit)
        dates.append(record.date)
        rows.append(row)
    table = np.array(
        [[row[0], np.nan if row[1] is None else row[1], np.nan if row[2] is None else row[2], row[3]] for row in rows],
        dtype=np.float64,
    ).reshape(-1, 4)
    return Series(
        benchmark=benchmark,
        metric=metric,
        positions=np.asarray(positions, dtype=np.int64),
        commits=tuple(commits),
        dates=tuple(dates),
        values=table[:, 0].copy(),
        low=table[:, 1].copy(),
        high=table[:, 2].copy(),
        n_runs=table[:, 3].astype(np.int64),
    )


def metric_table(history: History, metric: str, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``metric`` of every benchmark in ``names`` at every record: (values, low, high), each records x names.

    NaN where a record lacks the benchmark, the metric or its interval.  One
    pass over the records: the fast way to read many series at once.
    """
    column = {name: index for index, name in enumerate(names)}
    shape = (len(history.records), len(names))
    values, low, high = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    for r, record in enumerate(history.records):
        value_row, low_row, high_row = values[r], low[r], high[r]
        for name, entry in record.benchmarks.items():
            c = column.get(name)
            if c is None:
                continue
            row = entry.get("metrics", {}).get(metric)
            if row is None:
                continue
            if row[0] is not None:
                value_row[c] = row[0]
            if row[1] is not None:
                low_row[c] = row[1]
            if row[2] is not None:
                high_row[c] = row[2]
    return values, low, high
