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

from collections.abc import Sequence
from typing import Any

from benchwatch.compare.comparability import decide_comparability
from benchwatch.compare.instructions import compare_instruction_metrics
from benchwatch.compare.latency import compare_latency
from benchwatch.compare.memory import compare_memory_metrics
from benchwatch.compare.pairing import pair_benchmarks
from benchwatch.compare.records import (
    BenchmarkComparison,
    Comparability,
    Comparison,
    ComparisonDiagnostics,
    StrategyResult,
)
from benchwatch.compare.rules import DEFAULT_RULES, RULES_VERSION, CompareRules
from benchwatch.compare.settings import CompareSettings
from benchwatch.compare.suite import Conclusion, conclude
from benchwatch.compare.verdict import ReasonCode
from benchwatch.model import ResultSet
from benchwatch.stats.diagnostics import summarise_sides

__all__ = ["compare"]


def compare(
    base: ResultSet, head: ResultSet, settings: CompareSettings | None = None, *, rules: CompareRules = DEFAULT_RULES
) -> Comparison:
    """Compare ``head`` against ``base`` (see the module docstring and docs/statistics.md).

    Each stage is entered once, in order: pairing, comparability (decided once, into one record), the
    metric-family strategies (the instruction counts before memory, whose peak_rss rule weighs them),
    then the suite's conclusion.
    """
    settings = settings or CompareSettings()
    pairing = pair_benchmarks(base, head)
    sides = decide_comparability(base, head, pairing.arrays.waits, rules)
    latency = compare_latency(
        pairing.pairs,
        arrays=pairing.arrays,
        settings=settings,
        rules=rules,
        comparability=sides.latency,
        machine_busy=sides.machine_busy,
    )
    instructions = compare_instruction_metrics(pairing.pairs, base=base, head=head, settings=settings)
    machine = sides.latency.code == ReasonCode.NOT_COMPARABLE_MACHINE
    memory = compare_memory_metrics(
        pairing.pairs,
        settings=settings,
        rules=rules,
        not_comparable=sides.latency.detail if machine else None,
        instructions=instructions,
    )
    results = [latency, memory, instructions]  # report order
    conclusion = conclude(
        _assemble(pairing.order, pairing.others, results),
        results,
        sides,
        settings,
        rules,
        sources=(base.source, head.source),
    )
    diagnostics = _diagnostics(results, sides, conclusion)
    warnings = [
        *sides.warnings,
        *pairing.warnings,
        *conclusion.warnings,
        *(w for result in results for w in result.warnings),
    ]
    return Comparison(
        benchmarks=conclusion.benchmarks,
        verdict=conclusion.verdict,
        warnings=tuple(warnings),
        settings=settings,
        base_environment=dict(sides.base_environment),
        head_environment=dict(sides.head_environment),
        diagnostics=diagnostics,
        headline=conclusion.headline,
        rules_version=RULES_VERSION,
        exclusions=conclusion.exclusions,
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


def _diagnostics(
    results: Sequence[StrategyResult], sides: Comparability, conclusion: Conclusion
) -> ComparisonDiagnostics:
    benchmarks, shift, comparability = conclusion.benchmarks, conclusion.shift, sides.latency
    compared = [b for b in benchmarks if b.base_diagnostics is not None and b.head_diagnostics is not None]
    strategies: dict[str, Any] = {}
    for result in results:
        strategies.update(result.diagnostics)
    speed = comparability.speed
    return ComparisonDiagnostics(
        base=summarise_sides([b.base_diagnostics for b in compared if b.base_diagnostics is not None]),
        head=summarise_sides([b.head_diagnostics for b in compared if b.head_diagnostics is not None]),
        latency_test="not-comparable" if conclusion.machine_shift else strategies.get("latency_test"),
        variance_priors=strategies.get("variance_priors", {}),
        memory_test=strategies.get("memory_test"),
        instruction_counts=strategies.get("instruction_counts"),
        machine_speed=None
        if speed is None
        else {
            "base_median_canary_seconds": speed.base_seconds,
            "head_median_canary_seconds": speed.head_seconds,
            "base_range_seconds": list(speed.base_range),
            "head_range_seconds": list(speed.head_range),
            "shared": speed.shared,
        },
        comparability=comparability.to_dict(),
        busy_runs={"waited_over_threshold": sides.busy_runs, "runs_with_cpu_wait": sides.all_runs},
        suite_shift=None if shift is None else shift.__dict__,
    )
