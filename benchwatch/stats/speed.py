"""Whether a comparison can use the machine-speed canary, and whether the two sides ran at one speed.

Every run recorded by ``benchwatch run`` carries the timing of benchwatch's
fixed canary right before and right after its measurement
(:mod:`benchwatch.runner.canary`).  compare() adjusts each benchmark for
machine speed with them (:mod:`benchwatch.stats.covariate`) - but only when
every ok run of both sides has a canary of the same version: files from an
older benchwatch or imported from another tool have none, and canaries of
different versions timed different code.

The sides' median canary timings also say whether base and head ran on
machines (or in machine states) of different speed; a clear difference is a
warning in every report, since then latency differences may be the
machine's.  On the A/A and A/B harness (benchmarks/ab_harness), a run's
canary deviation and its benchmark's deviation correlated at 0.83 across
1,280 pure-Python runs of identical code, and 201 of the 230 runs more than
15% off their benchmark's median had their canary off by more than 12%.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from benchwatch.model import ResultSet, Run

#: Sides whose median canary timings differ by more than this ratio ran on
#: machines (or in machine states) of different speed.
SIDE_SPEED_WARNING = 1.10


@dataclass(frozen=True)
class SpeedCheck:
    """Each side's median canary timing (seconds) and how many runs it rests on."""

    base_seconds: float
    head_seconds: float
    base_runs: int
    head_runs: int

    @property
    def ratio(self) -> float:
        return self.head_seconds / self.base_seconds


def canary_versions(result: ResultSet) -> set[int | None]:
    """The canary versions found in the ok runs of ``result`` (``None`` for runs without a canary)."""
    return {
        run.canary_version if run.canary_seconds else None
        for benchmark in result.benchmarks
        for run in benchmark.ok_runs
    }


def canary_logs(run: Run) -> np.ndarray | None:
    """Log seconds of the run's canary timings, or None without a usable canary."""
    if not run.canary_seconds:
        return None
    values = np.asarray(run.canary_seconds, dtype=np.float64)
    if not np.all(np.isfinite(values) & (values > 0)):
        return None
    return np.log(values)


def _median_canary(result: ResultSet) -> tuple[float, int]:
    logs = [
        values
        for benchmark in result.benchmarks
        for run in benchmark.ok_runs
        if (values := canary_logs(run)) is not None
    ]
    return (float(np.exp(np.median(np.concatenate(logs)))) if logs else math.nan), len(logs)


def side_speeds(base: ResultSet, head: ResultSet) -> SpeedCheck | None:
    """Both sides' median canary timings, or None when the canaries cannot be used (see the module doc)."""
    versions = canary_versions(base) | canary_versions(head)
    if len(versions) != 1 or None in versions:
        return None
    (base_seconds, base_runs), (head_seconds, head_runs) = _median_canary(base), _median_canary(head)
    if not (base_runs and head_runs and base_seconds > 0 and head_seconds > 0):
        return None
    return SpeedCheck(base_seconds=base_seconds, head_seconds=head_seconds, base_runs=base_runs, head_runs=head_runs)


def speed_warnings(check: SpeedCheck | None) -> list[str]:
    """A warning when the two sides ran at clearly different machine speeds."""
    if check is None:
        return []
    if check.ratio > SIDE_SPEED_WARNING or check.ratio < 1 / SIDE_SPEED_WARNING:
        return [
            f"machine speed differs between the sides: benchwatch's canary took {check.ratio:.2f}x as long on "
            f"head as on base ({check.head_seconds * 1e3:.3f} vs {check.base_seconds * 1e3:.3f} ms), so latency "
            "changes may be the machine's, not the code's"
        ]
    return []
