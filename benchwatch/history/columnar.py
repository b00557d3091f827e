"""Record files as Parquet, written and queried with DuckDB.

One row per (record, benchmark), wide: the record's own fields repeat on each
of its rows (Parquet's dictionary and run-length encodings store them once
per row group), then the benchmark's unit and, per metric, four columns
``<metric>``, ``<metric>_low``, ``<metric>_high`` and ``<metric>_runs``.
A query for p50 reads the ``p50*`` columns and nothing else.

A commit may sit in more than one file for a moment (``--replace`` writes
the new record before it drops the old one; a crash can leave both): every
reader keeps, per commit, the rows with the largest ``recorded_ns``.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchwatch.errors import InputError
from benchwatch.history import layout
from benchwatch.model import ALL_METRICS
from benchwatch.output import OutputError, publish_written, write_problem

HISTORY_METRICS = ALL_METRICS
RECORD_COLUMNS = (
    "commit",
    "parent",
    "date",
    "tags",
    "branch",
    "message",
    "source",
    "environment",
    "recorded_ns",
    "schema_version",
)
# Added within schema version 2: files written before them lack the columns, read as NULL.
OPTIONAL_RECORD_COLUMNS = ("author", "repo_url")
_READ_ATTEMPTS = 3


def metric_columns(metric: str) -> tuple[str, str, str, str]:
    return metric, f"{metric}_low", f"{metric}_high", f"{metric}_runs"


@dataclass(frozen=True)
class CommitRow:
    """One record's own fields (no benchmark data), as read back."""

    commit: str
    parent: str | None
    date_epoch: float
    tags: tuple[str, ...]
    branch: str | None
    message: str | None
    source: str | None
    environment: str | None
    recorded_ns: int
    benchmarks: int
    file: str
    author: str | None = None
    repo_url: str | None = None


# -- writing -----------------------------------------------------------------------------


def _record_table(documents: Sequence[Mapping[str, Any]], recorded_ns: int) -> dict[str, np.ndarray]:
    def column(key: str) -> np.ndarray:
        return np.array([document.get(key) for document in documents], dtype=object)

    return {
        "rec": np.arange(len(documents), dtype=np.int32),
        "commit": column("commit"),
        "parent": column("parent"),
        "date_epoch": np.array([float(document["date_epoch"]) for document in documents]),
        "tags_json": np.array([json.dumps(list(document.get("tags") or ())) for document in documents], dtype=object),
        "branch": column("branch"),
        "message": column("message"),
        "author": column("author"),
        "repo_url": column("repo_url"),
        "source": column("source"),
        "environment": np.array(
            [json.dumps(dict(document.get("environment") or {}), sort_keys=True) for document in documents],
            dtype=object,
        ),
        # Later writes win on a duplicate commit; the offset keeps a batch's own order.
        "recorded_ns": recorded_ns + np.arange(len(documents), dtype=np.int64),
    }


def _row_table(documents: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    tables = []
    for document in documents:
        entries = document["benchmarks"]
        metrics = {}
        for metric in HISTORY_METRICS:
            rows = [_row_values(entry.get("metrics", {}).get(metric)) for entry in entries.values()]
            matrix = np.array(rows, dtype=np.float64).reshape(-1, 4)
            metrics[metric] = (matrix[:, 0], matrix[:, 1], matrix[:, 2], matrix[:, 3].astype(np.int32))
        table = benchmark_row_table(
            list(entries),
            [entry.get("unit") for entry in entries.values()],
            [entry.get("failed_runs", 0) for entry in entries.values()],
            metrics,
            groups=[entry.get("group") for entry in entries.values()],
            samples=[
                json.dumps(entry["samples"]) if entry.get("samples") is not None else None for entry in entries.values()
            ],
        )
        tables.append(table)
    return stack_rows(tables)


def benchmark_row_table(
    names: Sequence[str | None],
    units: Sequence[str | None],
    failed: Sequence[int],
    metrics: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
    *,
    groups: Sequence[str | None] | None = None,
    samples: Sequence[str | None] | None = None,
) -> dict[str, np.ndarray]:
    """One record's benchmark rows as columns; ``metrics`` maps a metric to (value, low, high, runs), NaN/-1 absent.

    Metrics not given are absent.  :func:`stack_rows` joins the tables of a
    batch for :func:`write_record_file`.
    """
    count = len(names)
    nothing = np.array([None] * count, dtype=object)
    table: dict[str, np.ndarray] = {
        "benchmark": np.array(names, dtype=object),
        "unit": np.array(units, dtype=object),
        "bench_group": nothing if groups is None else np.array(groups, dtype=object),
        "failed_runs": np.array(failed, dtype=np.int32),
        "samples_json": nothing if samples is None else np.array(samples, dtype=object),
    }
    for metric in HISTORY_METRICS:
        value, low, high, runs = metric_columns(metric)
        if metric in metrics:
            table[value], table[low], table[high], table[runs] = metrics[metric]
        else:
            table[value] = table[low] = table[high] = np.full(count, np.nan)
            table[runs] = np.full(count, -1, dtype=np.int32)
    return table


def stack_rows(tables: Sequence[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The rows of several records (in order) as one table with their record's position in ``rec``."""
    # An empty record still needs one row, or its commit would vanish.
    tables = [table if len(table["benchmark"]) else benchmark_row_table([None], [None], [0], {}) for table in tables]
    rows = {key: np.concatenate([table[key] for table in tables]) for key in tables[0]}
    rows["rec"] = np.repeat(np.arange(len(tables), dtype=np.int32), [len(table["benchmark"]) for table in tables])
    return rows


def _row_values(row: Sequence[Any] | None) -> tuple[float, float, float, int]:
    """A stored ``[value, low, high, n_runs]`` with NaN for nulls (-1 runs: absent); numpy turns it into columns."""
    if row is None:
        return _ABSENT
    value, low, high, runs = row
    return (
        np.nan if value is None else value,
        np.nan if low is None else low,
        np.nan if high is None else high,
        runs,
    )


_ABSENT = (np.nan, np.nan, np.nan, -1)


def _select_list() -> str:
    def nullable(column: str) -> str:
        return f'CASE WHEN isfinite(i."{column}") THEN i."{column}" END AS "{column}"'

    metric_parts = []
    for metric in HISTORY_METRICS:
        value, low, high, runs = metric_columns(metric)
        metric_parts += [nullable(value), nullable(low), nullable(high), f'NULLIF(i."{runs}", -1) AS "{runs}"']
    return ",\n".join(
        [
            "CAST(2 AS UTINYINT) AS schema_version",
            "r.commit",
            "r.parent",
            "to_timestamp(r.date_epoch) AS date",
            "from_json(r.tags_json, '[\"VARCHAR\"]') AS tags",
            "r.branch",
            "r.message",
            "r.author",
            "r.repo_url",
            "r.source",
            "r.environment",
            "r.recorded_ns",
            "i.benchmark",
            "i.unit",
            "i.bench_group",
            "i.failed_runs",
            *metric_parts,
            "from_json(i.samples_json, '[[\"DOUBLE\"]]') AS samples",
        ]
    )


def write_record_file(
    history_dir: Path,
    documents: Sequence[Mapping[str, Any]],
    file_name: str,
    rows: Mapping[str, np.ndarray] | None = None,
) -> Path:
    """Write ``documents`` (records with ``date_epoch`` and ``benchmarks``) as one Parquet file, atomically.

    ``rows``: the benchmark rows as columns already (:func:`stack_rows`); the
    documents' ``benchmarks`` are then not read.
    """
    target = layout.records_dir(history_dir) / file_name
    temporary = layout.temporary_path(target)
    connection = layout.connect()
    try:
        connection.register("records_in", _record_table(documents, time.time_ns()))
        connection.register("rows_in", dict(rows) if rows is not None else _row_table(documents))
        with _writing(target):
            connection.execute(
                f"COPY (SELECT {_select_list()} FROM rows_in i JOIN records_in r USING (rec) ORDER BY i.rec) "
                f"TO {layout.sql_string(temporary)} (FORMAT parquet, COMPRESSION zstd)"
            )
            publish_written(temporary, target)
    finally:
        connection.close()
        temporary.unlink(missing_ok=True)
    return target


@contextmanager
def _writing(target: Path) -> Iterator[None]:
    """A failed write (a full disk, a read-only folder) as one line naming the file, not a traceback."""
    duckdb = layout.duckdb_module()
    try:
        yield
    except OSError as error:
        raise OutputError(target, write_problem(error)) from None
    except duckdb.IOException as error:
        text = " ".join(str(error).split())
        problem = "no space left on device" if "no space left" in text.lower() else text
        raise OutputError(target, f"cannot write: {problem}") from None


def rewrite_without(history_dir: Path, path: Path, commits: Iterable[str]) -> None:
    """Drop ``commits`` from one record file: rewritten atomically, or deleted when nothing remains."""
    path = layout.owned_record_file(history_dir, path)
    dropped = sorted(set(commits))
    connection = layout.connect()
    try:
        connection.register("dropped", {"commit": np.array(dropped or [""], dtype=object)})
        source = f"read_parquet({layout.sql_string(path)})"
        remaining = connection.execute(
            f"SELECT count(*) FROM {source} WHERE commit NOT IN (SELECT commit FROM dropped)"
        ).fetchone()[0]
        if remaining == 0:
            path.unlink(missing_ok=True)
            return
        temporary = layout.temporary_path(path)
        try:
            with _writing(path):
                connection.execute(
                    f"COPY (SELECT * FROM {source} WHERE commit NOT IN (SELECT commit FROM dropped)) "
                    f"TO {layout.sql_string(temporary)} (FORMAT parquet, COMPRESSION zstd)"
                )
                publish_written(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    finally:
        connection.close()


# -- reading -------------------------------------------------------------------------------


def _source(files: Sequence[Path]) -> str:
    listing = ", ".join(layout.sql_string(path) for path in files)
    return f"read_parquet([{listing}], filename = true, union_by_name = true)"


_SUPERSEDED: dict[tuple[tuple[str, int, int], ...], list[tuple[str, int]]] = {}


def _superseded(connection: Any, files: Sequence[Path]) -> list[tuple[str, int]]:
    """(commit, recorded_ns) of records a later record of the same commit replaced; cached per file set."""
    key = tuple((str(path), path.stat().st_mtime_ns, path.stat().st_size) for path in files)
    if key not in _SUPERSEDED:
        rows = connection.execute(
            f"SELECT commit, recorded_ns FROM (SELECT DISTINCT commit, recorded_ns FROM {_source(files)}) "
            "QUALIFY recorded_ns < max(recorded_ns) OVER (PARTITION BY commit)"
        ).fetchall()
        _SUPERSEDED.clear()
        _SUPERSEDED[key] = [(str(commit), int(ns)) for commit, ns in rows]
    return _SUPERSEDED[key]


def latest_rows_sql(connection: Any, files: Sequence[Path], columns: Sequence[str]) -> str:
    """SQL over the rows of each commit's latest record (see the module docstring), with ``columns``.

    Usually no commit has two records, and the query is a plain scan of the
    wanted columns; otherwise the replaced records' rows are anti-joined away.
    """
    wanted = ", ".join(f'"{column}"' for column in dict.fromkeys(["commit", "recorded_ns", *columns]))
    replaced = _superseded(connection, files)
    if not replaced:
        return f"SELECT {wanted} FROM {_source(files)}"
    connection.register(
        "superseded",
        {
            "commit": np.array([commit for commit, _ in replaced], dtype=object),
            "recorded_ns": np.array([ns for _, ns in replaced], dtype=np.int64),
        },
    )
    return (
        f"SELECT {wanted} FROM {_source(files)} AS rows "
        "ANTI JOIN superseded ON rows.commit = superseded.commit AND rows.recorded_ns = superseded.recorded_ns"
    )


def query(history_dir: Path, build: Any) -> Any:
    """Run ``build(connection, files)`` over the current record files, retrying if a writer swapped one away."""
    duckdb = layout.duckdb_module()
    last_error: Exception | None = None
    for _ in range(_READ_ATTEMPTS):
        files = layout.record_files(history_dir)
        if not files:
            return build(None, [])
        connection = layout.connect()
        try:
            return build(connection, files)
        except duckdb.IOException as error:
            # A concurrent --replace or prune renamed or removed a file between listing and reading.
            last_error = error
            if all(path.exists() for path in files):
                break
        except duckdb.Error as error:
            raise _unreadable(history_dir, files, build, error) from None
        finally:
            connection.close()
    raise _unreadable(history_dir, layout.record_files(history_dir), build, last_error)


def _unreadable(history_dir: Path, files: Sequence[Path], build: Any, error: Exception | None) -> InputError:
    """The error naming the record file that fails ``build`` on its own, and the command that moves it aside.

    DuckDB's message for a file damaged in the middle (``don't know what
    type: ``) names no file; trying each file alone finds it.  Moved aside
    (any name not ending in ``.parquet``), the rest of the history reads
    and ``record`` can add to it again.
    """
    duckdb = layout.duckdb_module()
    for path in files:
        connection = layout.connect()
        try:
            build(connection, [path])
        except duckdb.Error as own:
            return InputError(
                path,
                f"unreadable record file: {_first_line(own)}; move it aside to go on: "
                f"mv {shlex.quote(str(path))} {shlex.quote(str(path) + '.unreadable')}",
            )
        finally:
            connection.close()
    return InputError(layout.records_dir(history_dir), f"unreadable record file: {_first_line(error)}")


def _first_line(error: Exception | None) -> str:
    return str(error).strip().splitlines()[0] if error is not None and str(error).strip() else "unknown error"


def read_commit_rows(history_dir: Path) -> list[CommitRow]:
    """Every record's own fields, oldest first (by date, then by when it was recorded)."""

    def build(connection: Any, files: Sequence[Path]) -> list[CommitRow]:
        if connection is None:
            return []
        _check_versions(connection, files, history_dir)
        present = {row[0] for row in connection.execute(f"DESCRIBE SELECT * FROM {_source(files)}").fetchall()}
        optional = [column for column in OPTIONAL_RECORD_COLUMNS if column in present]
        extra = "".join(
            f", any_value({column})" if column in present else ", NULL" for column in OPTIONAL_RECORD_COLUMNS
        )
        columns = [*RECORD_COLUMNS[1:-1], *optional, "benchmark", "filename"]
        rows = connection.execute(
            "SELECT commit, any_value(parent), epoch(any_value(date)), any_value(tags), any_value(branch), "
            "any_value(message), any_value(source), any_value(environment), recorded_ns, count(benchmark), "
            f"any_value(filename){extra} "
            f"FROM ({latest_rows_sql(connection, files, columns)}) "
            "GROUP BY commit, recorded_ns ORDER BY 3, recorded_ns"
        ).fetchall()
        return [
            CommitRow(
                commit=row[0],
                parent=row[1],
                date_epoch=float(row[2]),
                tags=tuple(row[3] or ()),
                branch=row[4],
                message=row[5],
                source=row[6],
                environment=row[7],
                recorded_ns=int(row[8]),
                benchmarks=int(row[9]),
                file=Path(row[10]).name,
                author=row[11],
                repo_url=row[12],
            )
            for row in rows
        ]

    result: list[CommitRow] = query(history_dir, build)
    return result


def _check_versions(connection: Any, files: Sequence[Path], history_dir: Path) -> None:
    versions = connection.execute(f"SELECT DISTINCT schema_version FROM {_source(files)}").fetchall()
    for (version,) in versions:
        if version != layout.SCHEMA_VERSION:
            raise InputError(
                layout.records_dir(history_dir),
                f"a record file has history schema_version {version} (this benchwatch reads {layout.SCHEMA_VERSION})",
            )


def commits_in_files(history_dir: Path) -> dict[Path, set[str]]:
    """Which commits each record file holds (all rows, superseded ones too): what replace and prune rewrite."""

    def build(connection: Any, files: Sequence[Path]) -> dict[Path, set[str]]:
        if connection is None:
            return {}
        found: dict[Path, set[str]] = {}
        for commit, name in connection.execute(f"SELECT DISTINCT commit, filename FROM {_source(files)}").fetchall():
            found.setdefault(Path(name), set()).add(commit)
        return found

    result: dict[Path, set[str]] = query(history_dir, build)
    return result
