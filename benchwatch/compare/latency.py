"""The latency strategies: Welch over runs, and the speed-adjusted model where the sides shared a machine speed.

Each strategy owns its run selection and returns typed exclusion records:

* :class:`WelchLatency` keeps every ok run.  Nothing is selected by a
  criterion that depends on the side's own timings (slow runs, the runs that
  waited least): such a selection is not independent of the outcome, and on a
  loaded machine it produced intervals that excluded a real +30% change.
* :class:`SpeedAdjustedLatency` (only where every run has benchwatch's canary
  and the sides' machine speeds overlap) leaves out runs whose canary moved
  during their measurement while two steady runs remain; the canary is
  benchwatch's own fixed code, so this never reads the benchmark's timings.

Then, for every benchmark x latency metric, in this order: not comparable
(:mod:`.comparability`) -> no estimate; fewer than two runs on a side -> no
estimate; a gated quantile the runs have too few samples for -> no estimate;
one side busier than the other (:func:`benchwatch.stats.diagnostics.busier_sides`)
-> no estimate; otherwise the log-ratio test, BH q-values over every tested
row, and the verdict rule.  Files with fewer than 10 samples per run (Go
``-count``, Google Benchmark repetitions, pyperf workers, slow benchmarks)
are judged on the per-run mean, which every run has: it stands in for the
gated quantiles and says so.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchwatch.compare.pairing import BenchmarkPair, RunArrays
from benchwatch.compare.records import Exclusion, LatencyComparability, MetricComparison, StrategyResult
from benchwatch.compare.rules import CompareRules
from benchwatch.compare.settings import CompareSettings
from benchwatch.compare.verdict import ReasonCode, Verdict
from benchwatch.model import LATENCY_METRICS, QUANTILE_OF_METRIC, Run
from benchwatch.stats.bootstrap import BootstrapResult, hierarchical_bootstrap
from benchwatch.stats.covariate import slow_residual_runs, steady_covariates_grouped
from benchwatch.stats.diagnostics import SideDiagnostics, busier_sides, diagnose_sides
from benchwatch.stats.fdr import bh_qvalues
from benchwatch.stats.latency_tests import (
    METHOD_CONTENTION_ADJUSTED,
    METHOD_SPEED_ADJUSTED,
    METHOD_WELCH,
    LatencyTests,
    log_ratio_tests,
)

ONE_RUN_REASON = "needs ≥2 process runs per side (between-run variance cannot be estimated from one process)"
STAND_IN = "mean"
#: Quantiles that describe the tail of per-call times.
TAIL_METRICS = ("p95", "p99")
# Bootstrap is a display cross-check: cap the samples drawn per run so that
# it stays cheap even for long runs.
BOOTSTRAP_MAX_SAMPLES_PER_RUN = 1000


class WelchLatency:
    """Welch t on log per-run statistics over every ok run."""

    method = METHOD_WELCH

    def select(self, arrays: RunArrays, sizes: np.ndarray, rules: CompareRules) -> tuple[np.ndarray, np.ndarray | None]:
        """Which runs to fit and their covariates (or None), for consecutive groups of ``sizes`` runs."""
        return np.ones(int(sizes.sum()), dtype=bool), None


class SpeedAdjustedLatency:
    """ANCOVA on side and log canary time; runs with an unsteady canary are left out."""

    method = METHOD_SPEED_ADJUSTED

    def select(self, arrays: RunArrays, sizes: np.ndarray, rules: CompareRules) -> tuple[np.ndarray, np.ndarray | None]:
        """Which runs to fit and their covariates, for consecutive groups of ``sizes`` runs (one per pair side)."""
        return steady_covariates_grouped(
            arrays.canary, sizes, unstable_log=math.log(rules.unstable_canary), min_runs=rules.min_runs
        )


class ContentionAdjustedLatency:
    """ANCOVA on side and the run's CPU wait, log(1 / (1 - wait)), with a slope that can only add time.

    Contention is one-sided: a run that waited for a CPU is slower, never
    faster, by roughly the time it waited.  Each run measures its own wait
    (schedstat), independently of the code under test, so the fit removes
    the share of each run's time the load beside it took, benchmark by
    benchmark, and keeps every run.  Benchmarks none of whose runs waited
    more than ``rules.tail_contention_wait`` get a constant covariate, which
    the fit drops (the plain two-sample model).
    """

    method = METHOD_CONTENTION_ADJUSTED

    def select(self, arrays: RunArrays, sizes: np.ndarray, rules: CompareRules) -> tuple[np.ndarray, np.ndarray | None]:
        waits = np.clip(np.nan_to_num(arrays.waits, nan=0.0), 0.0, 0.95)
        covariate = -np.log1p(-waits)
        group = np.repeat(np.arange(sizes.size), sizes)
        pair_max = np.zeros(max(1, (sizes.size + 1) // 2))
        np.maximum.at(pair_max, group // 2, waits)
        quiet = pair_max[group // 2] <= rules.tail_contention_wait
        return np.ones(int(sizes.sum()), dtype=bool), np.where(quiet, 0.0, covariate)


def contended(waits: np.ndarray, rules: CompareRules) -> bool:
    """Whether the contention-adjusted model applies: every run's CPU wait known, and a run waited."""
    waits = np.asarray(waits, dtype=np.float64)
    return bool(
        rules.contention_adjust and waits.size and np.isfinite(waits).all() and waits.max() > rules.tail_contention_wait
    )


def choose_strategy(
    comparability: LatencyComparability, rules: CompareRules, machine_busy: bool = False, waited: bool = False
) -> WelchLatency | SpeedAdjustedLatency | ContentionAdjustedLatency:
    """The contention-adjusted model where runs waited for a CPU (``waited``, :func:`contended`); else the
    speed-adjusted model where the sides shared a machine speed and the machine was not busy.

    Under load the canary measures the scheduler as much as the CPU; the
    run's own CPU wait measures the load directly.

    The canary measures the CPU's speed state; on a machine where most runs
    waited for a CPU it measures the scheduler instead (on the A/B harness at
    a load of 15-20, the adjustment doubled the intervals that missed the
    truth with CPU hogs beside one side).  Both conditions read the canary and
    the CPU wait only, never the benchmarks' timings.
    """
    if waited and comparability.comparable:
        return ContentionAdjustedLatency()
    speed = comparability.speed
    if rules.speed_adjust and speed is not None and speed.shared and comparability.comparable and not machine_busy:
        return SpeedAdjustedLatency()
    return WelchLatency()


@dataclass
class _Sides:
    """The selected runs of every pair as NaN-padded ``(pairs, runs)`` index matrices into the run arrays."""

    base: np.ndarray  # int, -1 = padding
    head: np.ndarray
    base_covariates: np.ndarray | None
    head_covariates: np.ndarray | None
    exclusions: list[Exclusion]
    #: (pair, side) -> runs left out as far slower than their row's fit (most over the metrics)
    slow: dict[tuple[int, str], int] = field(default_factory=dict)

    def values(self, column: np.ndarray, side: str) -> np.ndarray:
        index = self.base if side == "base" else self.head
        return np.where(index >= 0, column[np.maximum(index, 0)], np.nan)


def _select(pairs: Sequence[BenchmarkPair], arrays: RunArrays, strategy: Any, rules: CompareRules) -> _Sides:
    # Runs are laid out pair by pair, base then head: group 2p is pair p's base, 2p + 1 its head.
    sizes = np.array([len(side.ok_runs) for pair in pairs for side in (pair.base, pair.head)], dtype=np.int64)
    keep, covariate = strategy.select(arrays, sizes, rules)
    group = np.repeat(np.arange(sizes.size), sizes)
    dropped = np.bincount(group[~keep], minlength=sizes.size)
    exclusions = [
        Exclusion(pairs[g // 2].name, ("base", "head")[g % 2], int(dropped[g]), "canary-unsteady")
        for g in np.flatnonzero(dropped).tolist()
    ]
    kept = np.flatnonzero(keep)
    kept_group = group[kept]
    kept_count = np.bincount(kept_group, minlength=sizes.size)
    position = np.arange(kept.size) - (np.cumsum(kept_count) - kept_count)[kept_group]
    index: dict[int, np.ndarray] = {}
    covariates: dict[int, np.ndarray | None] = {}
    for side in (0, 1):
        mine = kept_group % 2 == side
        width = int(kept_count[side::2].max()) if len(pairs) else 0
        index[side] = np.full((len(pairs), width), -1, dtype=np.int64)
        index[side][kept_group[mine] // 2, position[mine]] = kept[mine]
        covariates[side] = None
        if covariate is not None:
            padded = np.full((len(pairs), width), np.nan)
            padded[kept_group[mine] // 2, position[mine]] = covariate[kept[mine]]
            covariates[side] = padded
    return _Sides(
        base=index[0],
        head=index[1],
        base_covariates=covariates[0],
        head_covariates=covariates[1],
        exclusions=exclusions,
    )


def latency_verdict(
    ratio: float, low: float, high: float, q: float, threshold: float, alpha: float, min_effect_share: float
) -> tuple[Verdict, ReasonCode, str]:
    """The verdict rule (docs/statistics.md): regression/improvement, unchanged, or inconclusive."""
    upper, lower = 1.0 + threshold, 1.0 / (1.0 + threshold)
    floor = upper**min_effect_share
    significant = not math.isnan(q) and q < alpha
    if significant and ratio >= upper and low >= floor:
        return (
            Verdict.REGRESSION,
            ReasonCode.DECIDED,
            f"q={q:.3g} < {alpha:g}, ratio ≥ {upper:.3g}, CI above {floor:.3g}",
        )
    if significant and ratio <= lower and high <= 1.0 / floor:
        why = f"q={q:.3g} < {alpha:g}, ratio ≤ {lower:.3g}, CI below {1.0 / floor:.3g}"
        return Verdict.IMPROVEMENT, ReasonCode.DECIDED, why
    if lower <= low and high <= upper:
        return Verdict.UNCHANGED, ReasonCode.DECIDED, f"95% CI within [{lower:.3g}, {upper:.3g}]"
    why = f"95% CI {low:.3g}–{high:.3g} reaches beyond ±{threshold:.0%}; rerun with more runs"
    return Verdict.INCONCLUSIVE, ReasonCode.WIDE_INTERVAL, why


@dataclass(frozen=True)
class _PairFacts:
    """What the rows of one benchmark share: run counts, sample sizes, the busier side."""

    n_base: int
    n_head: int
    min_size: int
    max_size: int
    iterations: int
    busy: str | None
    #: The largest share of a run's time spent waiting for a CPU, over both sides' runs (0 if unknown).
    max_wait: float = 0.0

    def sample_span(self) -> str:
        return f"{self.min_size}" if self.min_size == self.max_size else f"{self.min_size}–{self.max_size}"


def _facts(sides: _Sides, arrays: RunArrays, rules: CompareRules) -> list[_PairFacts]:
    sizes = np.concatenate([sides.values(arrays.sizes.astype(np.float64), s) for s in ("base", "head")], axis=1)
    iterations = np.concatenate(
        [sides.values(arrays.iterations.astype(np.float64), s) for s in ("base", "head")], axis=1
    )
    base_waits, head_waits = sides.values(arrays.waits, "base"), sides.values(arrays.waits, "head")
    count = len(sides.base)
    busy = (
        busier_sides(base_waits, head_waits, rules.one_side_busy_wait) if rules.check_one_side_busy else [None] * count
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: files without schedstat
        max_waits = np.nanmax(np.concatenate([base_waits, head_waits], axis=1), axis=1) if count else np.empty(0)
    max_waits = np.where(np.isfinite(max_waits), max_waits, 0.0)
    # Every pair has an ok run on each side, so no row is all-NaN.
    columns = zip(
        (sides.base >= 0).sum(axis=1).tolist(),
        (sides.head >= 0).sum(axis=1).tolist(),
        np.nanmin(sizes, axis=1).astype(np.int64).tolist() if count else [],
        np.nanmax(sizes, axis=1).astype(np.int64).tolist() if count else [],
        np.nanmax(iterations, axis=1).astype(np.int64).tolist() if count else [],
        busy,
        max_waits.tolist(),
        strict=True,
    )
    return [_PairFacts(*column) for column in columns]


@dataclass(frozen=True)
class _Row:
    """One benchmark x metric before its verdict: whether it is gated and tested, and why not."""

    pair: int
    metric: str
    gated: bool
    code: ReasonCode | None  # None: tested
    notes: tuple[str, ...]


def _plan_rows(
    pairs: Sequence[BenchmarkPair],
    facts: Sequence[_PairFacts],
    values: dict[str, tuple[np.ndarray, np.ndarray]],
    settings: CompareSettings,
    rules: CompareRules,
    comparability: LatencyComparability,
    machine_busy: bool,
) -> list[_Row]:
    thin_limit = rules.min_samples_for_quantile(0.5)
    gate = set(settings.gating_metrics)
    rows = []
    for p, fact in enumerate(facts):
        thin = fact.min_size < thin_limit
        stood_in = [m for m in QUANTILE_OF_METRIC if m in gate] if thin else []
        for metric in LATENCY_METRICS:
            base, head = values[metric][0][p], values[metric][1][p]
            notes: list[str] = []
            gated = metric in gate
            quantile = QUANTILE_OF_METRIC.get(metric)
            needed = rules.min_samples_for_quantile(quantile) if quantile is not None else 0
            short = quantile is not None and fact.min_size < needed
            if thin and quantile is not None:
                gated = False
                notes.append(
                    f"{metric} not gated: needs ≥{needed} samples per run, runs have {fact.sample_span()}; "
                    f"the verdict rests on the per-run {STAND_IN}"
                )
            if thin and metric == STAND_IN and (stood_in or gated):
                gated = True
                if stood_in:
                    notes.append(f"stands in for {', '.join(stood_in)}: runs have {fact.sample_span()} samples")
            if not (np.isfinite(base).any() or np.isfinite(head).any()) and not (gated and short):
                continue  # e.g. p99 of summary-only results: unknown on both sides
            contended = machine_busy or fact.max_wait > rules.tail_contention_wait
            busy_tail = contended and metric in TAIL_METRICS and rules.busy_tails_not_judged
            code = _not_judged(fact, gated and short, comparability, rules, busy_tail)
            if code is ReasonCode.TOO_FEW_SAMPLES:
                notes.append(
                    f"{metric} cannot be judged: needs ≥{needed} samples per run, runs have {fact.sample_span()}"
                )
            elif short and not gated and not thin:
                notes.append(f"{metric} not gated: needs ≥{needed} samples per run, runs have {fact.sample_span()}")
            if quantile is not None and fact.iterations > 1:
                notes.append(
                    f"percentiles describe round means (up to {fact.iterations} calls per sample), not single calls"
                )
            rows.append(_Row(pair=p, metric=metric, gated=gated, code=code, notes=tuple(notes)))
    return rows


def _not_judged(
    fact: _PairFacts, gated_short: bool, comparability: LatencyComparability, rules: CompareRules, busy_tail: bool
) -> ReasonCode | None:
    if comparability.code is not None:
        return comparability.code
    if fact.n_base < rules.min_runs or fact.n_head < rules.min_runs:
        return ReasonCode.TOO_FEW_RUNS
    if gated_short:
        return ReasonCode.TOO_FEW_SAMPLES
    if fact.busy is not None:
        return ReasonCode.ONE_SIDE_BUSY
    if busy_tail:
        return ReasonCode.MACHINE_BUSY
    return None


def _record_slow(pick: np.ndarray, slow_base: np.ndarray, slow_head: np.ndarray, sides: _Sides) -> None:
    """One exclusion record per benchmark and side: the most runs left out over its metrics."""
    most: dict[tuple[int, str], int] = {}
    for label, slow in (("base", slow_base), ("head", slow_head)):
        for row in np.flatnonzero(slow.any(axis=1)):
            key = (int(pick[row]), label)
            most[key] = max(most.get(key, 0), int(slow[row].sum()))
    sides.slow.update(most)


def _run_tests(
    rows: Sequence[_Row],
    values: dict[str, tuple[np.ndarray, np.ndarray]],
    sides: _Sides,
    settings: CompareSettings,
    rules: CompareRules,
    method: str,
) -> tuple[LatencyTests | None, np.ndarray, dict[int, int]]:
    tested = [position for position, row in enumerate(rows) if row.code is None]
    if not tested:
        return None, np.empty(0), {}
    pick = np.array([rows[i].pair for i in tested])
    metrics = [rows[i].metric for i in tested]
    with np.errstate(divide="ignore", invalid="ignore"):
        base = np.vstack([values[rows[i].metric][0][rows[i].pair] for i in tested])
        head = np.vstack([values[rows[i].metric][1][rows[i].pair] for i in tested])
        base_logs = np.where(base > 0, np.log(base), np.nan)
        head_logs = np.where(head > 0, np.log(head), np.nan)
    covariates = sides.base_covariates is not None and sides.head_covariates is not None
    base_cov = sides.base_covariates[pick] if sides.base_covariates is not None else None
    head_cov = sides.head_covariates[pick] if sides.head_covariates is not None else None
    if rules.drop_slow_residuals:
        slow_base, slow_head = slow_residual_runs(
            base_logs,
            head_logs,
            base_cov,
            head_cov,
            mads=rules.slow_residual_mads,
            floor=rules.slow_residual_floor,
            min_runs=rules.min_runs,
        )
        base_logs, head_logs = np.where(slow_base, np.nan, base_logs), np.where(slow_head, np.nan, head_logs)
        _record_slow(pick, slow_base, slow_head, sides)
    tests = log_ratio_tests(
        method=method,
        spread_growth=rules.contention_spread_growth,
        metrics=metrics,
        base_logs=base_logs,
        head_logs=head_logs,
        base_covariates=base_cov if covariates else None,
        head_covariates=head_cov if covariates else None,
        confidence=settings.confidence,
        moderate=settings.moderate_variances,
        min_estimates=rules.min_variance_estimates,
        min_prior_df=rules.min_prior_df,
    )
    return tests, bh_qvalues(tests.result.p_value), {row: k for k, row in enumerate(tested)}


def _row_medians(values: np.ndarray) -> np.ndarray:
    """Median of each row, ignoring NaN (NaN for an all-NaN row)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(values, axis=1) if values.shape[1] else np.full(len(values), np.nan)


def _direction_note(ratio: float, base_value: float, head_value: float, method: str) -> str | None:
    """Say why when the estimate and the raw medians of runs point in opposite directions."""
    if not (base_value > 0 and head_value > 0 and math.isfinite(ratio)):
        return None
    raw = math.log(head_value / base_value)
    if raw * math.log(ratio) >= 0 or min(abs(raw), abs(math.log(ratio))) < 0.01:
        return None
    if method == METHOD_CONTENTION_ADJUSTED:
        return (
            f"raw medians moved {head_value / base_value - 1:+.1%}, the other way: some runs waited for a CPU "
            "and the estimate removes the time the load beside them took (CPU wait)"
        )
    if method == METHOD_SPEED_ADJUSTED:
        return (
            f"raw medians moved {head_value / base_value - 1:+.1%}, the other way: the runs were measured at "
            "different machine speeds and the estimate removes the machine's share (canary)"
        )
    return (
        f"raw medians moved {head_value / base_value - 1:+.1%}, the other way: the estimate is the ratio of "
        "geometric means over runs, and a few runs far off their side's median pull it"
    )


_NOT_JUDGED_TEXT = {
    ReasonCode.TOO_FEW_RUNS: ONE_RUN_REASON,
    ReasonCode.MACHINE_BUSY: "machine busy (most runs waited > 20% for a CPU, or a run of this benchmark > 5%): "
    "the tail of per-call times "
    "describes the scheduler's time slices, not the code",
    ReasonCode.ONE_SIDE_BUSY: "{busy} runs all waited far longer for a CPU than the other side's (load beside one "
    "side only): a difference would be the machine's",
}


def _metric_row(
    name: str,
    row: _Row,
    fact: _PairFacts,
    medians: dict[str, tuple[np.ndarray, np.ndarray]],
    outcome: tuple[LatencyTests, np.ndarray, int] | None,
    settings: CompareSettings,
    rules: CompareRules,
    comparability: LatencyComparability,
    bootstrap: BootstrapResult | None,
) -> MetricComparison:
    base_value, head_value = (float(m[row.pair]) for m in medians[row.metric])
    threshold = settings.threshold_for(name, row.metric)
    ratio = low = high = math.nan
    p: float | None = None
    q: float | None = None
    verdict = Verdict.INCONCLUSIVE
    n_base, n_head = fact.n_base, fact.n_head
    code, reasons = row.code, []
    if outcome is not None:
        tests, q_values, k = outcome
        result = tests.result
        n_base, n_head = int(result.n_base[k]), int(result.n_head[k])
        if n_base < rules.min_runs or n_head < rules.min_runs or not math.isfinite(float(result.ci_low[k])):
            code = ReasonCode.TOO_FEW_RUNS
        else:
            ratio, low, high = (float(math.exp(x[k])) for x in (result.estimate, result.ci_low, result.ci_high))
            p, q = float(result.p_value[k]), float(q_values[k])
            verdict, code, why = latency_verdict(ratio, low, high, q, threshold, settings.alpha, rules.min_effect_share)
            reasons.append(why)
            note = _direction_note(ratio, base_value, head_value, tests.method)
            if note:
                reasons.append(note)
    if code is not None and code is not ReasonCode.DECIDED and code is not ReasonCode.WIDE_INTERVAL:
        verdict = Verdict.INCONCLUSIVE
        text = comparability.detail if code == comparability.code else _NOT_JUDGED_TEXT.get(code, "")
        if text:
            reasons.insert(0, text.format(busy=fact.busy))
    boot_low = boot_high = math.nan
    if bootstrap is not None and code in (ReasonCode.DECIDED, ReasonCode.WIDE_INTERVAL):
        _, boot_low, boot_high = bootstrap.for_metric(row.metric)
    return MetricComparison(
        benchmark=name,
        metric=row.metric,
        verdict=verdict,
        ratio=ratio,
        ci_low=low,
        ci_high=high,
        p_value=p,
        q_value=q,
        threshold=threshold,
        gated=row.gated,
        reason="; ".join(reasons + list(row.notes)),
        base_value=base_value,
        head_value=head_value,
        n_runs_base=n_base,
        n_runs_head=n_head,
        bootstrap_ci_low=boot_low,
        bootstrap_ci_high=boot_high,
        reason_code=code or ReasonCode.DECIDED,
    )


def _side_diagnostics(sides: _Sides, arrays: RunArrays) -> list[tuple[SideDiagnostics, SideDiagnostics]]:
    figures = {}
    for label in ("base", "head"):
        figures[label] = diagnose_sides(
            sides.values(arrays.values["p50"], label),
            sides.values(arrays.table.robust_cv, label),
            sides.values(arrays.waits, label),
            sides.values(arrays.loads, label),
        )
    return list(zip(figures["base"], figures["head"], strict=True))


def _bootstraps(
    pairs: Sequence[BenchmarkPair], runs: Sequence[Run], sides: _Sides, settings: CompareSettings
) -> dict[int, BootstrapResult]:
    if settings.bootstrap_resamples <= 0:
        return {}
    rng = np.random.default_rng(settings.seed)
    out = {}
    for p in range(len(pairs)):
        base = [runs[i].samples for i in sides.base[p] if i >= 0 and runs[i].has_samples]
        head = [runs[i].samples for i in sides.head[p] if i >= 0 and runs[i].has_samples]
        if base and head:
            out[p] = hierarchical_bootstrap(
                base,
                head,
                rng=rng,
                n_resamples=settings.bootstrap_resamples,
                max_samples_per_run=BOOTSTRAP_MAX_SAMPLES_PER_RUN,
            )
    return out


def compare_latency(
    pairs: Sequence[BenchmarkPair],
    *,
    arrays: RunArrays,
    settings: CompareSettings,
    rules: CompareRules,
    comparability: LatencyComparability,
    machine_busy: bool = False,
) -> StrategyResult:
    """Latency rows of every compared benchmark (see the module doc), with exclusions and diagnostics.

    ``arrays``: the per-run figures of the pairs' ok runs, base then head, pair by pair (the pairing's).
    """
    strategy = choose_strategy(comparability, rules, machine_busy, contended(arrays.waits, rules))
    sides = _select(pairs, arrays, strategy, rules)
    values = {
        m: (sides.values(arrays.values[m], "base"), sides.values(arrays.values[m], "head")) for m in LATENCY_METRICS
    }
    medians = {m: (_row_medians(pair[0]), _row_medians(pair[1])) for m, pair in values.items()}
    facts = _facts(sides, arrays, rules)
    planned = _plan_rows(pairs, facts, values, settings, rules, comparability, machine_busy)
    tests, q_values, tested = _run_tests(planned, values, sides, settings, rules, strategy.method)
    runs = [run for pair in pairs for side in (pair.base, pair.head) for run in side.ok_runs]  # arrays' order
    bootstraps = _bootstraps(pairs, runs, sides, settings)
    rows: dict[str, list[MetricComparison]] = {pair.name: [] for pair in pairs}
    for position, row in enumerate(planned):
        outcome = (tests, q_values, tested[position]) if tests is not None and position in tested else None
        name = pairs[row.pair].name
        made = _metric_row(
            name, row, facts[row.pair], medians, outcome, settings, rules, comparability, bootstraps.get(row.pair)
        )
        if made.runs_disagree:  # the reports show the runs instead of the interval
            base_runs, head_runs = (v[row.pair][np.isfinite(v[row.pair])] for v in values[row.metric])
            made = dataclasses.replace(made, base_runs=tuple(base_runs.tolist()), head_runs=tuple(head_runs.tolist()))
        rows[name].append(made)
    side_diagnostics = {}
    for p, (pair, (base_d, head_d)) in enumerate(zip(pairs, _side_diagnostics(sides, arrays), strict=True)):
        if facts[p].busy is not None:
            waited = base_d if facts[p].busy == "base" else head_d
            reason = f"{waited.median_preemption:.0%} of run time waiting for a CPU (other side less on every run)"
            waited = SideDiagnostics(**{**waited.__dict__, "disturbed": True, "reasons": (reason,)})
            base_d, head_d = (waited, head_d) if facts[p].busy == "base" else (base_d, waited)
        side_diagnostics[pair.name] = (base_d, head_d)
    warnings = []
    for position, label in enumerate(("base", "head")):
        single = sum(1 for fact in facts if (fact.n_base, fact.n_head)[position] < rules.min_runs)
        if single:
            warnings.append(f"{label} has fewer than {rules.min_runs} ok runs on {single} benchmarks: {ONE_RUN_REASON}")
    method = strategy.method if comparability.comparable else "not-comparable"
    diagnostics = {
        "latency_test": method,
        "variance_priors": {m: prior.to_dict() for m, prior in (tests.priors.items() if tests else ())},
    }
    slow = [Exclusion(pairs[p].name, label, count, "slow-residual") for (p, label), count in sorted(sides.slow.items())]
    return StrategyResult(
        rows={name: tuple(found) for name, found in rows.items()},
        exclusions=(*sides.exclusions, *slow),
        diagnostics=diagnostics,
        side_diagnostics=side_diagnostics,
        warnings=tuple(warnings),
    )
