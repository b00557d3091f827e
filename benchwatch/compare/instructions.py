"""Instruction-count metrics of a comparison (one strategy beside latency and memory).

For each compared benchmark and count metric (``instructions``, and
``estimated_cycles`` when both sides simulated caches) this builds a
:class:`~benchwatch.compare.MetricComparison` from the sides' instruction
runs with :func:`benchwatch.stats.instructions.compare_counts`.

What must match for counts to be compared (else the row says which field
differs and does not gate): architecture, Python implementation, version and
build, hash seed, valgrind version and benchwatch's counting method.  Package
versions count per benchmark, for the distributions whose code its counted
call executed (``executed_packages``): a release of a package the call never
ran is not mentioned; one it ran is named on the row ("compared across idna
3.20 → 3.21") and the row is still judged, unless ``strict_packages`` refuses
it.  A file without that record (before schema 5) falls back to the suite-wide
rule: any package both sides imported at different versions makes every row
not comparable, and the row says the rule came from the older file.  A side
without counts (an older file, or valgrind missing there) gives an ungated
row saying so, so an old baseline never turns a suite inconclusive.

What the counts capture: the instructions the benchmarked call executed in
the process (all its threads, serialised by Valgrind).  What they miss: time
waiting on I/O, sleeping or on locks, work in other processes, and the cost
of cache misses unless estimated cycles are measured.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchwatch.compare.pairing import BenchmarkPair
from benchwatch.compare.records import MetricComparison, StrategyResult
from benchwatch.compare.settings import CompareSettings
from benchwatch.compare.verdict import ReasonCode, Verdict
from benchwatch.model import INSTRUCTION_METRICS, BenchmarkResult, InstructionRun, ResultSet
from benchwatch.stats.instructions import relative_spread
from benchwatch.stats.runlevel import welch_log_ratio

#: One line for every report that shows instruction counts.
COUNTS_CAPTION = (
    "Instructions are counted under Valgrind's Callgrind around the benchmarked call only: they do not move "
    "with load or machine speed, and they miss I/O waits, sleeps, lock contention, work in other processes "
    "and (unless estimated cycles are shown) cache misses."
)


def _calls(runs: tuple[InstructionRun, ...], metric: str) -> list[np.ndarray]:
    arrays = []
    for run in runs:
        if not run.ok:
            continue
        values = run.instructions if metric == "instructions" else run.estimated_cycles
        if values:
            arrays.append(np.asarray(values, dtype=np.float64))
    return arrays


def _failure(runs: tuple[InstructionRun, ...]) -> str | None:
    failed = [run for run in runs if run.status != "ok"]
    return (failed[0].error or failed[0].status) if failed else None


def _row(
    name: str, metric: str, verdict: Verdict, gated: bool, reason: str, *, code: ReasonCode, **values: Any
) -> MetricComparison:
    return MetricComparison(
        reason_code=code,
        benchmark=name,
        metric=metric,
        verdict=verdict,
        ratio=values.get("ratio", math.nan),
        ci_low=values.get("low", math.nan),
        ci_high=values.get("high", math.nan),
        p_value=values.get("p_value"),
        q_value=None,
        threshold=values["threshold"],
        gated=gated,
        reason=reason,
        base_value=values.get("base_value", math.nan),
        head_value=values.get("head_value", math.nan),
        n_runs_base=values.get("n_base", 0),
        n_runs_head=values.get("n_head", 0),
        unit="count" if metric == "instructions" else "cycles",
    )


def instruction_comparisons(
    name: str,
    base: BenchmarkResult,
    head: BenchmarkResult,
    *,
    mismatches: list[str],
    settings: CompareSettings,
    note: str | None = None,
) -> list[MetricComparison]:
    """The count metrics of one benchmark; ``mismatches`` make them not comparable, ``note`` goes on judged rows."""
    rows = []
    for metric in INSTRUCTION_METRICS:
        base_calls, head_calls = _calls(base.instruction_runs, metric), _calls(head.instruction_runs, metric)
        threshold = settings.threshold_for(name, metric)
        gated = metric in settings.gating_metrics
        if not base_calls and not head_calls:
            failure = _failure(base.instruction_runs) or _failure(head.instruction_runs)
            if failure and metric == "instructions":
                rows.append(
                    _row(
                        name,
                        metric,
                        Verdict.INCONCLUSIVE,
                        False,
                        failure,
                        code=ReasonCode.NOT_MEASURED,
                        threshold=threshold,
                    )
                )
            continue
        counts = {"n_base": len(base_calls), "n_head": len(head_calls), "threshold": threshold}
        if not base_calls or not head_calls:
            side, runs = ("base", base.instruction_runs) if not base_calls else ("head", head.instruction_runs)
            why = _failure(runs) or "no instruction pass in that result"
            reason = f"{metric} not measured on {side}: {why}"
            rows.append(_row(name, metric, Verdict.INCONCLUSIVE, False, reason, code=ReasonCode.NOT_MEASURED, **counts))
            continue
        if mismatches:
            more = f"; +{len(mismatches) - 3} more" if len(mismatches) > 3 else ""
            reason = f"{metric} not comparable: count fingerprints differ ({'; '.join(mismatches[:3])}{more})"
            rows.append(
                _row(
                    name, metric, Verdict.INCONCLUSIVE, False, reason, code=ReasonCode.NOT_COMPARABLE_MACHINE, **counts
                )
            )
            continue
        result = compare_counts(base_calls, head_calls, threshold=threshold, alpha=settings.alpha)
        rows.append(
            _row(
                name,
                metric,
                result.verdict,
                gated,
                f"{result.reason}; {note}" if note else result.reason,
                code=ReasonCode.WIDE_INTERVAL if result.verdict == Verdict.INCONCLUSIVE else ReasonCode.DECIDED,
                ratio=result.ratio,
                low=result.low,
                high=result.high,
                p_value=result.p_value,
                base_value=result.base_value,
                head_value=result.head_value,
                **counts,
            )
        )
    return rows


def count_mismatches(base: Mapping[str, Any], head: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(reasons the count fingerprints differ in how they were counted, warnings for the report)."""
    if not base or not head:
        return [], []
    mismatches = fingerprint_mismatches(base, head, packages=False)
    warnings = []
    if mismatches:
        warnings.append(
            "instruction counts not compared: base and head differ in what decides them "
            f"({'; '.join(mismatches)}); refresh the baseline on this machine type"
        )
    return mismatches, warnings


def _versions(differences: Mapping[str, tuple[str, str]]) -> str:
    return ", ".join(f"{name} {old} → {new}" for name, (old, new) in differences.items())


def _package_rule(
    pair: BenchmarkPair, suite_wide: Mapping[str, tuple[str, str]], settings: CompareSettings
) -> tuple[list[str], str | None, dict[str, tuple[str, str]]] | None:
    """(mismatches, row note, executed packages compared across versions) of one benchmark.

    None: a side has no per-benchmark record and the suite-wide rule found a difference.
    """
    base_packages, head_packages = pair.base.executed_packages, pair.head.executed_packages
    if base_packages is None or head_packages is None:
        return None if suite_wide else ([], None, {})
    differences = package_differences(base_packages, head_packages)
    if not differences:
        return [], None, {}
    if settings.strict_packages:
        return [f"its call executed {_versions(differences)} (strict_packages)"], None, {}
    return [], f"compared across {_versions(differences)}: part of this change may be the dependency's", differences


def compare_instruction_metrics(
    pairs: Sequence[BenchmarkPair], *, base: ResultSet, head: ResultSet, settings: CompareSettings
) -> StrategyResult:
    """The strategy: instruction (and estimated-cycle) rows of every compared benchmark.

    Its diagnostics (``instruction_counts``) say what decided comparability,
    for the headline: the fingerprint fields that differ, the executed
    packages compared across versions (and on how many benchmarks), the
    benchmarks left to the suite-wide rule of older files.
    """
    mismatches, warnings = count_mismatches(base.count_fingerprint, head.count_fingerprint)
    suite_wide = package_differences(
        (base.count_fingerprint or {}).get("packages") or {}, (head.count_fingerprint or {}).get("packages") or {}
    )
    rows: dict[str, tuple[MetricComparison, ...]] = {}
    across: dict[str, tuple[str, str]] = {}
    noted, older = [], []
    for pair in pairs:
        rule = _package_rule(pair, suite_wide, settings)
        if rule is None:
            side = "base" if pair.base.executed_packages is None else "head"
            why = f"{side} has no record of the packages this benchmark executed (an older file): suite-wide rule"
            rule = ([why, *(f"{name} {old} vs {new}" for name, (old, new) in suite_wide.items())], None, {})
            older += [pair.name] if pair.base.instruction_runs and pair.head.instruction_runs else []
        packages, note, differences = rule
        found = instruction_comparisons(
            pair.name, pair.base, pair.head, mismatches=[*mismatches, *packages], settings=settings, note=note
        )
        rows[pair.name] = tuple(found)
        if differences and any(row.judged for row in found):
            across.update(differences)
            noted.append(pair.name)
    if older and not mismatches:
        warnings.append(
            f"instruction counts of {len(older)} benchmark(s) not compared: a result file has no per-benchmark record "
            f"of the packages each call executed (written before schema 5), so the suite-wide rule applies "
            f"({_versions(suite_wide)}); record the baseline again with this benchwatch"
        )
    diagnostics = {
        "instruction_counts": {
            "fingerprint_mismatches": mismatches,
            "packages_across": {name: list(versions) for name, versions in sorted(across.items())},
            "benchmarks_across": noted,
            "suite_wide_rule": older,
        }
    }
    return StrategyResult(rows=rows, warnings=tuple(warnings), diagnostics=diagnostics)


# -- the rule of one count metric ----------------------------------------------------------------------
#
# Verdicts on instruction counts (and estimated cycles) from the Callgrind pass.
#
# Counts of the same code are nearly exact: on this 2-core machine, under load,
# one Python function counted in separate processes gave 68,135,331 and
# 68,135,367 instructions.  So the question is not "is the difference
# significant" but "do the counts agree, and by how much did they change".
#
# Per side, each instruction run (a fresh process) is summarised by the median
# of its counted calls.  A side's *spread* is (max - min) / median of those
# per-run values (of the counted calls when the side has a single run).
#
# * **Exact** (both spreads at most ``EXACT_SPREAD_SHARE`` x threshold): the
#   ratio of the sides' medians is the change, shown exactly (e.g. +2.31%);
#   the range [min head / max base, max head / min base] bounds it.
#   ``regression`` when the ratio is at least 1 + t and the whole range lies
#   above 1; ``improvement`` mirrored; ``unchanged`` when the range lies within
#   [1 / (1 + t), 1 + t]; else ``inconclusive``.  A regression or
#   improvement needs at least two runs per side: some code (regex, DuckDB
#   in the A/B workloads) repeats itself exactly within a process but counts
#   1-3% differently in another one, which one run per side cannot show.
# * **Run-level** (counts vary, e.g. threads or hash randomisation): a Welch t
#   on the log per-run values, with the latency rule (p < alpha, ratio past the
#   threshold and the interval clear of 1 for a regression; the interval within
#   the threshold band for unchanged).  With two runs per side its interval is
#   wide, so such benchmarks are mostly inconclusive: the reason says so.
#
# Counts are compared only when the count fingerprints of the two sides match
# (:func:`fingerprint_mismatches`).


#: Counts count as exact when each side's spread is at most this share of the
#: threshold: identical code then stays within the threshold band (the two
#: spreads add up to at most the threshold), so spread alone never makes a
#: regression.  Measured: DuckDB queries 0.01-0.06%, HTTP-client benchmarks
#: (reads vary with how data arrives) up to 0.31% between processes.
EXACT_SPREAD_SHARE = 0.5

#: Fingerprint fields that must be equal for counts to be comparable.
FINGERPRINT_KEYS = (
    "machine",
    "python_implementation",
    "python_version",
    "python_build",
    "valgrind",
    "hash_seed",
    "count_method",
    "count_workers",
)
#: Values of fields that files from before the field existed had implicitly:
#: counts made before ``count_method`` was recorded were made by method 1, and
#: before ``count_workers`` in fresh workers (``warm``: children of warm parents).
FINGERPRINT_DEFAULTS: Mapping[str, Any] = {"count_method": 1, "count_workers": "fresh"}


@dataclass(frozen=True)
class CountResult:
    """The verdict on one count metric of one benchmark (the rule above)."""

    verdict: Verdict
    ratio: float
    low: float
    high: float
    p_value: float | None
    base_value: float
    head_value: float
    base_spread: float
    head_spread: float
    method: str  # "exact" or "run-level"
    reason: str


def _side(runs: Sequence[np.ndarray]) -> tuple[np.ndarray, float, np.ndarray]:
    """(per-run medians, spread, the values that bound the exact range)."""
    per_run = np.array([float(np.median(calls)) for calls in runs])
    if per_run.size >= 2:
        return per_run, relative_spread(per_run), per_run
    calls = np.asarray(runs[0], dtype=np.float64)
    return per_run, relative_spread(calls), calls


def compare_counts(
    base_runs: Sequence[np.ndarray],
    head_runs: Sequence[np.ndarray],
    *,
    threshold: float,
    alpha: float = 0.05,
    confidence: float = 0.95,
) -> CountResult:
    """Verdict for per-call counts of each run of base and head (one array per run)."""
    if not base_runs or not head_runs or any(np.size(calls) == 0 for calls in (*base_runs, *head_runs)):
        raise ValueError("count comparison needs at least one run with counts per side")
    base_values, base_spread, base_bounds = _side(base_runs)
    head_values, head_spread, head_bounds = _side(head_runs)
    base_value, head_value = float(np.median(base_values)), float(np.median(head_values))
    upper, lower = 1.0 + threshold, 1.0 / (1.0 + threshold)
    spreads = f"spread {base_spread:.3%} base, {head_spread:.3%} head"
    if max(base_spread, head_spread) <= EXACT_SPREAD_SHARE * threshold:
        ratio = head_value / base_value
        low, high = float(head_bounds.min() / base_bounds.max()), float(head_bounds.max() / base_bounds.min())
        if ratio >= upper and low > 1.0:
            verdict = Verdict.REGRESSION
        elif ratio <= lower and high < 1.0:
            verdict = Verdict.IMPROVEMENT
        elif lower <= low and high <= upper:
            verdict = Verdict.UNCHANGED
        else:
            verdict = Verdict.INCONCLUSIVE
        reason = f"exact counts ({spreads}): change {ratio - 1:+.2%}, threshold ±{threshold:.2%}"
        if verdict in (Verdict.REGRESSION, Verdict.IMPROVEMENT) and min(base_values.size, head_values.size) < 2:
            # Some code counts differently in another process (up to 1-3% for regex
            # and DuckDB in the A/B workloads) while each process repeats itself
            # exactly: one run per side cannot show that.
            verdict = Verdict.INCONCLUSIVE
            reason += f"; a {ratio - 1:+.2%} change needs ≥2 instruction runs per side (between-process spread unseen)"
        return CountResult(
            verdict, ratio, low, high, None, base_value, head_value, base_spread, head_spread, "exact", reason
        )
    varies = f"counts vary between runs ({spreads} > {EXACT_SPREAD_SHARE * threshold:.3%}): run-level test"
    if base_values.size < 2 or head_values.size < 2:
        ratio = head_value / base_value
        return CountResult(
            Verdict.INCONCLUSIVE,
            ratio,
            math.nan,
            math.nan,
            None,
            base_value,
            head_value,
            base_spread,
            head_spread,
            "run-level",
            f"{varies} needs ≥2 instruction runs per side",
        )
    test = welch_log_ratio(np.log(base_values), np.log(head_values), confidence=confidence)
    ratio = float(math.exp(test.estimate[0]))
    low, high = float(math.exp(test.ci_low[0])), float(math.exp(test.ci_high[0]))
    p_value = float(test.p_value[0])
    if p_value < alpha and ratio >= upper and low > 1.0:
        verdict = Verdict.REGRESSION
    elif p_value < alpha and ratio <= lower and high < 1.0:
        verdict = Verdict.IMPROVEMENT
    elif lower <= low and high <= upper:
        verdict = Verdict.UNCHANGED
    else:
        verdict = Verdict.INCONCLUSIVE
    reason = f"{varies}, p={p_value:.3g}, {confidence:.0%} CI {low:.4g}–{high:.4g}"
    return CountResult(
        verdict, ratio, low, high, p_value, base_value, head_value, base_spread, head_spread, "run-level", reason
    )


def fingerprint_mismatches(base: Mapping[str, Any], head: Mapping[str, Any], *, packages: bool = True) -> list[str]:
    """Why two count fingerprints are not comparable (empty list: they are).

    Each reason names the field (``python_version '3.11.7' vs '3.12.1'``).
    ``packages``: also the suite-wide rule for the imported packages (for
    files without per-benchmark executed packages): a package both sides
    imported at different versions.  A package only one side imports is part
    of the code change under test.
    """
    if not base or not head:
        return [f"no instruction counts on {'base' if not base else 'head'}"]
    reasons = []
    for key in FINGERPRINT_KEYS:
        default = FINGERPRINT_DEFAULTS.get(key)
        if (key in base or default is not None) and (key in head or default is not None):
            base_value, head_value = base.get(key, default), head.get(key, default)
            if base_value != head_value:
                reasons.append(f"{key} {base_value!r} vs {head_value!r}")
    # Records from before the key existed all counted through the valgrind module.
    base_way, head_way = (side.get("client_requests", "valgrind module") for side in (base, head))
    if base_way != head_way:
        reasons.append(f"client requests through the {base_way} vs the {head_way}")
    if packages:
        reasons += [
            f"{name} {old} vs {new}"
            for name, (old, new) in package_differences(base.get("packages") or {}, head.get("packages") or {}).items()
        ]
    return reasons


def package_differences(base: Mapping[str, str], head: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """Packages on both sides at different versions: name -> (base version, head version)."""
    return {name: (base[name], head[name]) for name in sorted(set(base) & set(head)) if base[name] != head[name]}
