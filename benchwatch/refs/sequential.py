"""Adaptive stopping whose false-alarm rate holds: a fixed look schedule with Bonferroni alpha spending.

Re-running a comparison "until it is significant" inflates the false-alarm
rate: every extra look is another chance for noise to cross the line.
compare-refs therefore fixes, before any data is seen, the numbers of runs
per side at which it may look (default 3, 5, 7, 10) and splits the error
budget evenly across them: with K planned looks each look tests at
``alpha / K`` (the BH level) and reports ``1 - (1 - confidence) / K``
intervals.  By the union bound, the probability that any look produces a
false regression (or a false "unchanged") for a benchmark is at most the
nominal level, whenever the run stops: at a verdict, at the last look, or
at the time budget.  This is conservative (Pocock or O'Brien–Fleming
boundaries would spend less), and it is simple to audit.

A benchmark leaves the schedule once every gated metric has a verdict other
than inconclusive; only the undecided ones get more runs.  Memory runs (the
memray pass) follow the same rule per benchmark: after the first
``memory_runs`` they are added only while a gated memory row is undecided
(:func:`memory_undecided`), e.g. "too few memory runs" for its test.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from benchwatch.compare import BenchmarkComparison, CompareSettings, compare
from benchwatch.compare.verdict import ReasonCode, Verdict
from benchwatch.errors import UsageError
from benchwatch.model import MEMORY_METRICS, ResultSet
from benchwatch.runner.schedule import StopRule

DEFAULT_LOOKS = (3, 5, 7, 10)
_RUNS_CANNOT_HELP = frozenset(
    {
        ReasonCode.TOO_FEW_SAMPLES,
        ReasonCode.NOT_COMPARABLE_MACHINE,
        ReasonCode.NOT_COMPARABLE_SPEED,
        ReasonCode.NOT_MEASURED,
        ReasonCode.MACHINE_BUSY,
        ReasonCode.RSS_ONLY,  # a margin, not a level: more runs do not move it
    }
)


def parse_looks(text: str) -> tuple[int, ...]:
    """``--looks`` as run counts: comma-separated integers, increasing, from 2."""
    try:
        return validate_looks([int(part) for part in text.split(",")])
    except ValueError:
        raise UsageError(f"--looks must be comma-separated run counts, got {text!r}") from None


def validate_looks(looks: Sequence[int]) -> tuple[int, ...]:
    looks = tuple(int(value) for value in looks)
    if not looks or looks[0] < 2 or any(later <= earlier for earlier, later in itertools.pairwise(looks)):
        raise UsageError(f"looks must be increasing run counts starting at 2 or more, got {list(looks)}")
    return looks


def settings_for_looks(settings: CompareSettings, planned_looks: int) -> CompareSettings:
    """The per-look settings: alpha and the interval's error split over ``planned_looks``."""
    if planned_looks <= 1:
        return settings
    return settings.replace(
        alpha=settings.alpha / planned_looks,
        confidence=1.0 - (1.0 - settings.confidence) / planned_looks,
    )


def is_decided(benchmark: BenchmarkComparison, gating_metrics: Sequence[str]) -> bool:
    """True when more runs cannot change what this benchmark tells: a verdict on every gated metric."""
    if benchmark.status != "compared":
        return True
    # gated rows (a per-run mean standing in for thin runs' quantiles included)
    gated = [metric for metric in benchmark.metrics if metric.gated]
    if not gated:
        gated = [metric for metric in benchmark.metrics if metric.metric in gating_metrics]
    # more runs cannot add samples to a run, nor make two machines one
    return all(metric.verdict != Verdict.INCONCLUSIVE or metric.reason_code in _RUNS_CANNOT_HELP for metric in gated)


def memory_undecided(benchmark: BenchmarkComparison) -> bool:
    """True when more memory runs can decide a gated memory row of this benchmark."""
    return benchmark.status == "compared" and any(
        metric.gated
        and metric.metric in MEMORY_METRICS
        and metric.verdict == Verdict.INCONCLUSIVE
        and metric.reason_code in (ReasonCode.TOO_FEW_MEMORY_RUNS, ReasonCode.WIDE_INTERVAL)
        for metric in benchmark.metrics
    )


def settings_for_results(settings: CompareSettings, base: ResultSet, head: ResultSet) -> CompareSettings:
    """Re-apply the alpha split of an adaptive compare-refs when both results carry one.

    Results saved by compare-refs record ``planned_looks``; comparing them
    again (``benchwatch compare``) must use the same per-look level, or the
    re-rendered verdicts would claim more than the schedule allows.
    """
    planned = [result.settings.get("planned_looks") for result in (base, head)]
    # A side that stopped at looks (compare-refs, or ``run --against``) sets the level; the larger split
    # holds for both.
    looks = max((value for value in planned if isinstance(value, int)), default=1)
    return settings_for_looks(settings, looks) if looks > 1 else settings


def stop_rule_against(
    *, baseline: ResultSet, settings: CompareSettings, looks: tuple[int, ...], max_seconds: float | None = None
) -> StopRule:
    """``run --against``: at each look, the benchmarks whose gated metrics all have a verdict against ``baseline``."""
    per_look = settings_for_looks(settings, len(looks))

    def decided(partial: ResultSet) -> frozenset[str]:
        comparison = compare(baseline, partial, per_look)
        return frozenset(b.name for b in comparison.benchmarks if is_decided(b, settings.gating_metrics))

    return StopRule(looks=looks, decided=decided, max_seconds=max_seconds)


def stop_note(benchmarks: Sequence[BenchmarkComparison], gating_metrics: Sequence[str]) -> str:
    """Why the schedule stopped once no benchmark is left undecided, without calling inconclusive rows verdicts.

    "every benchmark has a verdict" only when every gated row has one;
    otherwise how many rows have one and what left the others open (reasons
    more runs cannot change, such as a busy machine's tails).
    """
    rows = [m for b in benchmarks if b.status == "compared" for m in b.metrics if m.gated]
    if not rows:
        rows = [m for b in benchmarks if b.status == "compared" for m in b.metrics if m.metric in gating_metrics]
    open_rows = [m for m in rows if m.verdict == Verdict.INCONCLUSIVE]
    if not open_rows:
        return "every benchmark has a verdict"
    reasons: dict[str, int] = {}
    for m in open_rows:
        reasons[m.reason_code] = reasons.get(m.reason_code, 0) + 1
    why = ", ".join(f"{count} {code}" for code, count in sorted(reasons.items(), key=lambda item: -item[1]))
    return (
        f"{len(rows) - len(open_rows)} of {len(rows)} gated rows have a verdict; "
        f"{len(open_rows)} stay inconclusive for reasons more runs cannot change ({why})"
    )
