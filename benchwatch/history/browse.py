"""What ``benchwatch history list`` and ``history show`` print, as data: the records, and one benchmark's series.

Both read the store column by column (no record's benchmark data is loaded for ``list``), so they stay quick
on a history of 10,000 benchmarks.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchwatch.errors import UsageError
from benchwatch.history import segmentation, store
from benchwatch.history.columnar import HISTORY_METRICS


@dataclass(frozen=True, eq=False)
class BenchmarkSeries:
    """One metric of one benchmark at every record holding it, with the trend report's segmentation of it."""

    benchmark: str
    metric: str
    unit: str
    commits: tuple[store.CommitRow, ...]  # the records holding a value, in history order
    values: np.ndarray
    low: np.ndarray  # NaN where no interval was recorded
    high: np.ndarray
    fit: segmentation.SeriesFit  # change point indices refer to positions in ``values``


def list_records(history_dir: Path) -> list[store.CommitRow]:
    """Every record of the history, oldest first (empty for a new history)."""
    return store.read_commits(history_dir)


def _unknown(history_dir: Path, benchmark: str, names: list[str]) -> UsageError:
    close = difflib.get_close_matches(benchmark, names, n=3)
    hint = f" (did you mean {', '.join(repr(name) for name in close)}?)" if close else ""
    return UsageError(f"history {history_dir} has no benchmark {benchmark!r}{hint}")


def benchmark_series(
    history_dir: Path,
    benchmark: str,
    *,
    metric: str = "p50",
    max_pvalue: float = segmentation.DEFAULT_MAX_PVALUE,
    min_magnitude: float = segmentation.REPORT_MIN_MAGNITUDE,
) -> BenchmarkSeries:
    """``benchmark``'s ``metric`` over the history, segmented as in the trend report; UsageError if absent."""
    if metric not in HISTORY_METRICS:
        raise UsageError(f"unknown metric {metric!r} (one of {', '.join(HISTORY_METRICS)})")
    rows = store.read_commits(history_dir)
    if not rows:
        raise UsageError(f"history {history_dir} has no records yet (run benchwatch record first)")
    units = store.benchmark_units(history_dir)
    if benchmark not in units:
        raise _unknown(history_dir, benchmark, list(units))
    columns = store.read_metric(history_dir, metric, [row.commit for row in rows], [benchmark])
    values = columns.values[:, 0]
    kept = np.flatnonzero(np.isfinite(values) & (values > 0))
    if kept.size == 0:
        raise UsageError(f"benchmark {benchmark!r} has no {metric} in history {history_dir}")
    (fit,) = segmentation.segment_series(values[kept][None, :], max_pvalue=max_pvalue, min_magnitude=min_magnitude)
    return BenchmarkSeries(
        benchmark=benchmark,
        metric=metric,
        unit=units[benchmark],
        commits=tuple(rows[k] for k in kept.tolist()),
        values=values[kept].copy(),
        low=np.array(columns.low[kept, 0]),
        high=np.array(columns.high[kept, 0]),
        fit=fit,
    )
