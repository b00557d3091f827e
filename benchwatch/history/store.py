"""The history store: one summary record per recorded commit, kept as Parquet files in a directory.

Layout and concurrency: :mod:`benchwatch.history.layout`; file format:
:mod:`benchwatch.history.columnar`; the schema for readers in pandas,
polars or DuckDB: docs/history.md.  DuckDB (the ``history`` extra) is the
query engine; it is imported only when a history is read or written.

A record holds the commit, its parent, the date (UTC), tags, the branch, an
environment summary and, per benchmark and metric (p50, p95, p99, mean,
peak_memory, allocations), ``[value, low, high, n_runs]``:

* ``value`` -- the median over runs of the per-run statistic
  (:meth:`benchwatch.model.BenchmarkResult.statistic`);
* ``low``/``high`` -- a 95% t-interval across runs on the log of the per-run
  statistics (so it brackets their geometric mean; a plain t-interval when a
  statistic is zero), ``null`` with fewer than 2 runs;
* ``n_runs`` -- how many runs gave the statistic.

Raw samples are left out unless asked for (``keep_samples``).  Values are
stored with six significant digits, far below run-to-run noise.

Writers: every append holds the history's writer lock while it checks for
the commit and writes its file, so concurrent ``benchwatch record`` calls
all land (tests/test_history_concurrency.py runs four at once).  Readers
take no lock: files appear and disappear by atomic renames.
"""

from __future__ import annotations

import gc
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from benchwatch.errors import UsageError
from benchwatch.history import columnar, layout
from benchwatch.history.loaded import Series, metric_table, series
from benchwatch.history.summary import (
    CONFIDENCE,
    HISTORY_METRICS,
    date_epoch,
    date_text,
    normalize_date,
    parse_date,
    summarize_benchmark,
    summarize_metric,
)
from benchwatch.model import Environment, ResultSet

SCHEMA_VERSION = layout.SCHEMA_VERSION
CommitRow = columnar.CommitRow
__all__ = [
    "CONFIDENCE",
    "HISTORY_METRICS",
    "CommitRow",
    "History",
    "PendingRecord",
    "Record",
    "Series",
    "append_batch",
    "append_columns",
    "append_record",
    "append_summaries",
    "date_epoch",
    "date_text",
    "load_history",
    "metric_table",
    "normalize_date",
    "parse_date",
    "read_commits",
    "read_metric",
    "series",
    "summarize_benchmark",
    "summarize_metric",
]
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
    {metric: [value, low, high, n_runs]}}`` (and ``"samples"`` when kept).
    Use :meth:`summary` for a typed view.  ``file`` is the record file's
    name under ``records/``.
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
    author: str | None = None
    repo_url: str | None = None  # the repository's web address: the trend report links commits under it

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
    """Every record of a history directory, oldest first (by date, then by when recorded)."""

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


# -- writing -------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingRecord:
    """A summarised record before it is written: what :func:`append_batch` takes."""

    commit: str
    date: str
    benchmarks: Mapping[str, Mapping[str, Any]]
    parent: str | None = None
    tags: tuple[str, ...] = ()
    branch: str | None = None
    environment: Mapping[str, Any] | None = None
    source: str | None = None
    message: str | None = None
    author: str | None = None
    repo_url: str | None = None


def environment_summary(environment: Environment) -> dict[str, Any]:
    """The environment fields a record keeps (the ones that are set)."""
    return {key: getattr(environment, key) for key in _ENVIRONMENT_SUMMARY if getattr(environment, key) is not None}


def pending_from_result(
    result: ResultSet,
    *,
    commit: str | None = None,
    parent: str | None = None,
    date: str | datetime | None = None,
    tags: Iterable[str] = (),
    branch: str | None = None,
    keep_samples: bool = False,
    message: str | None = None,
    author: str | None = None,
    repo_url: str | None = None,
) -> PendingRecord:
    """Summarise ``result``; commit, branch and date default to its environment."""
    environment = result.environment
    commit = commit or environment.git_commit
    if not commit:
        raise UsageError("no commit for the record: the result has no git_commit; pass the commit explicitly")
    summary = environment_summary(environment)
    return PendingRecord(
        commit=commit,
        parent=parent,
        date=normalize_date(date if date is not None else (environment.collected_at or result.created_at)),
        tags=tuple(tags),
        branch=branch if branch is not None else environment.git_branch,
        environment=summary,
        source=result.source,
        message=message,
        author=author,
        repo_url=repo_url,
        benchmarks={
            benchmark.name: summarize_benchmark(benchmark, keep_samples=keep_samples) for benchmark in result.benchmarks
        },
    )


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
    author: str | None = None,
    repo_url: str | None = None,
    replace: bool = False,
) -> Record:
    """Summarise ``result`` and add it to the history in ``history_dir`` (created if needed).

    A commit already in the history is an error unless ``replace``, which
    swaps its record.  Returns the record written.
    """
    pending = pending_from_result(
        result,
        commit=commit,
        parent=parent,
        date=date,
        tags=tags,
        branch=branch,
        keep_samples=keep_samples,
        message=message,
        author=author,
        repo_url=repo_url,
    )
    return append_batch(history_dir, [pending], replace=replace)[0]


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
    author: str | None = None,
    repo_url: str | None = None,
    replace: bool = False,
) -> Record:
    """Add a record from already summarised benchmarks (``{name: {"unit", "metrics"}}``)."""
    pending = PendingRecord(
        commit=commit,
        parent=parent,
        date=normalize_date(date),
        tags=tuple(tags),
        branch=branch,
        environment=environment,
        source=source,
        message=message,
        author=author,
        repo_url=repo_url,
        benchmarks=benchmarks,
    )
    return append_batch(history_dir, [pending], replace=replace)[0]


def append_batch(history_dir: Path, pending: Sequence[PendingRecord], *, replace: bool = False) -> list[Record]:
    """Write several records as one file, under the writer lock (importers use this: one file per batch).

    Raises UsageError when a commit is already in the history (unless
    ``replace``) or appears twice in the batch; nothing is written then.
    """
    if not pending:
        return []
    documents = [record_document(item) for item in pending]
    name = _write_documents(history_dir, documents, None, replace=replace)
    return [_record_from_document(document, name) for document in documents]


def append_columns(
    history_dir: Path, pending: Sequence[tuple[PendingRecord, Mapping[str, np.ndarray]]], *, replace: bool = False
) -> list[str]:
    """Like :func:`append_batch` for records whose benchmarks are columns already (``columnar.benchmark_row_table``).

    The importers' fast path: no dict per benchmark.  Returns the commits written.
    """
    if not pending:
        return []
    documents = [record_document(item) for item, _ in pending]
    _write_documents(history_dir, documents, columnar.stack_rows([rows for _, rows in pending]), replace=replace)
    return [document["commit"] for document in documents]


def _write_documents(
    history_dir: Path, documents: list[dict[str, Any]], rows: Mapping[str, np.ndarray] | None, *, replace: bool
) -> str:
    """Check the commits and write one record file under the writer lock; returns its name."""
    commits = [document["commit"] for document in documents]
    if not all(commits):
        raise UsageError("a history record needs a commit")
    if len(set(commits)) != len(commits):
        duplicate = next(commit for commit in commits if commits.count(commit) > 1)
        raise UsageError(f"commit {duplicate} appears twice in one batch of records")
    history_dir = layout.check_history(history_dir, create=True)
    with layout.writer_lock(history_dir):
        holders = columnar.commits_in_files(history_dir)
        present = set().union(*holders.values()) if holders else set()
        clash = [commit for commit in commits if commit in present]
        if clash and not replace:
            raise UsageError(
                f"commit {clash[0]} is already in the history {history_dir}; record it with --replace to overwrite it"
            )
        if clash:
            _keep_old_tags(history_dir, documents, set(clash))
        first = documents[0]
        name = layout.record_file_name(parse_date(first["date"]).strftime("%Y%m%dT%H%M%SZ"), first["commit"])
        columnar.write_record_file(history_dir, documents, name, rows)
        # The new file is in place: now drop the replaced commits from the older files.
        replaced = set(clash)
        for path, held in holders.items():
            if held & replaced:
                columnar.rewrite_without(history_dir, path, held & replaced)
    return name


def _keep_old_tags(history_dir: Path, documents: list[dict[str, Any]], replaced: set[str]) -> None:
    """A replaced record's tags stay on the new one (a re-run of v1.4's commit is still v1.4), after its own."""
    old = {row.commit: row.tags for row in columnar.read_commit_rows(history_dir) if row.commit in replaced}
    for document in documents:
        if document["commit"] in old:
            document["tags"] = list(dict.fromkeys([*document["tags"], *old[document["commit"]]]))


def record_document(item: PendingRecord) -> dict[str, Any]:
    date = normalize_date(item.date)
    return {
        "commit": str(item.commit),
        "parent": item.parent,
        "date": date,
        "date_epoch": date_epoch(date),
        "tags": list(dict.fromkeys(str(tag) for tag in item.tags if str(tag))),
        "branch": item.branch,
        "message": item.message,
        "author": item.author,
        "repo_url": item.repo_url,
        "source": item.source,
        "environment": dict(item.environment or {}),
        "benchmarks": {name: _rounded_entry(entry) for name, entry in item.benchmarks.items()},
    }


def _significant(value: Any) -> Any:
    # Six significant digits: far below run-to-run noise.
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
        author=document.get("author"),
        repo_url=document.get("repo_url"),
    )


# -- reading -------------------------------------------------------------------------


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small acyclic objects."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_commits(history_dir: Path) -> list[columnar.CommitRow]:
    """Each record's own fields (commit, date, tags ...), oldest first, without benchmark data."""
    history_dir = layout.check_history(history_dir, create=False)
    return columnar.read_commit_rows(history_dir)


def load_history(history_dir: Path, *, commits: Iterable[str] | None = None, samples: bool = False) -> History:
    """Records of a history with their benchmark data (all, or those of ``commits``), oldest first.

    Builds a dict per benchmark per record: for large histories read
    columns with :func:`read_metric` instead.
    """
    history_dir = layout.check_history(history_dir, create=False)
    rows = columnar.read_commit_rows(history_dir)
    if commits is not None:
        wanted = set(commits)
        rows = [row for row in rows if row.commit in wanted]
    entries = _benchmark_entries(history_dir, [row.commit for row in rows], samples=samples)
    with paused_gc():
        records = tuple(_record_from_row(row, entries.get(row.commit, {})) for row in rows)
    return History(directory=history_dir, records=records)


def _record_from_row(row: columnar.CommitRow, benchmarks: Mapping[str, Mapping[str, Any]]) -> Record:
    try:
        environment = json.loads(row.environment) if row.environment else {}
    except ValueError:
        environment = {}
    return Record(
        commit=row.commit,
        parent=row.parent,
        date=date_text(row.date_epoch),
        tags=row.tags,
        branch=row.branch,
        environment=environment,
        benchmarks=benchmarks,
        file=row.file,
        source=row.source,
        message=row.message,
        author=row.author,
        repo_url=row.repo_url,
    )


def _benchmark_entries(history_dir: Path, commits: Sequence[str], *, samples: bool) -> dict[str, dict[str, Any]]:
    metric_names = [name for metric in HISTORY_METRICS for name in columnar.metric_columns(metric)]
    columns = ["benchmark", "unit", "bench_group", "failed_runs", *metric_names] + (["samples"] if samples else [])
    wanted = set(commits)

    def build(connection: Any, files: Sequence[Path]) -> list[tuple[Any, ...]]:
        if connection is None:
            return []
        sql = columnar.latest_rows_sql(connection, files, columns)
        result: list[tuple[Any, ...]] = connection.execute(
            f"SELECT * FROM ({sql}) WHERE benchmark IS NOT NULL"
        ).fetchall()
        return result

    entries: dict[str, dict[str, Any]] = {}
    with paused_gc():
        for row in columnar.query(history_dir, build):
            commit = row[0]
            if commit not in wanted:
                continue
            name, unit, group, failed = row[2:6]
            metrics = {}
            for k, metric in enumerate(HISTORY_METRICS):
                value, low, high, runs = row[6 + 4 * k : 10 + 4 * k]
                if runs is not None:
                    metrics[metric] = [value, low, high, int(runs)]
            entry: dict[str, Any] = {"unit": unit, "metrics": metrics}
            if group is not None:
                entry["group"] = group
            if failed:
                entry["failed_runs"] = int(failed)
            if samples and row[-1] is not None:
                entry["samples"] = row[-1]
            entries.setdefault(commit, {})[name] = entry
    return entries


@dataclass(frozen=True, eq=False)
class MetricColumns:
    """One metric of many benchmarks at every record: arrays of shape (records, benchmarks), NaN where absent."""

    metric: str
    values: np.ndarray
    low: np.ndarray
    high: np.ndarray


def benchmark_units(history_dir: Path) -> dict[str, str]:
    """Every benchmark name with its unit (from its latest record), in name order."""

    def build(connection: Any, files: Sequence[Path]) -> dict[str, str]:
        if connection is None:
            return {}
        sql = columnar.latest_rows_sql(connection, files, ["benchmark", "unit"])
        rows = connection.execute(
            f"SELECT benchmark, arg_max(unit, recorded_ns) FROM ({sql}) WHERE benchmark IS NOT NULL "
            "GROUP BY benchmark ORDER BY benchmark"
        ).fetchall()
        return {name: unit or "seconds" for name, unit in rows}

    history_dir = layout.check_history(history_dir, create=False)
    result: dict[str, str] = columnar.query(history_dir, build)
    return result


def read_metric(
    history_dir: Path, metric: str, commits: Sequence[str], names: Sequence[str], *, intervals: bool = True
) -> MetricColumns:
    """``metric`` of the benchmarks ``names`` at the records ``commits``; reads only that metric's columns.

    Without ``intervals`` the low/high columns are not read (returned as NaN).  Arrays of NaN only are
    read-only views.
    """
    if metric not in HISTORY_METRICS:
        raise UsageError(f"unknown metric {metric!r} (one of {', '.join(HISTORY_METRICS)})")
    value, low, high, _ = columnar.metric_columns(metric)
    wanted = [value, low, high] if intervals else [value]
    shape = (len(commits), len(names))

    # Columns not read, or with nothing found, are one read-only NaN view: at 10,000 series x 165 records
    # each full array is 13 MB that a trend build would fill and discard.
    missing = np.broadcast_to(np.float64(np.nan), shape)

    def build(connection: Any, files: Sequence[Path]) -> MetricColumns:
        if connection is None or not commits or not names:
            return MetricColumns(metric, missing, missing, missing)
        connection.register(
            "wanted_commits", {"commit": np.array(commits, dtype=object), "r": np.arange(len(commits), dtype=np.int32)}
        )
        connection.register(
            "wanted_names", {"benchmark": np.array(names, dtype=object), "b": np.arange(len(names), dtype=np.int32)}
        )
        sql = columnar.latest_rows_sql(connection, files, ["benchmark", *wanted])
        selected = ", ".join(f'"{column}"' for column in wanted)
        found = connection.execute(
            f"SELECT r, b, {selected} FROM ({sql}) JOIN wanted_commits USING (commit) "
            f'JOIN wanted_names USING (benchmark) WHERE "{value}" IS NOT NULL'
        ).fetchnumpy()
        rows, columns = np.asarray(found.pop("r")), np.asarray(found.pop("b"))
        arrays = [missing, missing, missing]
        if rows.size:
            for k, key in enumerate(wanted):
                arrays[k] = np.full(shape, np.nan)
                arrays[k][rows, columns] = np.ma.filled(np.ma.asarray(found.pop(key), dtype=np.float64), np.nan)
        return MetricColumns(metric, *arrays)

    history_dir = layout.check_history(history_dir, create=False)
    result: MetricColumns = columnar.query(history_dir, build)
    return result
