"""The records of a comparison: per metric, per benchmark, for the suite; and exclusion records."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from benchwatch.compare.rules import RULES_VERSION
from benchwatch.compare.settings import CompareSettings
from benchwatch.compare.verdict import NOT_JUDGED, ReasonCode, Verdict
from benchwatch.errors import EXIT_NOTHING_JUDGED, EXIT_OK, EXIT_REGRESSION
from benchwatch.explain.records import Explanation
from benchwatch.stats.diagnostics import SideDiagnostics

if TYPE_CHECKING:
    from benchwatch.stats.speed import SpeedCheck

STATUSES = ("compared", "added", "removed", "failed")
#: An interval whose ends differ by more than this factor tells a reader nothing
#: (×0.02 to ×44 on a p50 whose runs disagreed): reports show the runs instead.
RUNS_DISAGREE_FACTOR = 4.0


@dataclass(frozen=True)
class MetricComparison:
    """The verdict on one metric of one benchmark.

    ``ratio`` is head/base (for latency: exp of the estimated difference of
    log per-run statistics); ``ci_low``/``ci_high`` its interval (NaN when
    the data cannot support one, see ``reason_code``; for memory the min/max
    ratio over run pairs); ``p_value``/``q_value`` the test's p-value and its
    BH adjustment (for memory: the permutation test's, BH per memory metric); ``base_value``/``head_value`` the median
    per-run statistic of each side (seconds, bytes or a count, see ``unit``);
    ``reason`` explains the verdict in words and ``reason_code``
    (:class:`benchwatch.compare.verdict.ReasonCode`) in one word.
    ``bootstrap_ci_low``/``bootstrap_ci_high`` are the hierarchical bootstrap
    interval when it was requested (display only).  ``base_runs``/``head_runs``
    hold the per-run values (same unit) only of rows whose runs disagree
    (:attr:`runs_disagree`), for the reports to show instead of the interval.
    """

    benchmark: str
    metric: str
    verdict: Verdict
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
    reason_code: ReasonCode = ReasonCode.DECIDED
    base_runs: tuple[float, ...] = ()
    head_runs: tuple[float, ...] = ()

    @property
    def runs_disagree(self) -> bool:
        """The interval spans more than :data:`RUNS_DISAGREE_FACTOR`: too wide to be read as an interval."""
        low, high = self.ci_low, self.ci_high
        return math.isfinite(low) and math.isfinite(high) and low > 0 and high > RUNS_DISAGREE_FACTOR * low

    @property
    def change(self) -> float:
        """Relative change head vs base (0.12 = 12% larger)."""
        return self.ratio - 1.0

    @property
    def judged(self) -> bool:
        """Whether the data was judged (an interval computed), whatever the verdict."""
        return self.reason_code not in NOT_JUDGED


@dataclass(frozen=True)
class Exclusion:
    """Runs a strategy left out of one side of one benchmark, and why (``code``, see ``EXCLUSION_REASONS``)."""

    benchmark: str
    side: str
    runs: int
    code: str


#: Why a strategy leaves runs out, as the warning says it.
EXCLUSION_REASONS = {
    "canary-unsteady": (
        "the machine changed speed while they were measured (benchwatch's canary moved by more than {unstable}); "
        "the speed-adjusted model cannot place them"
    ),
    "slow-residual": (
        "far slower than the fit of their benchmark (something the canary did not see slowed them; "
        "contention slows single processes, code changes move all runs)"
    ),
}


@dataclass(frozen=True)
class StrategyResult:
    """What one metric-family strategy returns: rows per benchmark, exclusions and diagnostics for the JSON."""

    rows: Mapping[str, tuple[MetricComparison, ...]]
    exclusions: tuple[Exclusion, ...] = ()
    diagnostics: Mapping[str, Any] = field(default_factory=dict)
    side_diagnostics: Mapping[str, tuple[SideDiagnostics, SideDiagnostics]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class BenchmarkComparison:
    """One benchmark: its status, metric verdicts and per-side noise diagnostics.

    ``failed_sides`` names the sides on which every run failed (status ``failed``).
    """

    name: str
    metrics: tuple[MetricComparison, ...]
    status: str
    base_diagnostics: SideDiagnostics | None = None
    head_diagnostics: SideDiagnostics | None = None
    notes: tuple[str, ...] = ()
    failed_sides: tuple[str, ...] = ()

    @property
    def broken_by_head(self) -> bool:
        """Every head run failed where base ran: the change broke the benchmark."""
        return self.status == "failed" and self.failed_sides == ("head",)


@dataclass(frozen=True)
class ComparisonDiagnostics:
    """How the comparison was made, for the JSON report and the reports' method notes.

    ``base``/``head`` summarise the sides' noise; ``latency_test`` names the latency method
    ("welch", "speed-adjusted", "contention-adjusted", "not-comparable"); ``variance_priors`` the
    moderation's fitted priors per metric; ``memory_test`` the memory families (size, level, runs
    needed); ``instruction_counts`` what decided the counts' comparability; ``machine_speed``,
    ``comparability``, ``busy_runs`` and ``suite_shift`` what was decided about the sides.
    """

    base: Mapping[str, Any] = field(default_factory=dict)
    head: Mapping[str, Any] = field(default_factory=dict)
    latency_test: str | None = None
    variance_priors: Mapping[str, Any] = field(default_factory=dict)
    memory_test: Mapping[str, Any] | None = None
    instruction_counts: Mapping[str, Any] | None = None
    machine_speed: Mapping[str, Any] | None = None
    comparability: Mapping[str, Any] = field(default_factory=dict)
    busy_runs: Mapping[str, int] = field(default_factory=dict)
    suite_shift: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class Comparison:
    """A whole comparison: benchmarks, the suite verdict and its headline, warnings and context.

    ``headline`` is one line saying why the suite verdict is what it is and,
    when it is not decisive, what to do.  ``rules_version`` is the
    :data:`benchwatch.compare.rules.RULES_VERSION` the verdicts were made under.
    ``explanations`` holds, per explained benchmark, the functions behind its
    change (:mod:`benchwatch.explain`); empty when nothing was profiled.
    """

    benchmarks: tuple[BenchmarkComparison, ...]
    verdict: Verdict
    warnings: tuple[str, ...]
    settings: CompareSettings
    base_environment: Mapping[str, Any]
    head_environment: Mapping[str, Any]
    diagnostics: ComparisonDiagnostics = field(default_factory=ComparisonDiagnostics)
    headline: str = ""
    rules_version: int = RULES_VERSION
    exclusions: tuple[Exclusion, ...] = ()
    explanations: tuple[Explanation, ...] = ()

    def metric_comparisons(self) -> Iterator[MetricComparison]:
        for benchmark in self.benchmarks:
            yield from benchmark.metrics

    def gated(self, verdict: str | None = None) -> list[MetricComparison]:
        return [m for m in self.metric_comparisons() if m.gated and (verdict is None or m.verdict == verdict)]

    @property
    def nothing_judged(self) -> bool:
        """Every benchmark of a side failed, or no gated metric could be judged."""
        compared = [b for b in self.benchmarks if b.status == "compared"]
        if not compared and any(b.status == "failed" for b in self.benchmarks):
            return True
        return not any(m.judged for m in self.gated())

    def exit_code(self, fail_on_inconclusive: bool | None = None) -> int:
        """1 with a gated regression; 4 when nothing could be judged; 1 when inconclusive and asked to fail; else 0."""
        if fail_on_inconclusive is None:
            fail_on_inconclusive = self.settings.fail_on_inconclusive
        if self.verdict == Verdict.REGRESSION:
            return EXIT_REGRESSION
        if self.nothing_judged:
            return EXIT_NOTHING_JUDGED
        return EXIT_REGRESSION if fail_on_inconclusive and self.verdict == Verdict.INCONCLUSIVE else EXIT_OK


@dataclass(frozen=True)
class LatencyComparability:
    """``code`` is None when latency is comparable; ``detail`` says why not; ``speed`` the canary check (or None)."""

    code: ReasonCode | None
    detail: str
    speed: SpeedCheck | None

    @property
    def comparable(self) -> bool:
        return self.code is None

    def to_dict(self) -> dict[str, Any]:
        return {"comparable": self.comparable, "reason_code": self.code, "detail": self.detail}


@dataclass(frozen=True)
class Comparability:
    """Everything decided about the two sides before a metric is estimated (:mod:`.comparability`), once.

    ``latency`` whether latency is comparable; ``busy_runs`` of ``all_runs`` (with a known CPU wait)
    waited past the busy threshold, and ``machine_busy`` says whether that is most of them;
    ``interleaved`` whether the sides alternated run by run on one machine; ``warnings`` the
    environment's, the suite arguments' and the machine speed's, in report order; the environments
    as reports show them.
    """

    latency: LatencyComparability
    busy_runs: int
    all_runs: int
    machine_busy: bool
    interleaved: bool
    warnings: tuple[str, ...]
    base_environment: Mapping[str, Any]
    head_environment: Mapping[str, Any]
