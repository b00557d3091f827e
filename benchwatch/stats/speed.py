"""Machine speed per run, from the canary timed around each measurement.

A shared virtual machine's CPU changes speed for seconds at a time (see
:mod:`benchwatch.runner.canary`); a process run measured in such a phase is
1.4-1.9x off for pure-Python code, which no interval built from five runs
can absorb.  Every run recorded by ``benchwatch run`` carries the canary's
timing right before and right after its measurement.

The rule (:func:`drop_off_speed_runs`): a run is *off-speed* when either of
its canary timings differs from the comparison's *usual speed* by more than
``OFF_SPEED_LOG`` in log terms (12%).  Off-speed runs are left out of the
comparison of that benchmark.  The usual speed (:func:`usual_speed`) is one
canary timing for both sides: the fastest 2 x 12% window that holds at least
``USUAL_SHARE`` of the runs of the whole comparison (all benchmarks, base
and head).  On a calm machine that is simply the canary's timing; on a
machine that flips between a fast and a slow state it is the fast state,
and when the fast state is rare, the slower state that holds the runs -
the two sides are always compared in the same state.  A benchmark with
fewer than two runs in the window on a side is reported as disturbed.

Why this cannot manufacture a verdict:

* the canary is benchwatch's own fixed code, identical in every process of
  both sides (same ``canary_version`` required), so its timings carry no
  trace of the code change under test;
* the rule reads the canary only, never the benchmark's own timings, and is
  the same for both sides; under identical code, dropping runs this way
  leaves each side a random subset of its runs, so the false-alarm rate of
  the Welch test is untouched (tests/test_speed.py checks it by simulation,
  and the A/A harness on real runs).

What it does not do: it does not rescale timings by the canary (code that
waits on memory or in C slows down less than the canary), and it cannot see
a phase that starts and ends between the two canary timings.  A side whose
usual canary is far from the other side's was measured on a slower or
faster machine: that is reported as a warning, since then no filter can
make the two sides comparable.

The A/A and A/B harness (benchmarks/ab_harness) measured how well the canary
tracks the benchmarks on our 2-vCPU runner: across 1,280 pure-Python runs of
identical code, the run's canary deviation and its benchmark's deviation
correlated at 0.83, and 201 of the 230 runs more than 15% off their
benchmark's median had their canary off by more than 12%.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from benchwatch.model import ResultSet, Run

#: log(1.12): the canary is the fastest of five short calls, whose spread on a
#: calm machine stays within about 4% (5th-95th percentile in the harness), while
#: the speed phases seen on shared runners slow it by 30-90%.
OFF_SPEED_LOG = math.log(1.12)
#: Sides whose usual canary timings differ by more than this ratio ran on
#: machines (or in machine states) of different speed.
SIDE_SPEED_WARNING = 1.10
MIN_ON_SPEED_RUNS = 2
#: The usual speed is the fastest canary window that holds at least this share
#: of the comparison's runs: contention only ever slows the machine down, and
#: in the harness the fast state was also the tight one (runs within a few
#: percent), while the slow state varied by 30% between runs.
USUAL_SHARE = 0.3


@dataclass(frozen=True)
class SpeedReference:
    """A canary timing (log seconds) runs are measured against, and how many runs it rests on."""

    log_seconds: float
    runs: int

    @property
    def seconds(self) -> float:
        return math.exp(self.log_seconds)


@dataclass(frozen=True)
class SpeedCheck:
    """The comparison's usual speed, and each side's median canary timing (for the warning)."""

    usual: SpeedReference
    base_median: SpeedReference
    head_median: SpeedReference


def _canary_logs(run: Run) -> np.ndarray | None:
    if not run.canary_seconds:
        return None
    values = np.asarray(run.canary_seconds, dtype=np.float64)
    if not np.all(np.isfinite(values) & (values > 0)):
        return None
    return np.log(values)


def canary_versions(result: ResultSet) -> set[int | None]:
    """The canary versions found in the ok runs of ``result`` (``None`` for runs without a canary)."""
    return {run.canary_version if run.canary_seconds else None
            for benchmark in result.benchmarks for run in benchmark.ok_runs}


def _run_ranges(result: ResultSet) -> list[tuple[float, float]]:
    ranges = []
    for benchmark in result.benchmarks:
        for run in benchmark.ok_runs:
            logs = _canary_logs(run)
            if logs is not None:
                ranges.append((float(logs.min()), float(logs.max())))
    return ranges


def _usual_window(ranges: Sequence[tuple[float, float]]) -> SpeedReference:
    """The centre of the fastest well-populated canary window (see the module doc).

    A run with timings in [lo, hi] fits a window centred on c when c lies in
    [hi - T, lo + T].  Sweeping those intervals from the fastest timing up,
    the first stretch where at least ``USUAL_SHARE`` of the runs fit is the
    fastest state the machine spent a good share of the comparison in; the
    middle of its best-covered part is returned.  Without such a stretch,
    the best-covered window anywhere.
    """
    events = []
    for low, high in ranges:
        if high - low <= 2 * OFF_SPEED_LOG:
            events.append((high - OFF_SPEED_LOG, 0))  # 0 sorts starts before ends at the same point
            events.append((low + OFF_SPEED_LOG, 1))
    if not events:
        return SpeedReference(log_seconds=float(np.median([low for low, _ in ranges])), runs=0)
    events.sort()
    needed = max(MIN_ON_SPEED_RUNS, math.ceil(USUAL_SHARE * len(ranges)))
    segments = []  # (start, end, coverage) of each stretch between consecutive events
    count = 0
    for (point, kind), (following, _) in zip(events, events[1:] + [(math.inf, 1)]):
        count += 1 if kind == 0 else -1
        if following > point:
            segments.append((point, following, count))
    first_stretch = []
    for segment in segments:
        if segment[2] >= needed:
            first_stretch.append(segment)
        elif first_stretch:
            break
    pool = first_stretch or segments
    best = max(coverage for _, _, coverage in pool)
    start, end, _ = next(segment for segment in pool if segment[2] == best)
    end = start if math.isinf(end) else end
    return SpeedReference(log_seconds=(start + end) / 2.0, runs=best)


def usual_speed(base: ResultSet, head: ResultSet) -> SpeedCheck | None:
    """The comparison's usual machine speed (see the module doc), or None when canaries cannot be used.

    They cannot when an ok run of either side lacks a canary (files from an
    older benchwatch or imported from another tool) or the canaries are of
    different versions: then nothing says the two timed the same code.
    """
    versions = canary_versions(base) | canary_versions(head)
    if len(versions) != 1 or None in versions:
        return None
    base_ranges, head_ranges = _run_ranges(base), _run_ranges(head)
    if not base_ranges or not head_ranges:
        return None

    def median_of(ranges: list[tuple[float, float]]) -> SpeedReference:
        return SpeedReference(log_seconds=float(np.median(np.asarray(ranges))), runs=len(ranges))

    return SpeedCheck(usual=_usual_window(base_ranges + head_ranges),
                      base_median=median_of(base_ranges), head_median=median_of(head_ranges))  # fmt: skip


def speed_warnings(check: SpeedCheck | None) -> list[str]:
    """A warning when the two sides ran at clearly different machine speeds."""
    if check is None:
        return []
    base, head = check.base_median, check.head_median
    ratio = math.exp(head.log_seconds - base.log_seconds)
    if ratio > SIDE_SPEED_WARNING or ratio < 1 / SIDE_SPEED_WARNING:
        return [
            f"machine speed differs between the sides: benchwatch's canary took {ratio:.2f}x as long on head "
            f"as on base ({head.seconds * 1e3:.3f} vs {base.seconds * 1e3:.3f} ms), so latency changes may be "
            "the machine's, not the code's"
        ]
    return []


def off_speed(run: Run, reference: SpeedReference) -> float:
    """How far (in log terms) the run's canary strayed from ``reference``; 0 without a canary."""
    logs = _canary_logs(run)
    if logs is None:
        return 0.0
    return float(np.max(np.abs(logs - reference.log_seconds)))


def drop_off_speed_runs(
    runs: Sequence[Run], reference: SpeedReference | None
) -> tuple[tuple[Run, ...], int, str | None]:
    """``runs`` without the off-speed ones (see the module doc); how many were dropped; and a
    disturbance reason when fewer than two on-speed runs were left.

    Then the two least off-speed runs are kept so that the comparison can
    still report a ratio, and the reason makes compare() treat the side as
    disturbed: a regression or improvement is not called from runs measured
    at the wrong machine speed.
    """
    if reference is None or len(runs) < MIN_ON_SPEED_RUNS:
        return tuple(runs), 0, None  # one run is inconclusive anyway
    distances = [off_speed(run, reference) for run in runs]
    kept = [run for run, distance in zip(runs, distances) if distance <= OFF_SPEED_LOG]
    if len(kept) >= MIN_ON_SPEED_RUNS:
        return tuple(kept), len(runs) - len(kept), None
    order = np.argsort(distances, kind="stable")[:MIN_ON_SPEED_RUNS]
    reason = (f"only {len(kept)} of {len(runs)} runs at the machine's usual speed "
              f"(benchwatch's canary off by more than {math.exp(OFF_SPEED_LOG) - 1:.0%})")  # fmt: skip
    return tuple(runs[index] for index in sorted(order.tolist())), len(runs) - MIN_ON_SPEED_RUNS, reason
