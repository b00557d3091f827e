"""Compare two result sets (base, head) into verdicts per benchmark and metric.

What a verdict means (latency metrics p50, p95, p99, mean; threshold t,
default 10%, alpha default 0.05):

* ``regression`` - the change is statistically established across the suite
  (Benjamini-Hochberg q-value < alpha over all latency tests of this
  comparison), the estimated ratio head/base is at least 1 + t, *and* the
  95% interval lies above (1 + t) ** 0.5 (the change is shown to be at least
  about half the threshold; ``MIN_EFFECT_SHARE``).  It does not mean the
  change is exactly that size: see the 95% interval.
* ``improvement`` - the mirror image: q < alpha, ratio at most 1 / (1 + t)
  and the interval below (1 + t) ** -0.5.
* ``unchanged`` - the 95% interval of the ratio lies within
  [1 / (1 + t), 1 + t]: any change beyond the threshold is excluded.  It does
  not mean "no change at all": smaller changes may exist.
* ``inconclusive`` - none of the above: the data cannot say either way (too
  few runs, too noisy, a disturbed machine, or a significant change smaller
  than the threshold whose interval still reaches past it).  Rerun with more
  process runs per side.

The inference is on log per-run statistics (process runs are the unit of
replication): when every run of both sides carries benchwatch's machine-speed
canary, an ANCOVA on side and log canary time
(:mod:`benchwatch.stats.covariate`), otherwise a Welch t
(:mod:`benchwatch.stats.runlevel`); either with between-run variances
moderated across the suite (:mod:`benchwatch.stats.moderated`).  With fewer than
two ok runs on a side no interval can be computed and the verdict is
inconclusive.  When either side was disturbed (CPU contention, high load,
wildly varying runs; :mod:`benchwatch.stats.diagnostics`), a would-be
regression or improvement becomes inconclusive.  Memory metrics use a
tolerance rule (:mod:`benchwatch.stats.memory`) and are not part of the BH
family.

A metric is *gated* when it is in ``CompareSettings.gating_metrics`` and (for
quantiles) every ok run on both sides has enough samples to estimate it
(p95: 100, p99: 500).  Only gated metrics decide the suite verdict and the
exit code; the others are reported for information.

Suite verdict, by precedence: ``regression`` if any gated metric regressed;
else ``inconclusive`` if any gated metric is inconclusive, a compared
benchmark failed on a side, or nothing could be compared; else
``improvement`` if any gated metric improved; else ``unchanged``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchwatch.compare_settings import CompareSettings
from benchwatch.model import (
    LATENCY_METRICS,
    MEMORY_METRICS,
    QUANTILE_OF_METRIC,
    BenchmarkResult,
    ResultSet,
    Run,
)
from benchwatch.stats.bootstrap import hierarchical_bootstrap
from benchwatch.stats.covariate import UNSTABLE_CANARY_LOG, keep_runs_with_covariate
from benchwatch.stats.diagnostics import (
    PREEMPTED_RUN_FRACTION,
    SideDiagnostics,
    diagnose_side,
    drop_preempted_runs,
    drop_slow_outlier_runs,
    environment_summary,
    environment_warnings,
    noise_warnings,
    summarise_sides,
)
from benchwatch.stats.fdr import bh_qvalues
from benchwatch.stats.latency_tests import log_ratio_tests
from benchwatch.stats.memory import compare_memory
from benchwatch.stats.runlevel import min_samples_for_quantile, run_table
from benchwatch.stats.speed import side_speeds, speed_warnings

VERDICTS = ("regression", "improvement", "unchanged", "inconclusive")
STATUSES = ("compared", "added", "removed", "failed")
ONE_RUN_REASON = "needs ≥2 process runs per side (between-run variance cannot be estimated from one process)"
# Bootstrap is a display cross-check: cap the samples drawn per run so that
# it stays cheap even for long runs.
BOOTSTRAP_MAX_SAMPLES_PER_RUN = 1000


# -- results model -------------------------------------------------------------


@dataclass(frozen=True)
class MetricComparison:
    """The verdict on one metric of one benchmark.

    ``ratio`` is head/base (for latency: exp of the mean log per-run
    statistic difference); ``ci_low``/``ci_high`` its 95% interval (NaN when
    it cannot be computed; for memory the min/max ratio over run pairs);
    ``p_value``/``q_value`` the Welch t p-value and its BH adjustment (None
    for memory); ``base_value``/``head_value`` the median per-run statistic
    of each side (seconds, bytes or a count, see ``unit``); ``reason``
    explains the verdict and, for ungated metrics, why they do not gate.
    ``bootstrap_ci_low``/``bootstrap_ci_high`` are the hierarchical
    bootstrap interval when it was requested (display only).
    """

    benchmark: str
    metric: str
    verdict: str
    ratio: float
    ci_low: float
    ci_high: float
    p_value: float | None
    q_value: float | None
    threshold: float
    gated: bool
    reason: str
    base_value: float
    head_value: float
    n_runs_base: int
    n_runs_head: int
    unit: str = "seconds"
    bootstrap_ci_low: float = math.nan
    bootstrap_ci_high: float = math.nan

    @property
    def change(self) -> float:
        """Relative change head vs base (0.12 = 12% larger)."""
        return self.ratio - 1.0


@dataclass(frozen=True)
class BenchmarkComparison:
    """One benchmark: its status, metric verdicts and per-side noise diagnostics."""

    name: str
    metrics: tuple[MetricComparison, ...]
    status: str
    base_diagnostics: SideDiagnostics | None = None
    head_diagnostics: SideDiagnostics | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Comparison:
    """A whole comparison: benchmarks, the suite verdict, warnings and context."""

    benchmarks: tuple[BenchmarkComparison, ...]
    verdict: str
    warnings: tuple[str, ...]
    settings: CompareSettings
    base_environment: Mapping[str, Any]
    head_environment: Mapping[str, Any]
    diagnostics: Mapping[str, Any] = field(default_factory=dict)

    def metric_comparisons(self) -> Iterator[MetricComparison]:
        for benchmark in self.benchmarks:
            yield from benchmark.metrics

    def gated(self, verdict: str | None = None) -> list[MetricComparison]:
        return [m for m in self.metric_comparisons() if m.gated and (verdict is None or m.verdict == verdict)]

    def exit_code(self, fail_on_inconclusive: bool | None = None) -> int:
        """0 without a gated regression, 1 with one (or when inconclusive and asked to fail on that)."""
        if fail_on_inconclusive is None:
            fail_on_inconclusive = self.settings.fail_on_inconclusive
        if self.verdict == "regression":
            return 1
        return 1 if fail_on_inconclusive and self.verdict == "inconclusive" else 0


# -- comparison ----------------------------------------------------------------


@dataclass
class _Side:
    """Working data of one side of one compared benchmark."""

    runs: tuple[Run, ...]
    rows: np.ndarray  # indices into the run table
    covariates: np.ndarray | None = None  # log canary time per run (speed-adjusted comparisons)

    def values(self, table_values: Mapping[str, np.ndarray], metric: str) -> np.ndarray:
        return table_values[metric][self.rows]


def _gate_reason(metric: str, sizes: np.ndarray, has_samples: bool) -> str | None:
    """Why a quantile metric cannot gate (too few samples per run), or None."""
    if metric not in QUANTILE_OF_METRIC:
        return None
    needed = min_samples_for_quantile(QUANTILE_OF_METRIC[metric])
    if not has_samples:
        return f"{metric} not gated: needs ≥{needed} samples per run, runs have no raw samples"
    if sizes.min() >= needed:
        return None
    span = f"{sizes.min()}" if sizes.min() == sizes.max() else f"{sizes.min()}–{sizes.max()}"
    return f"{metric} not gated: needs ≥{needed} samples per run, runs have {span}"


#: A regression (improvement) must also have its whole interval beyond this
#: share of the threshold, in log terms: with t = 10% the low end must pass
#: 1.1 ** 0.5 = 1.049.  "Significant and estimated past the threshold" alone
#: calls a real +5% change a >10% regression whenever noise pushes the
#: estimate past 1.1 while the interval excludes 1; requiring the interval
#: to exclude "half the threshold or less" keeps such reports rare (the +5%
#: target) and costs +20% changes almost nothing.
MIN_EFFECT_SHARE = 0.5


def _latency_verdict(
    ratio: float, low: float, high: float, q: float, threshold: float, alpha: float
) -> tuple[str, str]:
    upper, lower = 1.0 + threshold, 1.0 / (1.0 + threshold)
    floor = upper**MIN_EFFECT_SHARE
    if not math.isnan(q) and q < alpha and ratio >= upper and low >= floor:
        return "regression", f"q={q:.3g} < {alpha:g}, ratio ≥ {upper:.3g} and CI above {floor:.3g}"
    if not math.isnan(q) and q < alpha and ratio <= lower and high <= 1.0 / floor:
        return "improvement", f"q={q:.3g} < {alpha:g}, ratio ≤ {lower:.3g} and CI below {1.0 / floor:.3g}"
    if lower <= low and high <= upper:
        return "unchanged", f"95% CI within [{lower:.3g}, {upper:.3g}]"
    return "inconclusive", f"95% CI {low:.3g}–{high:.3g} reaches beyond ±{threshold:.0%}; rerun with more runs"


def compare(base: ResultSet, head: ResultSet, settings: CompareSettings | None = None) -> Comparison:
    """Compare ``head`` against ``base`` (see the module docstring for the rules)."""
    settings = settings or CompareSettings()
    base_map, head_map = base.by_name(), head.by_name()
    names = list(base_map) + [name for name in head_map if name not in base_map]
    warnings = environment_warnings(base.environment, head.environment)
    base_args, head_args = base.settings.get("pytest_args"), head.settings.get("pytest_args")
    if base_args is not None and head_args is not None and list(base_args) != list(head_args):
        # e.g. a different --workload-scale: the two sides measured different work.
        warnings.append(
            f"base and head were run with different suite arguments: {list(base_args)} vs {list(head_args)}"
        )

    speed = side_speeds(base, head)
    warnings.extend(speed_warnings(speed))

    # 1. classify benchmarks; collect ok runs of compared ones for the run table
    all_runs: list[Run] = []
    excluded: dict[str, list[int]] = {"base": [], "head": []}
    unsteady: dict[str, list[int]] = {"base": [], "head": []}
    outliers: dict[str, list[int]] = {"base": [], "head": []}
    work: dict[str, tuple[_Side, _Side]] = {}
    shells: dict[str, BenchmarkComparison] = {}
    for name in names:
        if name not in head_map:
            shells[name] = BenchmarkComparison(name=name, metrics=(), status="removed")
            continue
        if name not in base_map:
            shells[name] = BenchmarkComparison(name=name, metrics=(), status="added")
            continue
        sides = []
        for label, benchmark in (("base", base_map[name]), ("head", head_map[name])):
            ok = benchmark.ok_runs
            ok, dropped = drop_preempted_runs(ok)
            if dropped:
                excluded[label].append(dropped)
            covariates = None
            if speed is not None:
                # slow runs are explained by the canary covariate, not dropped
                ok, covariates, changed = keep_runs_with_covariate(ok)
                if changed:
                    unsteady[label].append(changed)
            else:
                ok, slow = drop_slow_outlier_runs(ok)
                if slow:
                    outliers[label].append(slow)
            if benchmark.failed_runs and ok:
                warnings.append(f"{name}: {len(benchmark.failed_runs)} of {len(benchmark.runs)} {label} runs failed")
            rows = np.arange(len(all_runs), len(all_runs) + len(ok))
            all_runs.extend(ok)
            sides.append(_Side(runs=ok, rows=rows, covariates=covariates))
        failed = [label for label, side in zip(("base", "head"), sides, strict=False) if not side.runs]
        if failed:
            note = _failure_note(base_map[name] if "base" in failed else head_map[name])
            shells[name] = BenchmarkComparison(
                name=name, metrics=(), status="failed", notes=(f"all {' and '.join(failed)} runs failed{note}",)
            )
            warnings.append(f"{name}: all {' and '.join(failed)} runs failed{note}")
            continue
        work[name] = (sides[0], sides[1])

    # 2. per-run statistics of every ok run at once
    table = run_table([run.samples for run in all_runs])
    table_values = {metric: table.column(metric).copy() for metric in LATENCY_METRICS}
    for row in np.flatnonzero(table.sizes == 0):  # summary-only runs
        for metric in LATENCY_METRICS:
            table_values[metric][row] = all_runs[row].statistic(metric)
    sizes = table.sizes.copy()
    for row in np.flatnonzero(sizes == 0):
        sizes[row] = int(all_runs[row].summary.get("rounds", 0))

    # 3. diagnostics per side
    diagnostics: dict[str, tuple[SideDiagnostics, SideDiagnostics]] = {}
    for name, side_pair in work.items():
        pair = []
        for side, result in zip(side_pair, (base, head), strict=False):
            load = result.environment.load_average[0] if result.environment.load_average else None
            pair.append(
                diagnose_side(
                    side.runs,
                    table_values["p50"][side.rows],
                    table.robust_cv[side.rows],
                    cpu_count=result.environment.cpu_count,
                    environment_load=load,
                )
            )
        diagnostics[name] = (pair[0], pair[1])

    # 4. log-ratio test (speed-adjusted ANCOVA or Welch t) for every benchmark x latency metric
    tests: list[tuple[str, str]] = []
    base_logs, head_logs, base_covariates, head_covariates = [], [], [], []
    for name, (base_side, head_side) in work.items():
        for metric in LATENCY_METRICS:
            b, h = base_side.values(table_values, metric), head_side.values(table_values, metric)
            if not (np.isfinite(b).any() or np.isfinite(h).any()):
                continue  # e.g. p99 of summary-only results: unknown on both sides
            tests.append((name, metric))
            keep_base, keep_head = np.isfinite(b) & (b > 0), np.isfinite(h) & (h > 0)
            base_logs.append(np.log(b[keep_base]))
            head_logs.append(np.log(h[keep_head]))
            if speed is not None:
                # with a speed model every kept side carries its runs' covariates
                assert base_side.covariates is not None and head_side.covariates is not None
                base_covariates.append(base_side.covariates[keep_base])
                head_covariates.append(head_side.covariates[keep_head])
    latency = (
        log_ratio_tests(
            metrics=[metric for _, metric in tests],
            base_logs=base_logs,
            head_logs=head_logs,
            base_covariates=base_covariates if speed is not None else None,
            head_covariates=head_covariates if speed is not None else None,
            confidence=settings.confidence,
            moderate=settings.moderate_variances,
        )
        if tests
        else None
    )
    ratio_tests = latency.result if latency is not None else None
    priors = latency.priors if latency is not None else {}
    if speed is not None and ratio_tests is not None:
        _count_fit_drops(tests, base_logs, head_logs, ratio_tests, outliers)
    q_values = bh_qvalues(ratio_tests.p_value) if ratio_tests is not None else np.empty(0)

    # 5. optional bootstrap (display cross-check)
    bootstrap: dict[str, Any] = {}
    if settings.bootstrap_resamples > 0:
        rng = np.random.default_rng(settings.seed)
        for name, (base_side, head_side) in work.items():
            b_runs = [r.samples for r in base_side.runs if r.has_samples]
            h_runs = [r.samples for r in head_side.runs if r.has_samples]
            if b_runs and h_runs:
                bootstrap[name] = hierarchical_bootstrap(
                    b_runs,
                    h_runs,
                    rng=rng,
                    n_resamples=settings.bootstrap_resamples,
                    max_samples_per_run=BOOTSTRAP_MAX_SAMPLES_PER_RUN,
                )

    # 6. verdicts
    metrics_of: dict[str, list[MetricComparison]] = {name: [] for name in work}
    for index, (name, metric) in enumerate(tests):
        base_side, head_side = work[name]
        metrics_of[name].append(
            _latency_comparison(
                name,
                metric,
                index,
                ratio_tests,
                q_values,
                base_side,
                head_side,
                table_values,
                sizes,
                diagnostics[name],
                bootstrap.get(name),
                settings,
            )
        )
    for name, (base_side, head_side) in work.items():
        metrics_of[name].extend(_memory_comparisons(name, base_side, head_side, settings))
    from benchwatch.compare_instructions import count_mismatches, instruction_comparisons

    mismatches, count_warnings = count_mismatches(base.count_fingerprint, head.count_fingerprint)
    warnings.extend(count_warnings)
    for name in work:
        metrics_of[name].extend(
            instruction_comparisons(name, base_map[name], head_map[name], mismatches=mismatches, settings=settings)
        )

    benchmarks = []
    for name in names:
        if name in shells:
            benchmarks.append(shells[name])
            continue
        notes = _benchmark_notes(work[name], metrics_of[name])
        benchmarks.append(
            BenchmarkComparison(
                name=name,
                metrics=tuple(metrics_of[name]),
                status="compared",
                base_diagnostics=diagnostics[name][0],
                head_diagnostics=diagnostics[name][1],
                notes=notes,
            )
        )
    for label, counts in excluded.items():
        if counts:
            warnings.append(
                f"{label}: {sum(counts)} run(s) of {len(counts)} benchmark(s) excluded: they waited for a CPU "
                f"more than {PREEMPTED_RUN_FRACTION:.0%} of their time (machine contention, not the code)"
            )
    for label, counts in unsteady.items():
        if counts:
            warnings.append(
                f"{label}: {sum(counts)} run(s) of {len(counts)} benchmark(s) excluded: the machine changed speed "
                "while they were measured "
                f"(benchwatch's canary moved by more than {math.exp(UNSTABLE_CANARY_LOG) - 1:.0%})"
            )
    for label, counts in outliers.items():
        if counts:
            others = "the speed-adjusted fit" if speed is not None else "the other runs of their side"
            warnings.append(
                f"{label}: {sum(counts)} run(s) of {len(counts)} benchmark(s) excluded as far slower than {others} "
                "(contention slows single processes; code changes move all runs)"
            )
    for position, label in enumerate(("base", "head")):
        single = sum(1 for sides in work.values() if len(sides[position].runs) < 2)
        warnings.extend(noise_warnings(label, [pair[position] for pair in diagnostics.values()], list(diagnostics)))
        if single:
            warnings.append(f"{label} has fewer than 2 ok runs on {single} benchmarks: {ONE_RUN_REASON}")
    summary = {
        "base": summarise_sides([pair[0] for pair in diagnostics.values()]),
        "head": summarise_sides([pair[1] for pair in diagnostics.values()]),
        "variance_priors": {metric: prior.to_dict() for metric, prior in priors.items()},
        "latency_test": latency.method if latency is not None else None,
        "machine_speed": None
        if speed is None
        else {
            "base_median_canary_seconds": speed.base_seconds,
            "head_median_canary_seconds": speed.head_seconds,
        },
    }
    return Comparison(
        benchmarks=tuple(benchmarks),
        verdict=_suite_verdict(benchmarks),
        warnings=tuple(warnings),
        settings=settings,
        base_environment=environment_summary(base.environment),
        head_environment=environment_summary(head.environment),
        diagnostics=summary,
    )


def _count_fit_drops(
    tests: Sequence[tuple[str, str]],
    base_logs: Sequence[np.ndarray],
    head_logs: Sequence[np.ndarray],
    result: Any,
    outliers: dict[str, list[int]],
) -> None:
    """Add the runs the speed-adjusted fit dropped as far too slow (most over a benchmark's metrics) to ``outliers``."""
    most: dict[str, list[int]] = {}
    for index, (name, _) in enumerate(tests):
        counts = most.setdefault(name, [0, 0])
        for side, logs, used in ((0, base_logs, result.n_base), (1, head_logs, result.n_head)):
            counts[side] = max(counts[side], len(logs[index]) - int(used[index]))
    for base_count, head_count in most.values():
        if base_count:
            outliers["base"].append(base_count)
        if head_count:
            outliers["head"].append(head_count)


def _failure_note(benchmark: BenchmarkResult) -> str:
    errors = [run.error or run.status for run in benchmark.failed_runs]
    return f" ({errors[0].splitlines()[0][:120]})" if errors and errors[0] else ""


def _median(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if finite.size else math.nan


def _latency_comparison(
    name: str,
    metric: str,
    index: int,
    ratio_tests: Any,
    q_values: np.ndarray,
    base_side: _Side,
    head_side: _Side,
    table_values: Mapping[str, np.ndarray],
    sizes: np.ndarray,
    diagnostics: tuple[SideDiagnostics, SideDiagnostics],
    bootstrap: Any,
    settings: CompareSettings,
) -> MetricComparison:
    threshold = settings.threshold_for(name, metric)
    base_values = base_side.values(table_values, metric)
    head_values = head_side.values(table_values, metric)
    base_value, head_value = _median(base_values), _median(head_values)
    n_base, n_head = int(ratio_tests.n_base[index]), int(ratio_tests.n_head[index])
    reasons: list[str] = []
    if n_base < 2 or n_head < 2:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = head_value / base_value if base_value > 0 else math.nan
        low = high = p = q = math.nan
        verdict = "inconclusive"
        reasons.append(ONE_RUN_REASON)
    else:
        ratio = float(math.exp(ratio_tests.estimate[index]))
        low, high = float(math.exp(ratio_tests.ci_low[index])), float(math.exp(ratio_tests.ci_high[index]))
        p, q = float(ratio_tests.p_value[index]), float(q_values[index])
        verdict, why = _latency_verdict(ratio, low, high, q, threshold, settings.alpha)
        disturbed = [
            f"{label} disturbed: {'; '.join(d.reasons)}"
            for label, d in zip(("base", "head"), diagnostics, strict=False)
            if d.disturbed
        ]
        if disturbed and verdict in ("regression", "improvement"):
            verdict = "inconclusive"
            reasons.extend(disturbed)
        else:
            reasons.append(why)
    gated = metric in settings.gating_metrics
    all_sizes = np.concatenate([sizes[base_side.rows], sizes[head_side.rows]])
    has_samples = all(run.has_samples for run in base_side.runs + head_side.runs)
    gate_reason = _gate_reason(metric, all_sizes, has_samples)
    if gated and gate_reason:
        gated = False
        reasons.append(gate_reason)
    if metric in QUANTILE_OF_METRIC:
        iterations = max(run.iterations for run in base_side.runs + head_side.runs)
        if iterations > 1:
            reasons.append(f"percentiles describe round means (up to {iterations} calls per sample), not single calls")
    boot_low = boot_high = math.nan
    if bootstrap is not None:
        _, boot_low, boot_high = bootstrap.for_metric(metric)
    return MetricComparison(
        benchmark=name,
        metric=metric,
        verdict=verdict,
        ratio=ratio,
        ci_low=low,
        ci_high=high,
        p_value=p,
        q_value=q,
        threshold=threshold,
        gated=gated,
        reason="; ".join(reasons),
        base_value=base_value,
        head_value=head_value,
        n_runs_base=n_base,
        n_runs_head=n_head,
        bootstrap_ci_low=boot_low,
        bootstrap_ci_high=boot_high,
    )


def _memory_comparisons(
    name: str, base_side: _Side, head_side: _Side, settings: CompareSettings
) -> list[MetricComparison]:
    results = []
    for metric in MEMORY_METRICS:
        base_values = np.array([run.statistic(metric) for run in base_side.runs])
        head_values = np.array([run.statistic(metric) for run in head_side.runs])
        base_values, head_values = base_values[~np.isnan(base_values)], head_values[~np.isnan(head_values)]
        if base_values.size == 0 and head_values.size == 0:
            continue
        threshold = settings.threshold_for(name, metric)
        percent = settings.memory_percent_tolerance
        if metric in settings.metric_thresholds or metric in settings.benchmark_thresholds.get(name, {}):
            percent = threshold  # an explicit per-metric threshold sets the percent tolerance
        gated = metric in settings.gating_metrics
        unit = "count" if metric == "allocations" else "bytes"
        if base_values.size == 0 or head_values.size == 0:
            side = "base" if base_values.size == 0 else "head"
            # Files from before the resident-set figure must not turn a suite inconclusive.
            gated = gated and metric != "peak_rss"
            results.append(
                MetricComparison(
                    name,
                    metric,
                    "inconclusive",
                    math.nan,
                    math.nan,
                    math.nan,
                    None,
                    None,
                    percent,
                    gated,
                    f"{metric} not measured on {side}",
                    _median(base_values),
                    _median(head_values),
                    int(base_values.size),
                    int(head_values.size),
                    unit,
                )
            )
            continue
        absolute = settings.allocation_tolerance if metric == "allocations" else settings.memory_bytes_tolerance
        result = compare_memory(
            base_values, head_values, absolute_tolerance=absolute, percent_tolerance=percent, unit=unit
        )
        results.append(
            MetricComparison(
                name,
                metric,
                result.verdict,
                result.ratio,
                result.ci_low,
                result.ci_high,
                None,
                None,
                percent,
                gated,
                result.reason,
                result.base_value,
                result.head_value,
                int(base_values.size),
                int(head_values.size),
                unit,
            )
        )
    return results


def _benchmark_notes(sides: tuple[_Side, _Side], metrics: Sequence[MetricComparison]) -> tuple[str, ...]:
    notes = []
    if not any(m.metric in ("p95", "p99") for m in metrics) and any(not r.has_samples for s in sides for r in s.runs):
        notes.append("p95/p99 unknown: summary-only results without raw samples")
    return tuple(notes)


def _suite_verdict(benchmarks: Sequence[BenchmarkComparison]) -> str:
    gated = [m.verdict for b in benchmarks for m in b.metrics if m.gated]
    if "regression" in gated:
        return "regression"
    if "inconclusive" in gated or any(b.status == "failed" for b in benchmarks) or not gated:
        return "inconclusive"
    if "improvement" in gated:
        return "improvement"
    return "unchanged"
