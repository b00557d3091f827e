"""Change points grouped by the commit they fall on: "which commits made this release slower, and how much?"

One cause often moves dozens of series at once (a change in a shared code path); the
per-benchmark ranking then shows the same commit forty times.  Here each commit with change
points is one row: how many series moved each way, their median and worst change, and the
benchmarks, ranked by series moved x |median change|.

A series is a benchmark's typical latency (p50, or the first percentile it has), its peak memory,
or its instruction count: p95 and p99 move with p50 and would count one cause thrice.

Where a series skips records (not measured at every commit), its change point sits on the first
record measured after the change, which may be one later than the commit that caused it; such a
point joins the group of the record before when that group is the larger (the "+-1 where the
data is sparse" of issue 28).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from benchwatch.history.columnar import CommitRow
from benchwatch.render.trend.model import MetricSeries, TrendModel

LATENCY = ("p50", "p95", "p99")
OTHER_SERIES = ("peak_memory", "instructions")


@dataclass(frozen=True)
class CommitChange:
    """One series' change point at a commit."""

    benchmark: str
    metric: str
    relative_change: float  # after/before - 1: > 0 is slower (or larger)
    before: float
    after: float
    unit: str


@dataclass(frozen=True)
class CommitGroup:
    """The change points that fall on one commit."""

    position: int  # record position in the history
    commit: CommitRow
    changes: tuple[CommitChange, ...]  # largest |change| first
    slower: int
    faster: int
    median: float  # median relative change over the series
    worst: float | None  # largest slowdown, None when every series got faster
    score: float  # series moved x |log(1 + median)|

    @property
    def moved(self) -> int:
        return len(self.changes)


def _series(metrics: Mapping[str, MetricSeries]) -> Iterator[MetricSeries]:
    latency = next((metrics[m] for m in LATENCY if m in metrics), None)
    if latency is not None:
        yield latency
    for metric in OTHER_SERIES:
        if metric in metrics:
            yield metrics[metric]


def _points(model: TrendModel) -> list[tuple[int, int | None, CommitChange]]:
    """(position, the position before when the series skipped it, change) for every change point."""
    found = []
    for benchmark, metrics in model.series.items():
        unit = model.units.get(benchmark, "seconds")
        for item in _series(metrics):
            positions = item.positions
            for point in item.fit.change_points:
                k = int(np.searchsorted(positions, point.index))
                earlier = point.index - 1 if k > 0 and positions[k - 1] < point.index - 1 else None
                change = CommitChange(
                    benchmark, item.metric, point.relative_change, point.before_mean, point.after_mean, unit
                )
                found.append((point.index, earlier, change))
    return found


def group_by_commit(model: TrendModel, *, start: int = 0, stop: int | None = None) -> list[CommitGroup]:
    """Commits at record positions ``start`` .. ``stop - 1`` with change points, best ranked first."""
    stop = len(model.commits) if stop is None else stop
    points = _points(model)
    exact = Counter(position for position, _, _ in points)
    members: dict[int, list[CommitChange]] = {}
    for position, earlier, change in points:
        if earlier is not None and exact[earlier] > exact[position]:
            position = earlier
        if start <= position < stop:
            members.setdefault(position, []).append(change)
    groups = [_group(model.commits[position], position, changes) for position, changes in members.items()]
    groups.sort(key=lambda group: (-group.score, -group.moved, group.position))
    return groups


def _group(commit: CommitRow, position: int, changes: list[CommitChange]) -> CommitGroup:
    changes.sort(key=lambda c: (-abs(math.log1p(c.relative_change)), c.benchmark, c.metric))
    relative = [change.relative_change for change in changes]
    median = statistics.median(relative)
    slower = [value for value in relative if value > 0]
    return CommitGroup(
        position=position,
        commit=commit,
        changes=tuple(changes),
        slower=len(slower),
        faster=len(relative) - len(slower),
        median=median,
        worst=max(slower) if slower else None,
        score=len(relative) * abs(math.log1p(median)),
    )


def tag_positions(model: TrendModel, from_commit: str, to_commit: str) -> tuple[int, int]:
    """Record positions (start, stop) of the commits after ``from_commit`` up to and with ``to_commit``."""
    index = {row.commit: k for k, row in enumerate(model.commits)}
    return index[from_commit] + 1, index[to_commit] + 1
