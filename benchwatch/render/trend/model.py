"""What the trend report says, before any HTML: per-series fits, the ranking, release-to-release changes.

The ranking is built for a release manager who must not be misled:

* a series is ranked by its **change points** (robust, trend-aware
  segmentation, :mod:`benchwatch.history.segmentation`) in the last
  ``recent`` commits, scored by size x confidence (``|log(after/before)| x
  (1 - p)``), never by a raw last-versus-before ratio, which a bimodal
  series wins by chance;
* every row shows the series' **noise** (sigma of its log values, ~ the
  relative run-to-run spread);
* **regressions** (higher time or memory) come first, then
  **improvements**, then series with no change point whose noise is above
  ``noisy`` (marked noisy: no verdict can be read from them).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from benchwatch.errors import UsageError
from benchwatch.history import robust, segmentation, store
from benchwatch.history.changepoints import ChangePoint
from benchwatch.history.trend_data import CHART_METRICS, TrendData

DEFAULT_RECENT = 30
DEFAULT_NOISY = 0.05
DEFAULT_TAG_THRESHOLD = 0.02
DEFAULT_MIN_MAGNITUDE = segmentation.REPORT_MIN_MAGNITUDE
MAX_TAG_ROWS = 50  # for the latest pair of tags; older pairs list their 10 largest
MAX_OLDER_TAG_ROWS = 10


@dataclass(frozen=True)
class MetricSeries:
    """One metric of one benchmark: its values at record positions and what segmentation found."""

    metric: str
    positions: np.ndarray
    values: np.ndarray
    fit: segmentation.SeriesFit
    typical: float  # median value, for the display unit


@dataclass(frozen=True)
class Headline:
    """A benchmark's place in the ranking."""

    benchmark: str
    status: str  # "regression" | "improvement" | "noisy" | "stable"
    metric: str | None
    change: ChangePoint | None
    position: int | None  # record position of the change point
    score: float
    noise: float
    latest: float
    unit: str


@dataclass(frozen=True)
class TagChange:
    benchmark: str
    metric: str
    before: float
    after: float
    relative_change: float
    intervals_apart: bool | None  # None: a side had fewer than 2 runs
    unit: str


@dataclass(frozen=True)
class TagComparison:
    """What changed between two consecutive tags."""

    from_tag: str
    to_tag: str
    from_commit: str
    to_commit: str
    slower: tuple[TagChange, ...]
    slower_total: int
    faster_total: int
    compared: int


@dataclass(frozen=True, eq=False)
class TrendModel:
    """Everything the report shows, as data."""

    commits: tuple[store.CommitRow, ...]
    names: tuple[str, ...]
    units: Mapping[str, str]
    series: Mapping[str, Mapping[str, MetricSeries]]  # benchmark -> metric -> series
    ranking: tuple[Headline, ...]  # every benchmark, best first
    tags: tuple[TagComparison, ...]


def check_options(*, max_pvalue: float, min_magnitude: float, recent: int, noisy: float) -> None:
    """One-line UsageError for options the analysis cannot honour (never a silent "0 change points")."""
    if not 0.0 < max_pvalue < 1.0:
        raise UsageError(f"--max-pvalue must be between 0 and 1 (exclusive), got {max_pvalue}")
    if not (math.isfinite(min_magnitude) and min_magnitude >= 0.0):
        raise UsageError(f"--min-change must be a relative change >= 0 (0.05 = 5%), got {min_magnitude}")
    if recent < 1:
        raise UsageError(f"--recent must be at least 1 commit, got {recent}")
    if not (math.isfinite(noisy) and noisy > 0.0):
        raise UsageError(f"--noisy must be a relative noise > 0 (0.05 = 5%), got {noisy}")


def _fit_metric(matrix_all: np.ndarray, names: Sequence[str], metric: str, **options: float) -> dict[str, MetricSeries]:
    present = np.flatnonzero(np.isfinite(matrix_all).any(axis=0))
    found: dict[str, MetricSeries] = {}
    if present.size == 0:
        return found
    matrix = matrix_all[:, present].T
    ordered = np.sort(matrix, axis=1)  # NaN last: medians of every row at once
    typical = robust.sorted_quantile(ordered, np.isfinite(matrix).sum(axis=1), 0.5).tolist()
    fits = segmentation.segment_series(
        matrix,
        max_pvalue=options["max_pvalue"],
        min_magnitude=options["min_magnitude"],
    )
    for row, (column, fit) in enumerate(zip(present.tolist(), fits, strict=True)):
        found[names[column]] = MetricSeries(metric, fit.positions, matrix[row, fit.positions], fit, typical[row])
    return found


def build_model(
    data: TrendData,
    *,
    max_pvalue: float,
    min_magnitude: float,
    recent: int,
    noisy: float,
    tag_threshold: float = DEFAULT_TAG_THRESHOLD,
) -> TrendModel:
    """Analyse every series of the loaded history (see the module docstring)."""
    check_options(max_pvalue=max_pvalue, min_magnitude=min_magnitude, recent=recent, noisy=noisy)
    rows = data.commits
    names = data.names
    series: dict[str, dict[str, MetricSeries]] = {name: {} for name in names}
    for metric in CHART_METRICS:
        if metric not in data.values:
            continue
        found = _fit_metric(data.values[metric], names, metric, max_pvalue=max_pvalue, min_magnitude=min_magnitude)
        for name, item in found.items():
            series[name][metric] = item
    tag_columns = {metric: columns for metric, columns in data.at_tags.items() if metric in CHART_METRICS}
    ranking = rank(series, data.units, len(rows), recent=recent, noisy=noisy)
    tags = tag_comparisons(rows, data.tagged, names, data.units, tag_columns, tag_threshold)
    return TrendModel(
        commits=rows, names=names, units=data.units, series=series, ranking=tuple(ranking), tags=tuple(tags)
    )


def _score(point: ChangePoint) -> float:
    if point.before_mean <= 0 or point.after_mean <= 0:
        return 0.0
    return abs(math.log(point.after_mean / point.before_mean)) * (1.0 - point.p_value)


def headline(
    benchmark: str, metrics: Mapping[str, MetricSeries], unit: str, commits: int, *, recent: int, noisy: float
) -> Headline:
    """The benchmark's strongest recent change point over its metrics, or its noise verdict."""
    primary = metrics.get("p50") or next(iter(metrics.values()), None)
    noise = primary.fit.noise if primary is not None else math.nan
    latest = float(primary.values[-1]) if primary is not None and primary.values.size else math.nan
    best: tuple[float, str, ChangePoint] | None = None
    for metric, item in metrics.items():
        for point in item.fit.change_points:
            if point.index < commits - recent:
                continue
            score = _score(point)
            if best is None or score > best[0]:
                best = (score, metric, point)
    if best is None:
        status = "noisy" if noise >= noisy else "stable"
        return Headline(benchmark, status, None, None, None, 0.0, noise, latest, unit)
    score, metric, point = best
    status = "regression" if point.relative_change > 0 else "improvement"
    return Headline(benchmark, status, metric, point, point.index, score, noise, latest, unit)


_ORDER = {"regression": 0, "improvement": 1, "noisy": 2, "stable": 3}


def rank(
    series: Mapping[str, Mapping[str, MetricSeries]],
    units: Mapping[str, str],
    commits: int,
    *,
    recent: int,
    noisy: float,
) -> list[Headline]:
    """Regressions, then improvements (each by score), then noisy series (noisiest first), then the rest."""
    rows = [
        headline(name, metrics, units.get(name, "seconds"), commits, recent=recent, noisy=noisy)
        for name, metrics in series.items()
    ]

    def key(row: Headline) -> tuple[int, float, str]:
        weight = -row.score if row.status in ("regression", "improvement") else -row.noise
        return _ORDER[row.status], weight if math.isfinite(weight) else 0.0, row.benchmark

    return sorted(rows, key=key)


def tag_comparisons(
    rows: Sequence[store.CommitRow],
    tagged: Sequence[int],
    names: Sequence[str],
    units: Mapping[str, str],
    columns: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    threshold: float,
) -> list[TagComparison]:
    """Per pair of consecutive tagged records: what got slower (or bigger) by more than ``threshold``."""
    pairs = [(tag, k) for k, index in enumerate(tagged) for tag in rows[index].tags]
    comparisons: list[TagComparison] = []
    for (from_tag, i), (to_tag, j) in itertools.pairwise(pairs):
        if i == j:
            continue
        slower: list[TagChange] = []
        faster = compared = total_slower = 0
        for metric, (values, low, high) in columns.items():
            before, after = values[i], values[j]
            usable = np.flatnonzero(np.isfinite(before) & np.isfinite(after) & (before > 0))
            compared += usable.size
            change = after[usable] / before[usable] - 1.0
            faster += int((change < -threshold).sum())
            worse = np.flatnonzero(change > threshold)
            total_slower += worse.size
            # Only the largest can be shown: build objects for those alone.
            for k in worse[np.argsort(-change[worse], kind="stable")][:MAX_TAG_ROWS].tolist():
                column = int(usable[k])
                known = math.isfinite(high[i, column]) and math.isfinite(low[j, column])
                slower.append(
                    TagChange(
                        benchmark=names[column],
                        metric=metric,
                        before=float(before[column]),
                        after=float(after[column]),
                        relative_change=float(change[k]),
                        intervals_apart=bool(low[j, column] > high[i, column]) if known else None,
                        unit=units.get(names[column], "seconds"),
                    )
                )
        slower.sort(key=lambda item: (-item.relative_change, item.benchmark, item.metric))
        comparisons.append(
            TagComparison(
                from_tag=from_tag,
                to_tag=to_tag,
                from_commit=rows[tagged[i]].commit,
                to_commit=rows[tagged[j]].commit,
                slower=tuple(slower[:MAX_TAG_ROWS]),  # trimmed below for all but the latest pair
                slower_total=total_slower,
                faster_total=faster,
                compared=compared,
            )
        )
    return [
        comparison
        if k == len(comparisons) - 1
        else dataclasses.replace(comparison, slower=comparison.slower[:MAX_OLDER_TAG_ROWS])
        for k, comparison in enumerate(comparisons)
    ]
