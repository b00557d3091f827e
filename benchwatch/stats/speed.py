"""Machine speed per run, from the canary timed around each measurement.

A shared virtual machine's CPU changes speed for seconds at a time (see
:mod:`benchwatch.runner.canary`); a process run measured in such a phase is
1.4-1.9x off for pure-Python code, which no interval built from five runs
can absorb.  Every run recorded by ``benchwatch run`` carries the canary's
timing right before and right after its measurement.

The rule (:func:`drop_off_speed_runs`): a run is *off-speed* when either of
its canary timings differs from its side's usual canary timing (the median
over every canary timing of that side, all benchmarks) by more than
``OFF_SPEED_LOG`` in log terms (about 12%).  Off-speed runs are left out of
the comparison of that benchmark.

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
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from benchwatch.model import ResultSet, Run

#: log(1.12): the canary is the fastest of five short calls, whose spread on a
#: calm machine stays within a few percent (benchmarks/canary_noise.py), while
#: the speed phases seen on shared runners slow it by 30-90%.
OFF_SPEED_LOG = math.log(1.12)
#: Sides whose usual canary timings differ by more than this ratio ran on
#: machines (or in machine states) of different speed.
SIDE_SPEED_WARNING = 1.10
MIN_ON_SPEED_RUNS = 2


@dataclass(frozen=True)
class SpeedReference:
    """The usual (median) log canary timing of one side, and how many timings it is from."""

    log_seconds: float
    timings: int

    @property
    def seconds(self) -> float:
        return math.exp(self.log_seconds)


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


def speed_references(base: ResultSet, head: ResultSet) -> tuple[SpeedReference, SpeedReference] | None:
    """Each side's usual canary timing, or None when the canaries cannot be used.

    They cannot when a run of either side lacks a canary (files from an older
    benchwatch or imported from another tool) or the two sides' canaries are
    of different versions: then nothing says the two measured the same code.
    """
    versions = canary_versions(base) | canary_versions(head)
    if len(versions) != 1 or None in versions:
        return None
    references = []
    for result in (base, head):
        logs = [values for benchmark in result.benchmarks for run in benchmark.ok_runs
                if (values := _canary_logs(run)) is not None]
        if not logs:
            return None
        pooled = np.concatenate(logs)
        references.append(SpeedReference(log_seconds=float(np.median(pooled)), timings=int(pooled.size)))
    return references[0], references[1]


def speed_warnings(references: tuple[SpeedReference, SpeedReference] | None) -> list[str]:
    """A warning when the two sides ran at clearly different machine speeds."""
    if references is None:
        return []
    base, head = references
    ratio = math.exp(head.log_seconds - base.log_seconds)
    if ratio > SIDE_SPEED_WARNING or ratio < 1 / SIDE_SPEED_WARNING:
        return [
            f"machine speed differs between the sides: benchwatch's canary took {ratio:.2f}x as long on head "
            f"as on base ({head.seconds * 1e3:.3f} vs {base.seconds * 1e3:.3f} ms), so latency changes may be "
            "the machine's, not the code's"
        ]
    return []


def off_speed(run: Run, reference: SpeedReference) -> float:
    """How far (in log terms) the run's canary strayed from its side's usual timing; 0 without a canary."""
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
