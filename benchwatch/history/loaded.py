"""Per-benchmark views of a loaded :class:`benchwatch.history.store.History` (small histories, tests).

Large histories are read column by column with :func:`benchwatch.history.store.read_metric` instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from benchwatch.history.store import History


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


def series(history: History, benchmark: str, metric: str) -> Series:
    """``benchmark``'s ``metric`` over a loaded history (records that lack it are skipped)."""
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
    """``metric`` of every benchmark in ``names`` at every record of a loaded history: (values, low, high)."""
    column = {name: index for index, name in enumerate(names)}
    shape = (len(history.records), len(names))
    values, low, high = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    for r, record in enumerate(history.records):
        for name, entry in record.benchmarks.items():
            c = column.get(name)
            row = entry.get("metrics", {}).get(metric) if c is not None else None
            if row is None:
                continue
            for array, item in ((values, row[0]), (low, row[1]), (high, row[2])):
                if item is not None:
                    array[r, c] = item
    return values, low, high
