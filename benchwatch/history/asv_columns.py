"""asv results straight into history columns: ``history import-asv`` without an object per series per commit.

The adapter (:mod:`benchwatch.adapters.asv`) turns every series of every
result file into a ``Run`` and a ``BenchmarkResult``, which ``compare``
needs; an import of a large project's history (10,600 series x 165 commits,
1.75 million series-commits) spent half its time building and summarising
those objects.  Here each result file becomes one tuple of per-run metric
values per series, a commit's files are merged by name, and the columns go
to the record file as arrays.

The rows are the ones the object path writes: the same validation (shared
with the adapter), the same per-run statistics (``Run.statistic``), the
same summary (``summarize_benchmark``: one run as is, several through
``summarize_metric``) and six significant digits.  tests/test_asv_columns.py
compares both paths on the committed asv fixtures and on variants of them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchwatch.adapters import asv
from benchwatch.adapters.json_values import json_object
from benchwatch.errors import InputError
from benchwatch.history import columnar
from benchwatch.history.summary import summarize_metric

# The metrics an asv run can have (Run.statistic): latency from the value or the samples, memory from mem_/peakmem_.
RUN_METRICS = ("p50", "p95", "p99", "mean", "peak_memory", "allocations")
_NAN = math.nan
_MISSING = (_NAN,) * len(RUN_METRICS)
_QUANTILES = (0.5, 0.95, 0.99)


@dataclass(frozen=True, eq=False)
class FileRuns:
    """One result file as columns: per series its name, unit, whether it ran, and its run's metric values."""

    names: list[str]
    units: list[str]
    ok: list[bool]
    values: list[tuple[float, ...]]  # RUN_METRICS order, NaN where the run lacks the metric


def _run_values(kind: str, value: Any, samples: Any) -> tuple[float, ...]:
    """The run's statistics as ``Run.statistic`` gives them for the run the adapter would build."""
    if kind in ("memory", "peakmemory"):
        return (_NAN, _NAN, _NAN, _NAN, float(int(value)), 0.0)
    if kind == "time" and isinstance(samples, list) and samples:
        array = np.array(samples, dtype=np.float64).reshape(-1)
        p50, p95, p99 = (float(np.quantile(array, q)) for q in _QUANTILES)
        return (p50, p95, p99, float(np.mean(array)), _NAN, _NAN)
    return (float(value), _NAN, _NAN, _NAN, _NAN, _NAN)


def file_runs(path: Path, document: dict[str, Any], benchmarks_meta: dict[str, Any]) -> FileRuns:
    """One checked asv result document as per-series runs (InputError where the adapter would raise one)."""
    runs = FileRuns([], [], [], [])
    for bench_name, row in asv.result_rows(document, path):
        expanded = asv.expand_benchmark(path, bench_name, row, json_object(benchmarks_meta.get(bench_name)))
        samples = row.get("samples") if expanded.kind == "time" else None
        runs.names.extend(expanded.names)
        runs.units.extend([expanded.unit] * len(expanded.names))
        for index, value in enumerate(expanded.values):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                runs.ok.append(False)
                runs.values.append(_MISSING)
                continue
            asv.check_value(path, expanded.names[index], value)
            runs.ok.append(True)
            at = samples[index] if isinstance(samples, list) and index < len(samples) else None
            runs.values.append(_run_values(expanded.kind, value, at))
    if not runs.names:
        raise InputError(path, "no benchmarks in the asv result file")
    return runs


def _significant(values: np.ndarray) -> np.ndarray:
    """Six significant digits, as the history stores every figure (non-finite: NaN, i.e. null)."""
    out = np.full(values.shape, np.nan)
    finite = np.isfinite(values)
    out[finite] = [float(f"{value:.6g}") for value in values[finite].tolist()]
    return out


def commit_rows(files: Sequence[FileRuns]) -> dict[str, np.ndarray]:
    """A commit's row columns (``columnar.benchmark_row_table``) from its files' runs, merged by name."""
    if len(files) == 1:
        # One run per series (the usual asv layout): a value is stored as is, with no interval.
        only = files[0]
        value = np.array(only.values, dtype=np.float64).reshape(-1, len(RUN_METRICS))
        counts = np.where(np.isnan(value), -1, 1)
        low = high = np.full(value.shape, np.nan)
        failed = [0 if ok else 1 for ok in only.ok]
        return _table(only.names, only.units, failed, _significant(value), low, high, counts)
    order: dict[str, list[tuple[float, ...]]] = {}
    units: dict[str, str] = {}
    failures: dict[str, int] = {}
    for runs in files:
        for name, unit, ok, values in zip(runs.names, runs.units, runs.ok, runs.values, strict=True):
            kept = order.setdefault(name, [])
            units.setdefault(name, unit)
            failures[name] = failures.get(name, 0) + (not ok)
            if ok:
                kept.append(values)
    names = list(order)
    summary = np.full((len(names), len(RUN_METRICS), 4), np.nan)
    summary[:, :, 3] = -1
    for row, name in enumerate(names):
        kept = order[name]
        for column in range(len(RUN_METRICS)):
            per_run = [values[column] for values in kept]
            if len(per_run) == 1:
                found = None if math.isnan(per_run[0]) else [per_run[0], None, None, 1]
            else:
                found = summarize_metric(per_run)
            if found is not None:
                summary[row, column] = [_NAN if item is None else item for item in found]
    return _table(
        names,
        [units[name] for name in names],
        [failures[name] for name in names],
        _significant(summary[:, :, 0]),
        _significant(summary[:, :, 1]),
        _significant(summary[:, :, 2]),
        summary[:, :, 3].astype(np.int64),
    )


def _table(
    names: list[str],
    units: list[str],
    failed: list[int],
    value: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    runs: np.ndarray,
) -> dict[str, np.ndarray]:
    metrics = {
        metric: (value[:, k], low[:, k], high[:, k], runs[:, k].astype(np.int32))
        for k, metric in enumerate(RUN_METRICS)
    }
    return columnar.benchmark_row_table(names, units, failed, metrics)
