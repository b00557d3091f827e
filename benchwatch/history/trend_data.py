"""What a trend report needs from a history, loaded in one place (the report itself never reads the store).

Each chart metric is read column by column (:func:`store.read_metric`): one
(records x benchmarks) array of values per metric that the history holds, and
values with intervals at the tagged records only (the release-to-release table).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchwatch.errors import UsageError
from benchwatch.history import store

# Instruction counts (recorded by `benchwatch run` under Callgrind) are charted and ranked like the others.
CHART_METRICS = ("p50", "p95", "p99", "peak_memory", "instructions")


@dataclass(frozen=True, eq=False)
class TrendData:
    """A history's records, benchmarks and metric columns, as arrays."""

    directory: Path
    commits: tuple[store.CommitRow, ...]
    units: Mapping[str, str]  # benchmark -> unit, in name order
    values: Mapping[str, np.ndarray]  # metric -> (records, benchmarks); metrics the history lacks are absent
    tagged: tuple[int, ...]  # record positions holding a tag
    at_tags: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # metric -> (values, low, high) at ``tagged``

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.units)


def load_trend_data(history_dir: Path, *, metrics: Sequence[str] = CHART_METRICS) -> TrendData:
    """Read what the trend report shows from ``history_dir``; UsageError when it holds no record."""
    rows = tuple(store.read_commits(history_dir))
    if not rows:
        raise UsageError(f"history {history_dir} has no records yet (run benchwatch record first)")
    units = store.benchmark_units(history_dir)
    names = tuple(units)
    commits = [row.commit for row in rows]
    tagged = tuple(index for index, row in enumerate(rows) if row.tags)
    values: dict[str, np.ndarray] = {}
    at_tags: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for metric in metrics:
        columns = store.read_metric(history_dir, metric, commits, names, intervals=False)
        if not np.isfinite(columns.values).any():
            continue
        values[metric] = columns.values
        if len(tagged) > 1:
            found = store.read_metric(history_dir, metric, [commits[k] for k in tagged], names)
            at_tags[metric] = (found.values, found.low, found.high)
    return TrendData(
        directory=Path(history_dir), commits=rows, units=units, values=values, tagged=tagged, at_tags=at_tags
    )
