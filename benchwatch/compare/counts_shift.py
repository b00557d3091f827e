"""Latency that moved suite-wide while the instruction counts stayed put: the machine, not the code.

A stored baseline compared with a run made minutes or days later on the
same machine class can meet a machine in another state: a neighbour VM on
the host, memory bandwidth, a frequency cap.  benchwatch's canary catches
changes of CPU speed, but not everything that slows a memory-bound or
multi-threaded benchmark.  Measured here: a main job at load 1–2 ran every
benchmark 10–20% slower than the baseline (12 gated "regressions" on
identical code) while the canary moved 9% and every instruction count stayed
within 0.5%.

When the instruction counts of the same benchmarks are at hand, the two
readings can be put side by side.  If the deciding latency statistic moved
the same way beyond the threshold on most benchmarks of the suite (the
uniform-shift rule of :mod:`benchwatch.stats.shift`) *and* the instruction
counts of most of those benchmarks were judged unchanged, the sides' latency
is not comparable: those rows become inconclusive with the
``not-comparable-speed`` reason code, no estimate and no interval, and the
instruction counts decide, as they do against a baseline from another
machine.

What this does not claim: a code change that slows every benchmark without
executing more instructions (a new lock, sleep or I/O wait on a shared path,
or cache misses suite-wide) reads the same way.  The headline says what the
pattern looks like, so a reader can rerun both sides on one machine
(``benchwatch compare-refs``), where latency decides again.  With no
instruction counts nothing changes here: a shift in files with the canary is
left to the speed model, and one in files without it is only flagged.  Nor
does it apply between two compare-refs sides: they ran interleaved on one
machine, so a suite-wide shift there is the code's.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from benchwatch.compare.records import BenchmarkComparison, MetricComparison
from benchwatch.compare.rules import CompareRules
from benchwatch.compare.settings import CompareSettings
from benchwatch.compare.verdict import ReasonCode, Verdict
from benchwatch.model import QUANTILE_OF_METRIC
from benchwatch.stats.shift import SuiteShift, uniform_shift

LATENCY_METRICS = (*QUANTILE_OF_METRIC, "mean")


@dataclasses.dataclass(frozen=True)
class CountsShift:
    """``moved`` of ``benchmarks`` (all with unchanged instruction counts) moved one way; their median ratio."""

    benchmarks: int
    moved: int
    median_ratio: float

    @property
    def detail(self) -> str:
        way = "slower" if self.median_ratio > 1 else "faster"
        return (
            f"{self.moved} of {self.benchmarks} benchmarks whose instruction counts did not move ran {way} "
            f"(median ×{self.median_ratio:.2f}): the machine was in another state on one side (load beside it, "
            "memory bandwidth, frequency), not the code"
        )


def deciding_latency(benchmark: BenchmarkComparison) -> MetricComparison | None:
    """The latency row whose ratio stands for the benchmark: gated p50, else mean, else p50."""
    judged = {m.metric: m for m in benchmark.metrics if m.judged and m.metric in LATENCY_METRICS}
    if "p50" in judged and judged["p50"].gated:
        return judged["p50"]
    return judged.get("mean") or judged.get("p50")


def suite_shift(
    benchmarks: Sequence[BenchmarkComparison], settings: CompareSettings, rules: CompareRules
) -> SuiteShift | None:
    """A suite-wide uniform shift of the deciding latency statistic (see :mod:`benchwatch.stats.shift`)."""
    rows = [deciding_latency(benchmark) for benchmark in benchmarks]
    ratios = [math.log(row.ratio) if row.ratio > 0 else math.nan for row in rows if row is not None]
    return uniform_shift(
        np.array(ratios, dtype=np.float64),
        threshold=settings.threshold,
        min_benchmarks=rules.shift_min_benchmarks,
        share=rules.shift_share,
    )


def shift_detail(shift: SuiteShift) -> str:
    """Why latency is not compared when a whole suite without machine evidence moved by one factor."""
    return (
        f"{shift.moved} of {shift.benchmarks} benchmarks moved the same way (median ×{shift.median_ratio:.2f}) "
        "and the files carry no machine evidence (no canary, sides not interleaved): this looks like a machine "
        "change (another machine, or load beside one side), not code; if both sides ran on one machine in one "
        "state, pass --assume-same-machine"
    )


def _counts_unchanged(benchmark: BenchmarkComparison) -> bool:
    return any(m.metric == "instructions" and m.judged and m.verdict == Verdict.UNCHANGED for m in benchmark.metrics)


def latency_shift_without_counts(
    benchmarks: Sequence[BenchmarkComparison], settings: CompareSettings, rules: CompareRules
) -> CountsShift | None:
    """The suite-wide latency shift that the instruction counts contradict, or None.

    Among the benchmarks whose instruction counts were judged unchanged (at
    least ``rules.shift_min_benchmarks``), the deciding latency statistic
    moved the same way on ``rules.shift_share`` or more of them, and latency
    called at least one of them a regression (or improvement) that way.  On
    identical code with independent noise, 80% of 13 signs agree by chance
    2% of the time, and then only rows the counts already contradict change.
    """
    del settings  # the threshold is in the rows' verdicts
    rows = [row for b in benchmarks if _counts_unchanged(b) and (row := deciding_latency(b)) is not None]
    rows = [row for row in rows if row.ratio > 0 and math.isfinite(row.ratio)]
    if len(rows) < rules.shift_min_benchmarks:
        return None
    logs = np.log([row.ratio for row in rows])
    flagged = {
        verdict: {
            m.benchmark for b in benchmarks for m in b.metrics if m.metric in LATENCY_METRICS and m.verdict == verdict
        }
        for verdict in (Verdict.REGRESSION, Verdict.IMPROVEMENT)
    }
    for sign, verdict in ((1.0, Verdict.REGRESSION), (-1.0, Verdict.IMPROVEMENT)):
        same = sign * logs > 0
        if same.sum() >= rules.shift_share * len(rows) and any(row.benchmark in flagged[verdict] for row in rows):
            return CountsShift(benchmarks=len(rows), moved=int(same.sum()), median_ratio=float(np.exp(np.median(logs))))
    return None


def _not_comparable(row: MetricComparison, detail: str) -> MetricComparison:
    return dataclasses.replace(
        row,
        verdict=Verdict.INCONCLUSIVE,
        ratio=math.nan,
        ci_low=math.nan,
        ci_high=math.nan,
        p_value=None,
        q_value=None,
        bootstrap_ci_low=math.nan,
        bootstrap_ci_high=math.nan,
        reason=detail,
        reason_code=ReasonCode.NOT_COMPARABLE_SPEED,
    )


def latency_not_comparable(benchmarks: Sequence[BenchmarkComparison], detail: str) -> tuple[BenchmarkComparison, ...]:
    """Every judged latency row made not comparable (no estimate, no interval); other rows kept."""
    return tuple(
        dataclasses.replace(
            benchmark,
            metrics=tuple(
                _not_comparable(m, detail) if m.metric in LATENCY_METRICS and m.judged else m for m in benchmark.metrics
            ),
        )
        for benchmark in benchmarks
    )
