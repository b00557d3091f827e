"""Two-level (hierarchical, cluster) bootstrap of a ratio of pooled statistics.

Each resample draws, per side, as many runs as the side has *with
replacement*, then for each chosen run draws samples with replacement from
that run; the statistic (p50, p95, p99 or mean) is computed on the pooled
resampled samples of the side, and the ratio head/base is recorded.  The
percentile interval of those ratios is the bootstrap CI.

Why this is a cross-check and not the gate: with n runs per side the
resampled run-level spread has expectation (n - 1)/n of the true
between-run variance (the cluster bootstrap inherits the plug-in variance
estimator), and the percentile interval uses normal-like quantiles instead
of a t quantile with few degrees of freedom.  With 3-5 runs the interval is
therefore markedly too narrow (anti-conservative); the Welch t on per-run
statistics (:mod:`benchwatch.stats.runlevel`) is used for verdicts.  The
bootstrap is useful for display (it describes the pooled distribution) and,
with many runs, agrees with the t.

Implementation notes: fully vectorised; each chosen run contributes the same
number m of resampled samples (the smallest run length of the side, capped
by ``max_samples_per_run``), so every run carries equal weight - consistent
with the run being the unit of replication.  Resamples are processed in
blocks so that memory stays bounded (~``block_values`` float64 values).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

METRIC_QUANTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}
BOOTSTRAP_METRICS = ("p50", "p95", "p99", "mean")


@dataclass(frozen=True)
class BootstrapResult:
    """Observed pooled ratio and percentile interval per metric.

    ``ratios`` is the resampled distribution, shape ``(n_resamples,
    len(metrics))``; ``ratio``, ``ci_low`` and ``ci_high`` are indexed like
    ``metrics``.
    """

    metrics: tuple[str, ...]
    ratio: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    ratios: np.ndarray
    confidence: float

    def for_metric(self, metric: str) -> tuple[float, float, float]:
        index = self.metrics.index(metric)
        return float(self.ratio[index]), float(self.ci_low[index]), float(self.ci_high[index])


def _pooled_statistics(values: np.ndarray, metrics: Sequence[str]) -> np.ndarray:
    """Statistics along the last axis; returns shape values.shape[:-1] + (len(metrics),)."""
    out = np.empty((*values.shape[:-1], len(metrics)))
    quantile_metrics = [m for m in metrics if m in METRIC_QUANTILES]
    if quantile_metrics:
        qs = [METRIC_QUANTILES[m] for m in quantile_metrics]
        quantiles = np.quantile(values, qs, axis=-1)
        for position, metric in enumerate(quantile_metrics):
            out[..., metrics.index(metric)] = quantiles[position]
    if "mean" in metrics:
        out[..., metrics.index("mean")] = values.mean(axis=-1)
    return out


class _Side:
    """One side's runs padded into a matrix, ready for resampling."""

    def __init__(self, runs: Sequence[np.ndarray], max_samples_per_run: int | None) -> None:
        runs = [np.asarray(run, dtype=np.float64).reshape(-1) for run in runs]
        if not runs or any(run.size == 0 for run in runs):
            raise ValueError("every side needs at least one run, and every run at least one sample")
        self.lengths = np.array([run.size for run in runs])
        self.matrix = np.zeros((len(runs), int(self.lengths.max())))
        for index, run in enumerate(runs):
            self.matrix[index, : run.size] = run
        per_run = int(self.lengths.min())
        self.per_run = min(per_run, max_samples_per_run) if max_samples_per_run else per_run
        self.pooled = np.concatenate(runs)

    def resample(self, rng: np.random.Generator, count: int) -> np.ndarray:
        n_runs = len(self.lengths)
        chosen = rng.integers(0, n_runs, size=(count, n_runs))
        positions = (rng.random((count, n_runs, self.per_run)) * self.lengths[chosen][..., None]).astype(np.int64)
        values = self.matrix[chosen[..., None], positions]
        return values.reshape(count, n_runs * self.per_run)


def hierarchical_bootstrap(
    base_runs: Sequence[np.ndarray],
    head_runs: Sequence[np.ndarray],
    *,
    rng: np.random.Generator,
    n_resamples: int = 1000,
    metrics: Sequence[str] = BOOTSTRAP_METRICS,
    confidence: float = 0.95,
    max_samples_per_run: int | None = None,
    block_values: int = 4_000_000,
) -> BootstrapResult:
    """Bootstrap the ratio head/base of pooled statistics, resampling runs then samples.

    ``base_runs``/``head_runs`` are the raw samples of each ok run of a
    side.  ``rng`` makes the result reproducible.  See the module docstring
    for why this interval is anti-conservative with few runs.
    """
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    metrics = tuple(metrics)
    unknown = [m for m in metrics if m not in BOOTSTRAP_METRICS]
    if unknown:
        raise ValueError(f"unknown bootstrap metric(s): {', '.join(unknown)}")
    base, head = _Side(base_runs, max_samples_per_run), _Side(head_runs, max_samples_per_run)
    per_resample = len(base.lengths) * base.per_run + len(head.lengths) * head.per_run
    step = max(1, block_values // max(per_resample, 1))
    ratios = np.empty((n_resamples, len(metrics)))
    with np.errstate(divide="ignore", invalid="ignore"):
        for start in range(0, n_resamples, step):
            count = min(step, n_resamples - start)
            base_stats = _pooled_statistics(base.resample(rng, count), metrics)
            head_stats = _pooled_statistics(head.resample(rng, count), metrics)
            ratios[start : start + count] = head_stats / base_stats
        observed = _pooled_statistics(head.pooled, metrics) / _pooled_statistics(base.pooled, metrics)
    tail = (1.0 - confidence) / 2.0
    low, high = np.nanquantile(ratios, [tail, 1.0 - tail], axis=0)
    return BootstrapResult(
        metrics=metrics, ratio=observed, ci_low=low, ci_high=high, ratios=ratios, confidence=confidence
    )
