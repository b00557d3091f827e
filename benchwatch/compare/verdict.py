"""The verdict vocabulary, defined once for the comparator, the reports, GitHub and the CLI.

``Verdict`` is what a metric, a benchmark or a whole comparison concludes;
``ReasonCode`` says in one machine-readable word why an ``inconclusive``
verdict is inconclusive (and whether the data was judged at all).  Both are
``StrEnum`` so that they compare equal to, and serialise as, their plain
strings (``Verdict.REGRESSION == "regression"``).
"""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    REGRESSION = "regression"
    IMPROVEMENT = "improvement"
    UNCHANGED = "unchanged"
    INCONCLUSIVE = "inconclusive"


#: Every verdict as plain strings, in the order reports list them.
VERDICTS: tuple[str, ...] = tuple(verdict.value for verdict in Verdict)


class ReasonCode(StrEnum):
    """Why a metric row came out as it did (documented in docs/statistics.md)."""

    #: A verdict was reached from an interval (regression, improvement or unchanged).
    DECIDED = "decided"
    #: Judged, but the interval reaches past the threshold: more runs would help.
    WIDE_INTERVAL = "wide-interval"
    #: Not judged: one side's runs all waited far longer for a CPU than the
    #: other side's (CPU hogs beside one side): a difference would be the machine's.
    ONE_SIDE_BUSY = "one-side-busy"
    #: Not judged: base and head ran on machines of different classes.
    NOT_COMPARABLE_MACHINE = "not-comparable-machine"
    #: Not judged: base and head ran at machine speeds that do not overlap.
    NOT_COMPARABLE_SPEED = "not-comparable-speed"
    #: Not judged: fewer than two process runs on a side.
    TOO_FEW_RUNS = "too-few-runs"
    #: Not judged: runs have too few samples for this quantile.
    TOO_FEW_SAMPLES = "too-few-samples"
    #: Not judged: the metric was measured on one side only.
    NOT_MEASURED = "not-measured"
    #: Not judged: a tail quantile (p95, p99) on a busy machine, where the
    #: tail of per-call times describes the scheduler's time slices, not the code.
    MACHINE_BUSY = "machine-busy"
    #: Judged, but a memory change cannot be decided: with these memory runs per
    #: side the permutation test cannot reach its level (more memory runs help).
    TOO_FEW_MEMORY_RUNS = "too-few-memory-runs"
    #: Judged: peak_rss moved, but memray's peak and allocations and the
    #: instruction counts did not, and the move is within the margin that the
    #: resident set's per-process levels need (more runs do not help).
    RSS_ONLY = "rss-only"


#: Codes of rows that carry no judgement of the data (no interval was computed).
NOT_JUDGED = frozenset(
    {
        ReasonCode.NOT_COMPARABLE_MACHINE,
        ReasonCode.NOT_COMPARABLE_SPEED,
        ReasonCode.TOO_FEW_RUNS,
        ReasonCode.TOO_FEW_SAMPLES,
        ReasonCode.NOT_MEASURED,
        ReasonCode.ONE_SIDE_BUSY,
        ReasonCode.MACHINE_BUSY,
    }
)
NOT_COMPARABLE = frozenset({ReasonCode.NOT_COMPARABLE_MACHINE, ReasonCode.NOT_COMPARABLE_SPEED})
