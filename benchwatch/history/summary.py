"""Summarising a benchmark's runs into ``[value, low, high, n_runs]`` per metric, and history dates."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from benchwatch.errors import UsageError
from benchwatch.history.columnar import HISTORY_METRICS
from benchwatch.model import QUANTILE_OF_METRIC, BenchmarkResult

CONFIDENCE = 0.95


# -- summarising a result --------------------------------------------------------


def summarize_metric(per_run: Sequence[float], confidence: float = CONFIDENCE) -> list[Any] | None:
    """``[value, low, high, n_runs]`` from per-run statistics (NaN ones dropped), None when there are none.

    ``value`` is their median; the interval is a t-interval on their logs
    (on the values themselves when one is zero), null with fewer than 2 runs.
    Plain Python on purpose: an import summarises millions of metrics of a
    few runs each, where numpy's per-call overhead dominates.
    """
    values = sorted(float(value) for value in per_run if not math.isnan(value))
    count = len(values)
    if count == 0:
        return None
    middle = count // 2
    median = values[middle] if count % 2 else (values[middle - 1] + values[middle]) / 2.0
    if count < 2:
        return [median, None, None, 1]
    log = values[0] > 0
    data = [math.log(value) for value in values] if log else values
    center = math.fsum(data) / count
    spread = math.sqrt(math.fsum((item - center) ** 2 for item in data) / (count - 1))
    half = _t_quantile(0.5 + confidence / 2.0, count - 1) * spread / math.sqrt(count)
    low, high = (math.exp(center - half), math.exp(center + half)) if log else (center - half, center + half)
    return [median, low, high, count]


@lru_cache(maxsize=256)
def _t_quantile(level: float, df: int) -> float:
    # Cached: an import summarises millions of metrics with a handful of run counts.
    # Imported here: the statistics package is heavy, and readers of a history (trend) never need it.
    from scipy.special import stdtrit

    return float(stdtrit(df, level))


_QUANTILES = tuple(QUANTILE_OF_METRIC.items())


def _latency_per_run(benchmark: BenchmarkResult) -> dict[str, list[float]]:
    """p50/p95/p99/mean of every ok run at once, when each has the same number of samples (else empty).

    The same figures as ``Run.statistic`` with one numpy call per benchmark instead of one per run and
    metric: a pyperf import summarised 61 files x 60 benchmarks x 20 runs x 4 metrics one call at a time
    (benchmarks/bench_history_import.py --pyperf).
    """
    runs = benchmark.ok_runs
    if len(runs) < 2 or not all(run.has_samples for run in runs):
        return {}
    length = runs[0].samples.size
    if any(run.samples.size != length for run in runs):
        return {}
    import numpy as np  # here: the history's readers import this module and never summarise

    matrix = np.stack([run.samples for run in runs])
    found = np.quantile(matrix, [q for _, q in _QUANTILES], axis=1)
    per_run = {metric: found[k].tolist() for k, (metric, _) in enumerate(_QUANTILES)}
    per_run["mean"] = matrix.mean(axis=1).tolist()
    return per_run


def summarize_benchmark(benchmark: BenchmarkResult, *, keep_samples: bool = False) -> dict[str, Any]:
    metrics: dict[str, Any] = {}
    latency = _latency_per_run(benchmark)
    for metric in HISTORY_METRICS:
        per_run = latency[metric] if metric in latency else benchmark.per_run_statistics(metric)
        if len(per_run) == 1:  # most imported formats: one value per benchmark and commit, nothing to summarise
            value = per_run[0]
            row = None if math.isnan(value) else [value, None, None, 1]
        else:
            row = summarize_metric(per_run)
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


def date_epoch(date: str) -> float:
    return parse_date(date).timestamp()


def date_text(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
