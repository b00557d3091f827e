"""Compare two result sets (base, head) into verdicts per benchmark and metric.

What a verdict means (threshold t, default 10%; alpha default 0.05; the
rules in :class:`benchwatch.compare.rules.CompareRules`, the full description
in docs/statistics.md):

* ``regression`` - q < alpha (Benjamini-Hochberg over every latency test of
  the comparison) and the estimated ratio head/base at least 1 + t;
* ``improvement`` - the mirror image;
* ``unchanged`` - the 95% interval lies within [1 / (1 + t), 1 + t];
* ``inconclusive`` - none of the above, with a ``reason_code`` that says
  whether the data was judged (``wide-interval``) or could not be
  (``not-comparable-machine``, ``not-comparable-speed``, ``too-few-runs``,
  ``too-few-samples``, ``one-side-busy``, ``not-measured``); rows that were
  not judged carry no point estimate and no interval.

The pipeline: pair the benchmarks; decide whether latency is comparable at
all; run each metric-family strategy (latency: Welch over runs, or the
speed-adjusted model where the sides shared a machine speed; memory: every
run with memory data; instruction counts where the count fingerprints
match); then the suite verdict, its headline and the warnings.
Only gated metrics decide the suite verdict and the exit code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from benchwatch.compare.comparability import (
    LatencyComparability,
    environment_summary,
    environment_warnings,
    interleaved,
    latency_comparability,
)
from benchwatch.compare.counts_shift import (
    latency_not_comparable,
    latency_shift_without_counts,
    shift_detail,
    suite_shift,
)
from benchwatch.compare.instructions import compare_instruction_metrics
from benchwatch.compare.latency import compare_latency
from benchwatch.compare.memory import compare_memory_metrics, rss_needs_evidence
from benchwatch.compare.pairing import BenchmarkPair, cpu_wait_share, pair_benchmarks
from benchwatch.compare.records import (
    BenchmarkComparison,
    Comparison,
    StrategyResult,
)
from benchwatch.compare.rules import DEFAULT_RULES, RULES_VERSION, CompareRules
from benchwatch.compare.settings import CompareSettings
from benchwatch.compare.suite import HeadlineFacts, busy_runs, exclusion_warnings, headline, suite_verdict
from benchwatch.compare.verdict import ReasonCode
from benchwatch.model import ResultSet
from benchwatch.stats.diagnostics import summarise_sides
from benchwatch.stats.shift import SuiteShift
from benchwatch.stats.speed import speed_warnings

__all__ = ["compare"]

#: A metric-family strategy: compared pairs in, rows and exclusion records out.
Strategy = Callable[[Sequence[BenchmarkPair]], StrategyResult]


def _strategies(
    base: ResultSet,
    head: ResultSet,
    settings: CompareSettings,
    rules: CompareRules,
    comparability: LatencyComparability,
    machine_busy: bool,
) -> list[Strategy]:
    """The metric-family strategies, in report order (a deterministic count is one more entry)."""
    return [
        lambda pairs: compare_latency(
            pairs, settings=settings, rules=rules, comparability=comparability, machine_busy=machine_busy
        ),
        lambda pairs: compare_memory_metrics(
            pairs,
            settings=settings,
            rules=rules,
            not_comparable=comparability.detail if comparability.code == ReasonCode.NOT_COMPARABLE_MACHINE else None,
        ),
        lambda pairs: compare_instruction_metrics(pairs, base=base, head=head, settings=settings),
    ]


def compare(
    base: ResultSet, head: ResultSet, settings: CompareSettings | None = None, *, rules: CompareRules = DEFAULT_RULES
) -> Comparison:
    """Compare ``head`` against ``base`` (see the module docstring and docs/statistics.md)."""
    settings = settings or CompareSettings()
    pairing = pair_benchmarks(base, head)
    comparability = latency_comparability(base, head, rules)
    waits = np.array([cpu_wait_share(run) for p in pairing.pairs for b in (p.base, p.head) for run in b.ok_runs])
    busy, runs = busy_runs(waits, rules)
    machine_busy = runs > 0 and busy >= rules.busy_share * runs
    strategies = _strategies(base, head, settings, rules, comparability, machine_busy)
    results = [strategy(pairing.pairs) for strategy in strategies]
    benchmarks = rss_needs_evidence(_assemble(pairing.order, pairing.others, results), settings, rules)
    # Interleaved sides share the machine's states by construction: there a suite-wide shift is the code's.
    alternated = interleaved(base, head, rules.min_runs)
    counts_shift = None if alternated else latency_shift_without_counts(benchmarks, settings, rules)
    if counts_shift is not None:
        benchmarks = latency_not_comparable(benchmarks, counts_shift.detail)
    shift = suite_shift(benchmarks, settings, rules) if comparability.speed is None and not alternated else None
    detail = counts_shift.detail if counts_shift is not None else comparability.detail
    flagged, machine_shift = shift, False
    counted = any(m.metric == "instructions" and m.judged for b in benchmarks for m in b.metrics)
    if shift is not None and rules.shift_not_comparable and not settings.assume_same_machine and not counted:
        # No canary, not interleaved, no instruction counts to tell: nothing separates the machine's share
        # of a suite-wide factor from the code's (with counts, counts_shift above decides).
        detail = shift_detail(shift)
        benchmarks = latency_not_comparable(benchmarks, detail)
        flagged, machine_shift = None, True
    elif settings.assume_same_machine:
        flagged = None
    exclusions = tuple(record for result in results for record in result.exclusions)
    verdict = suite_verdict(benchmarks, settings)
    diagnostics = _diagnostics(results, comparability, benchmarks, (busy, runs), shift)
    if machine_shift:
        diagnostics["latency_test"] = "not-comparable"
    facts = HeadlineFacts(
        verdict=verdict,
        comparability_detail=detail,
        busy_runs=busy,
        all_runs=runs,
        shift=flagged,
        latency_note=counts_shift.detail if counts_shift is not None else None,
        sources=(base.source, head.source),
        gate=settings.gating_metrics,
        counts=next((r.diagnostics["instruction_counts"] for r in results if "instruction_counts" in r.diagnostics), {})
        or {},
    )
    warnings = [
        *environment_warnings(base.environment, head.environment),
        *_argument_warnings(base, head),
        *speed_warnings(comparability.speed, rules.speed_tolerance),
        *pairing.warnings,
        *exclusion_warnings(exclusions, rules),
        *(w for result in results for w in result.warnings),
    ]
    return Comparison(
        benchmarks=benchmarks,
        verdict=verdict,
        warnings=tuple(warnings),
        settings=settings,
        base_environment=environment_summary(base.environment),
        head_environment=environment_summary(head.environment),
        diagnostics=diagnostics,
        headline=headline(benchmarks, facts, rules),
        rules_version=RULES_VERSION,
        exclusions=exclusions,
    )


def _assemble(
    order: Sequence[str], others: dict[str, BenchmarkComparison], results: Sequence[StrategyResult]
) -> tuple[BenchmarkComparison, ...]:
    benchmarks = []
    for name in order:
        if name in others:
            benchmarks.append(others[name])
            continue
        rows = tuple(row for result in results for row in result.rows.get(name, ()))
        sides = next((r.side_diagnostics[name] for r in results if name in r.side_diagnostics), (None, None))
        notes: tuple[str, ...] = ()
        if not any(m.metric in ("p95", "p99") for m in rows) and any(m.metric == "p50" for m in rows):
            notes = ("p95/p99 unknown: summary-only results without raw samples",)
        benchmarks.append(
            BenchmarkComparison(
                name=name,
                metrics=rows,
                status="compared",
                base_diagnostics=sides[0],
                head_diagnostics=sides[1],
                notes=notes,
            )
        )
    return tuple(benchmarks)


def _argument_warnings(base: ResultSet, head: ResultSet) -> list[str]:
    base_args, head_args = base.settings.get("pytest_args"), head.settings.get("pytest_args")
    if base_args is not None and head_args is not None and list(base_args) != list(head_args):
        # e.g. a different --workload-scale: the two sides measured different work.
        return [f"base and head were run with different suite arguments: {list(base_args)} vs {list(head_args)}"]
    return []


def _diagnostics(
    results: Sequence[StrategyResult],
    comparability: LatencyComparability,
    benchmarks: Sequence[BenchmarkComparison],
    busy: tuple[int, int],
    shift: SuiteShift | None,
) -> dict[str, Any]:
    compared = [b for b in benchmarks if b.base_diagnostics is not None and b.head_diagnostics is not None]
    summary: dict[str, Any] = {
        "base": summarise_sides([b.base_diagnostics for b in compared if b.base_diagnostics is not None]),
        "head": summarise_sides([b.head_diagnostics for b in compared if b.head_diagnostics is not None]),
        "latency_test": None,
        "variance_priors": {},
    }
    for result in results:
        summary.update(result.diagnostics)
    speed = comparability.speed
    summary["machine_speed"] = (
        None
        if speed is None
        else {
            "base_median_canary_seconds": speed.base_seconds,
            "head_median_canary_seconds": speed.head_seconds,
            "base_range_seconds": list(speed.base_range),
            "head_range_seconds": list(speed.head_range),
            "shared": speed.shared,
        }
    )
    summary["comparability"] = comparability.to_dict()
    summary["busy_runs"] = {"waited_over_threshold": busy[0], "runs_with_cpu_wait": busy[1]}
    summary["suite_shift"] = None if shift is None else shift.__dict__
    return summary
