"""The suite verdict, its one-line headline, and the warnings built from exclusion records.

Suite verdict, by precedence:

1. ``regression`` - a gated metric regressed, or (``gate_failures``, on by
   default) a benchmark failed on every head run where base ran;
2. ``inconclusive`` - a gated metric is inconclusive (not judged, or judged
   with an interval too wide), a compared benchmark failed on a side, or
   nothing gated exists.  A latency row that is only "not comparable" does not
   count when the same benchmark has a gated, decided instruction count: the
   count decides across machines (companion metric, see docs/statistics.md);
3. ``improvement`` - a gated metric improved;
4. ``unchanged``.

The headline says, in one line, first what was found (benchmarks that
regressed or improved, with their changes, the unchanged ones, and which
metrics were not judged and why), then why the verdict is what it is and,
when it is not decisive, what to do.  A real -49% found beside tails that a
busy machine left unjudged reads "2 improvements (−49%, −35%) · 14 unchanged
· p95 not judged: machine busy", not "INCONCLUSIVE".
Then what decided, per metric family ("latency not comparable (another
machine) · instructions: 13 unchanged · memory: 25 unchanged"), so that a
reader sees at once whether the answer came from counts; and the executed
packages whose versions differ between the sides.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchwatch.compare.counts_shift import (
    latency_not_comparable,
    latency_shift_without_counts,
    shift_detail,
    suite_shift,
)
from benchwatch.compare.memory import MACHINE_DEPENDENT_MEMORY, MACHINE_INDEPENDENT_MEMORY
from benchwatch.compare.records import (
    EXCLUSION_REASONS,
    BenchmarkComparison,
    Comparability,
    Exclusion,
    MetricComparison,
    StrategyResult,
)
from benchwatch.compare.rules import CompareRules
from benchwatch.compare.settings import CompareSettings
from benchwatch.compare.verdict import NOT_COMPARABLE, ReasonCode, Verdict
from benchwatch.model import INSTRUCTION_METRICS, LATENCY_METRICS, MEMORY_METRICS
from benchwatch.stats.shift import SuiteShift

#: Metrics that do not move with machine speed: where gated and decided they
#: decide a benchmark whose latency is not comparable.
SPEED_INDEPENDENT_METRICS = ("instructions", "estimated_cycles")

#: How to get more process runs, by the tool that wrote the files.
MORE_RUNS_HINTS = {
    "benchwatch run": "benchwatch run --runs 5",
    "benchwatch compare-refs": "benchwatch compare-refs (it adds runs until a verdict)",
    "pytest-benchmark": "run the suite 5 times with --benchmark-json=base-N.json and pass every file "
    "(--base base-1.json --base base-2.json …, the same for head)",
    "pyperf": "let pyperf use its default 20 worker processes (--processes 20; each worker is one run)",
    "go test -bench": "go test -bench . -count 10",
    "google-benchmark": "--benchmark_repetitions=10",
    "hyperfine": "export 5 files per side and pass every file (--base a-1.json --base a-2.json …)",
    "asv": "asv run --record-samples with more processes (--interleave-rounds, or repeat=(5, …))",
}


def superseded(benchmark: BenchmarkComparison, metric: MetricComparison) -> bool:
    """A not-comparable row of a benchmark that a machine-independent metric of its kind decided.

    Latency: a speed-independent count; peak_rss: memray's peak_memory or allocations.
    """
    if metric.reason_code not in NOT_COMPARABLE:
        return False
    stand_ins = MACHINE_INDEPENDENT_MEMORY if metric.metric in MACHINE_DEPENDENT_MEMORY else SPEED_INDEPENDENT_METRICS
    return any(
        other.gated and other.judged and other.verdict != Verdict.INCONCLUSIVE
        for other in benchmark.metrics
        if other.metric in stand_ins
    )


def deciding_rows(benchmarks: Sequence[BenchmarkComparison]) -> list[MetricComparison]:
    """The gated rows that take part in the suite verdict."""
    return [m for b in benchmarks for m in b.metrics if m.gated and not superseded(b, m)]


def suite_verdict(benchmarks: Sequence[BenchmarkComparison], settings: CompareSettings) -> Verdict:
    """The suite verdict (see the module doc)."""
    verdicts = [m.verdict for m in deciding_rows(benchmarks)]
    if Verdict.REGRESSION in verdicts or (settings.gate_failures and any(b.broken_by_head for b in benchmarks)):
        return Verdict.REGRESSION
    if Verdict.INCONCLUSIVE in verdicts or any(b.status == "failed" for b in benchmarks) or not verdicts:
        return Verdict.INCONCLUSIVE
    if Verdict.IMPROVEMENT in verdicts:
        return Verdict.IMPROVEMENT
    return Verdict.UNCHANGED


@dataclass(frozen=True)
class HeadlineFacts:
    """What the headline may need beyond the rows."""

    verdict: Verdict
    comparability_detail: str
    busy_runs: int
    all_runs: int
    shift: SuiteShift | None
    sources: tuple[str, ...]
    #: Why latency was not compared although the machine class and canary speeds matched
    #: (:mod:`benchwatch.compare.counts_shift`); instruction counts decided instead.
    latency_note: str | None = None
    #: What decided the comparability of instruction counts (the instruction
    #: strategy's ``instruction_counts`` diagnostics).
    counts: Mapping[str, Any] = field(default_factory=dict)
    #: The gated metrics: a row of one that could not be compared is shown although it does not gate.
    gate: tuple[str, ...] = ()


#: The metric families the headline reports on, in its order.
FAMILIES = (("latency", LATENCY_METRICS), ("instructions", INSTRUCTION_METRICS), ("memory", MEMORY_METRICS))
_VERDICT_WORDS = (
    (Verdict.REGRESSION, "regressed"),
    (Verdict.IMPROVEMENT, "improved"),
    (Verdict.UNCHANGED, Verdict.UNCHANGED),
    (Verdict.INCONCLUSIVE, Verdict.INCONCLUSIVE),
)


def _not_comparable_why(family: str, rows: Sequence[MetricComparison], facts: HeadlineFacts) -> str:
    """A few words: why a family's rows were not comparable."""
    if family == "instructions":
        counts = facts.counts
        if counts.get("fingerprint_mismatches"):
            return "; ".join(counts["fingerprint_mismatches"][:2])
        if counts.get("suite_wide_rule"):
            return "an older file's suite-wide package rule"
        return "strict_packages" if any("strict_packages" in m.reason for m in rows) else "count fingerprints differ"
    if all(m.reason_code == ReasonCode.NOT_COMPARABLE_SPEED for m in rows):
        return "another machine speed"
    return "another machine"


def decided_by(benchmarks: Sequence[BenchmarkComparison], facts: HeadlineFacts) -> str:
    """Per metric family, its gated rows' verdicts (``instructions: 13 unchanged``), or why it was not compared."""
    deciding = {id(m) for m in deciding_rows(benchmarks)}
    parts = []
    for family, metrics in FAMILIES:
        mine = [m for b in benchmarks for m in b.metrics if m.metric in metrics]
        # Deciding rows, and gated metrics' rows that could not be compared (counts then do not gate).
        shown = [m for m in mine if id(m) in deciding or (m.metric in facts.gate and m.reason_code in NOT_COMPARABLE)]
        blocked = [m for m in shown if m.reason_code in NOT_COMPARABLE]
        stood_in = [m for m in mine if m.gated and id(m) not in deciding]  # another metric decided them
        if (shown or stood_in) and len(blocked) == len(shown):
            parts.append(f"{family} not comparable ({_not_comparable_why(family, blocked or stood_in, facts)})")
            continue
        counts = Counter(m.verdict for m in shown if m.reason_code not in NOT_COMPARABLE)
        words = [f"{counts[verdict]} {word}" for verdict, word in _VERDICT_WORDS if counts[verdict]]
        if blocked:
            words.append(f"{len(blocked)} not comparable ({_not_comparable_why(family, blocked, facts)})")
        if words:
            parts.append(f"{family}: {', '.join(words)}")
    return " · ".join(parts)


def package_note(facts: HeadlineFacts) -> str | None:
    """The executed packages compared across versions, summed over the suite, or None."""
    across = facts.counts.get("packages_across") or {}
    if not across:
        return None
    versions = ", ".join(f"{name} {old} → {new}" for name, (old, new) in across.items())
    count = len(facts.counts.get("benchmarks_across") or ())
    return (
        f"instructions of {count} benchmark(s) compared across {versions}: part of their change may be the dependency's"
    )


def _names(rows: Sequence[MetricComparison], limit: int = 3) -> str:
    names = list(dict.fromkeys(m.benchmark for m in rows))
    shown = ", ".join(names[:limit])
    return shown + (f" (+{len(names) - limit} more)" if len(names) > limit else "")


#: How the headline's findings name a reason a row was not judged.
_NOT_JUDGED_SHORT: dict[str, str] = {
    ReasonCode.MACHINE_BUSY: "machine busy",
    ReasonCode.ONE_SIDE_BUSY: "load beside one side",
    ReasonCode.NOT_COMPARABLE_MACHINE: "not comparable",
    ReasonCode.NOT_COMPARABLE_SPEED: "not comparable",
    ReasonCode.TOO_FEW_RUNS: "too few runs",
    ReasonCode.TOO_FEW_SAMPLES: "too few samples",
    ReasonCode.NOT_MEASURED: "not measured",
}


def _changes(rows: Sequence[MetricComparison], limit: int = 3) -> str:
    shown = ", ".join(f"{m.change:+.0%}".replace("-", "−") for m in rows[:limit])
    return shown + (", …" if len(rows) > limit else "")


def findings(benchmarks: Sequence[BenchmarkComparison]) -> str:
    """What was found, benchmark by benchmark: "2 improvements (−49%, −35%) · 14 unchanged · p95 not judged: …".

    A benchmark counts once, by its most telling gated row: a regression,
    else an improvement (each with its largest change), else unchanged when
    no gated row is left undecided by a wide interval; rows not judged are
    named by metric and reason, not counted as findings.
    """
    deciding: dict[str, list[MetricComparison]] = defaultdict(list)
    for benchmark in benchmarks:
        for m in benchmark.metrics:
            if m.gated and not superseded(benchmark, m):
                deciding[benchmark.name].append(m)
    worse: list[MetricComparison] = []
    better: list[MetricComparison] = []
    unchanged = undecided = 0
    not_judged: dict[str, list[str]] = defaultdict(list)
    for rows in deciding.values():
        regressions = [m for m in rows if m.verdict == Verdict.REGRESSION]
        improvements = [m for m in rows if m.verdict == Verdict.IMPROVEMENT]
        if regressions:
            worse.append(max(regressions, key=lambda m: m.ratio))
        elif improvements:
            better.append(min(improvements, key=lambda m: m.ratio))
        elif any(m.verdict == Verdict.INCONCLUSIVE and m.judged for m in rows):
            undecided += 1
        elif any(m.verdict == Verdict.UNCHANGED for m in rows):
            unchanged += 1
        for m in rows:
            if not m.judged:
                why = _NOT_JUDGED_SHORT.get(str(m.reason_code), str(m.reason_code))
                if m.metric not in not_judged[why]:
                    not_judged[why].append(m.metric)
    worse.sort(key=lambda m: -m.ratio)
    better.sort(key=lambda m: m.ratio)
    parts = []
    if worse:
        parts.append(f"{len(worse)} regression{'s' if len(worse) != 1 else ''} ({_changes(worse)})")
    if better:
        parts.append(f"{len(better)} improvement{'s' if len(better) != 1 else ''} ({_changes(better)})")
    if unchanged:
        parts.append(f"{unchanged} unchanged")
    if undecided:
        parts.append(f"{undecided} undecided (interval too wide)")
    parts.extend(f"{', '.join(metrics)} not judged: {why}" for why, metrics in not_judged.items())
    return " · ".join(parts)


def headline(benchmarks: Sequence[BenchmarkComparison], facts: HeadlineFacts, rules: CompareRules) -> str:
    """One line: what was found, then why the suite verdict is what it is and what to do when it is not decisive."""
    found = findings(benchmarks)
    reason = _reason(benchmarks, facts, rules)
    if not found:
        return reason
    return f"{found} — {reason}" if reason else found


def _reason(benchmarks: Sequence[BenchmarkComparison], facts: HeadlineFacts, rules: CompareRules) -> str:
    text = _verdict_headline(benchmarks, facts, rules)
    families = decided_by(benchmarks, facts) if facts.shift is None else ""
    if families and text.startswith("no gated regression"):
        text = f"no gated regression: {families}"
    elif families:
        text += f" · {families}" if facts.verdict == Verdict.REGRESSION else f"; by metric: {families}"
    if facts.latency_note and facts.latency_note not in text:
        text += (
            f"; latency not compared: {facts.latency_note}, so instruction counts decide "
            "(benchwatch compare-refs measures both sides on one machine)"
        )
    note = package_note(facts)
    return f"{text}; {note}" if note else text


def _verdict_headline(benchmarks: Sequence[BenchmarkComparison], facts: HeadlineFacts, rules: CompareRules) -> str:
    rows = deciding_rows(benchmarks)
    by_code: dict[str, list[MetricComparison]] = defaultdict(list)
    for row in rows:
        if row.verdict == Verdict.INCONCLUSIVE:
            by_code[row.reason_code].append(row)
    broken = [b.name for b in benchmarks if b.broken_by_head]
    regressions = sorted((m for m in rows if m.verdict == Verdict.REGRESSION), key=lambda m: -m.ratio)
    if facts.shift is not None:
        shift = facts.shift
        return (
            f"{shift.moved} of {shift.benchmarks} benchmarks moved the same way (median ×{shift.median_ratio:.2f}): "
            "this looks like a machine change, not code; compare both sides on one machine (benchwatch compare-refs) "
            "or record with benchwatch run, whose canary measures machine speed"
        )
    if regressions or broken:
        parts = []
        if regressions:
            worst = regressions[0]
            parts.append(
                f"{len(regressions)} gated regression(s), worst {worst.benchmark} {worst.metric} {worst.change:+.1%}"
            )
        if broken:
            parts.append(f"{len(broken)} benchmark(s) fail on every head run where base ran: {', '.join(broken[:3])}")
        return "; ".join(parts)
    if facts.verdict != Verdict.INCONCLUSIVE:
        return "no gated regression"
    return _inconclusive_headline(benchmarks, by_code, facts, rules)


def _not_comparable_headline(
    benchmarks: Sequence[BenchmarkComparison], by_code: dict[str, list[MetricComparison]], facts: HeadlineFacts
) -> str | None:
    """The headline when gated rows could not be compared (machine, speed, count fingerprints), else None."""
    not_comparable = [m for code in NOT_COMPARABLE for m in by_code.get(code, [])]
    counts = [
        m
        for b in benchmarks
        for m in b.metrics
        if m.metric in INSTRUCTION_METRICS and m.metric in facts.gate and m.reason_code in NOT_COMPARABLE
    ]
    why = _not_comparable_why("instructions", counts, facts)
    counts_text = (
        f"instructions not comparable: count fingerprints differ ({why}); "
        "record the baseline with the same architecture, Python build, valgrind and benchwatch, or measure both "
        "sides here with benchwatch compare-refs"
    )
    if not_comparable:
        kinds = {
            "peak_rss" if m.metric in MACHINE_DEPENDENT_MEMORY else "latency"
            for m in not_comparable
            if m.metric not in INSTRUCTION_METRICS
        }
        return (
            f"{' and '.join(sorted(kinds))} not comparable: {facts.comparability_detail}; "
            "refresh the baseline on this machine "
            "(benchwatch run -o <baseline>), measure both sides here with benchwatch compare-refs (its sides "
            "alternate, so they always share the machine's speed), or gate on "
            "instruction counts, which do not move with the machine"
            + (" (for memory: memray's peak_memory and allocations)" if "peak_rss" in kinds else "")
            + (f"; {counts_text}" if counts else "")
        )
    if counts:
        return counts_text
    return None


def _inconclusive_headline(
    benchmarks: Sequence[BenchmarkComparison],
    by_code: dict[str, list[MetricComparison]],
    facts: HeadlineFacts,
    rules: CompareRules,
) -> str:
    not_comparable = _not_comparable_headline(benchmarks, by_code, facts)
    if not_comparable is not None:
        return not_comparable
    if by_code.get(ReasonCode.ONE_SIDE_BUSY):
        rows = by_code[ReasonCode.ONE_SIDE_BUSY]
        return (
            f"one side ran beside load the other did not have ({_names(rows)}): its runs all waited longer for a "
            "CPU; rerun on a quiet machine, or interleave the sides with benchwatch compare-refs"
        )
    machine_busy = bool(facts.all_runs) and facts.busy_runs >= rules.busy_share * facts.all_runs
    if not machine_busy and by_code.get(ReasonCode.MACHINE_BUSY):
        rows = by_code[ReasonCode.MACHINE_BUSY]
        return (
            f"tails ({', '.join(dict.fromkeys(m.metric for m in rows))}) not judged for {_names(rows)}: a run waited "
            f"> {rules.tail_contention_wait:.0%} for a CPU, and the tail then describes the scheduler's time slices; "
            "rerun on a quieter machine, or gate on p50"
        )
    if machine_busy or by_code.get(ReasonCode.MACHINE_BUSY):
        return (
            f"machine too busy: {facts.busy_runs} of {facts.all_runs} runs waited > {rules.busy_run_wait:.0%} "
            "for a CPU; rerun on a quieter machine, or with more runs (compare-refs keeps sampling within --max-time)"
        )
    if by_code.get(ReasonCode.TOO_FEW_RUNS):
        rows = by_code[ReasonCode.TOO_FEW_RUNS]
        hints = [MORE_RUNS_HINTS[s] for s in dict.fromkeys(facts.sources) if s in MORE_RUNS_HINTS]
        how = "; ".join(hints) or "record more process runs per side"
        return f"cannot judge {_names(rows)}: needs ≥{rules.min_runs} process runs per side; get them with: {how}"
    if by_code.get(ReasonCode.TOO_FEW_SAMPLES):
        rows = by_code[ReasonCode.TOO_FEW_SAMPLES]
        metrics = ", ".join(dict.fromkeys(m.metric for m in rows))
        return (
            f"{metrics} cannot be judged on {_names(rows)}: too few samples per run ({rows[0].reason.split('; ')[0]}); "
            "raise the rounds per run (pytest --benchmark-min-rounds=100) or remove it from "
            "[tool.benchwatch.compare] gate"
        )
    memory = _memory_headline(by_code)
    if memory is not None:
        return memory
    failed = [b.name for b in benchmarks if b.status == "failed"]
    if failed and not any(by_code.values()):
        return f"{len(failed)} benchmark(s) failed on a side: {', '.join(failed[:3])}"
    if not any(by_code.values()):
        return "nothing gated could be compared (no benchmark on both sides, or no gated metric measured)"
    rows = [m for found in by_code.values() for m in found]
    return (
        f"{len(rows)} gated metric(s) inconclusive ({_names(rows)}): intervals reach past the threshold; "
        "rerun with more process runs per side"
    )


def _memory_headline(by_code: dict[str, list[MetricComparison]]) -> str | None:
    """The headline when memory rows alone keep the suite inconclusive (rules version 5), else None."""
    others = [code for code, rows in by_code.items() if rows and code not in _MEMORY_CODES]
    if others:
        return None
    if by_code.get(ReasonCode.TOO_FEW_MEMORY_RUNS):
        rows = by_code[ReasonCode.TOO_FEW_MEMORY_RUNS]
        needs = rows[0].reason.split(":", 1)[0]
        return (
            f"memory of {_names(rows)} not decided: {needs}; benchwatch compare-refs adds memory runs until a "
            "verdict, benchwatch run needs --runs with a memray pass on each"
        )
    if by_code.get(ReasonCode.RSS_ONLY):
        rows = by_code[ReasonCode.RSS_ONLY]
        return (
            f"peak_rss moved on {_names(rows)} while memray's peak and allocations did not: a process's resident "
            "set lands on one of a few levels, so this is not a verdict (see the rows' reasons)"
        )
    return None


#: Reason codes of memory rows that :func:`_memory_headline` words.
_MEMORY_CODES = frozenset({ReasonCode.TOO_FEW_MEMORY_RUNS, ReasonCode.RSS_ONLY})


def exclusion_warnings(exclusions: Sequence[Exclusion], rules: CompareRules) -> list[str]:
    """One warning per side and reason, built from the strategies' exclusion records."""
    grouped: dict[tuple[str, str], list[Exclusion]] = defaultdict(list)
    for record in exclusions:
        grouped[record.side, record.code].append(record)
    warnings = []
    for (side, code), records in sorted(grouped.items()):
        why = EXCLUSION_REASONS.get(code, code).format(unstable=f"{rules.unstable_canary - 1:.0%}")
        runs = sum(r.runs for r in records)
        warnings.append(f"{side}: {runs} run(s) of {len(records)} benchmark(s) excluded: {why}")
    return warnings


@dataclass(frozen=True)
class Conclusion:
    """The suite's answer: its benchmarks after the suite-wide rules, verdict, headline and warnings.

    ``shift`` is the suite-wide shift measured (for the diagnostics); ``machine_shift`` whether it
    made latency not comparable (files without machine evidence that all moved by one factor).
    """

    benchmarks: tuple[BenchmarkComparison, ...]
    verdict: Verdict
    headline: str
    warnings: tuple[str, ...]
    exclusions: tuple[Exclusion, ...]
    shift: SuiteShift | None
    machine_shift: bool


def conclude(
    benchmarks: tuple[BenchmarkComparison, ...],
    results: Sequence[StrategyResult],
    comparability: Comparability,
    settings: CompareSettings,
    rules: CompareRules,
    sources: tuple[str, ...],
) -> Conclusion:
    """The suite-wide rules (a latency shift the counts do not share; a whole suite moved by one factor),
    then the verdict and the headline."""
    latency = comparability.latency
    # Interleaved sides share the machine's states by construction: there a suite-wide shift is the code's.
    alternated = comparability.interleaved
    counts_shift = None if alternated else latency_shift_without_counts(benchmarks, settings, rules)
    if counts_shift is not None:
        benchmarks = latency_not_comparable(benchmarks, counts_shift.detail)
    shift = suite_shift(benchmarks, settings, rules) if latency.speed is None and not alternated else None
    detail = counts_shift.detail if counts_shift is not None else latency.detail
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
    facts = HeadlineFacts(
        verdict=verdict,
        comparability_detail=detail,
        busy_runs=comparability.busy_runs,
        all_runs=comparability.all_runs,
        shift=flagged,
        latency_note=counts_shift.detail if counts_shift is not None else None,
        sources=sources,
        gate=settings.gating_metrics,
        counts=next((r.diagnostics["instruction_counts"] for r in results if "instruction_counts" in r.diagnostics), {})
        or {},
    )
    return Conclusion(
        benchmarks=benchmarks,
        verdict=verdict,
        headline=headline(benchmarks, facts, rules),
        warnings=tuple(exclusion_warnings(exclusions, rules)),
        exclusions=exclusions,
        shift=shift,
        machine_shift=machine_shift,
    )
