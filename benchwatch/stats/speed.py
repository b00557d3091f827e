"""Whether two sides ran at one machine speed, from their canary timings (arrays in, a record out).

Every run recorded by ``benchwatch run`` carries the timing of benchwatch's
fixed canary right before and right after its measurement
(:mod:`benchwatch.runner.canary`).  The comparator reads them (only when
every ok run of both sides has a canary of the same version) and asks here
whether the two sides *shared* a machine speed:

* their median canary timings are within ``tolerance`` of each other, or
* their central speed ranges (the 10th-90th percentile of per-run canary
  timings) overlap.

Interleaved or randomised runs (compare-refs) share the machine's states by
construction, so their ranges overlap even when the machine switches speed.
A stored baseline from a faster machine, or a side recorded beside a CPU hog,
does not: every run of one side is slower than every run of the other, and
no model can tell the machine's share of the difference from the code's (on
the A/A and A/B harness a run's canary deviation and its benchmark's
correlated at 0.83, but the benchmark-specific slope is only identified
where the sides overlap).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Sides whose median canary timings differ by more than this ratio ran on
#: machines (or in machine states) of different speed (CompareRules.speed_tolerance).
SIDE_SPEED_WARNING = 1.10


@dataclass(frozen=True)
class SpeedCheck:
    """Each side's median canary timing (seconds), its speed range, and whether the sides share a speed."""

    base_seconds: float
    head_seconds: float
    base_runs: int
    head_runs: int
    base_range: tuple[float, float] = (math.nan, math.nan)
    head_range: tuple[float, float] = (math.nan, math.nan)
    shared: bool = True
    #: True when the check compared neighbouring runs (interleaved sides, AB/BA
    #: pairs): the medians are then of the paired runs and ``shared`` holds by construction.
    paired: bool = False

    @property
    def ratio(self) -> float:
        return self.head_seconds / self.base_seconds


def side_speed_check(
    base_logs: np.ndarray,
    head_logs: np.ndarray,
    *,
    tolerance: float = SIDE_SPEED_WARNING,
    range_quantiles: Sequence[float] = (0.1, 0.9),
) -> SpeedCheck | None:
    """Compare the sides' per-run log canary timings (one value per run); None when a side has none."""
    base = np.asarray(base_logs, dtype=np.float64)
    head = np.asarray(head_logs, dtype=np.float64)
    base, head = base[np.isfinite(base)], head[np.isfinite(head)]
    if not (base.size and head.size):
        return None
    base_low, base_high = np.quantile(base, range_quantiles)
    head_low, head_high = np.quantile(head, range_quantiles)
    base_median, head_median = float(np.median(base)), float(np.median(head))
    overlap = base_low <= head_high and head_low <= base_high
    close = abs(head_median - base_median) <= math.log(tolerance)
    return SpeedCheck(
        base_seconds=math.exp(base_median),
        head_seconds=math.exp(head_median),
        base_runs=int(base.size),
        head_runs=int(head.size),
        base_range=(math.exp(base_low), math.exp(base_high)),
        head_range=(math.exp(head_low), math.exp(head_high)),
        shared=bool(overlap or close),
    )


def paired_speed_check(
    base_logs: np.ndarray,
    head_logs: np.ndarray,
    *,
    tolerance: float = SIDE_SPEED_WARNING,
    by_construction: bool = False,
) -> SpeedCheck | None:
    """The speed check of interleaved sides: ``base_logs[k]`` and ``head_logs[k]`` ran next to each other.

    Sides that alternate run by run on one machine meet its states at random,
    so they share its speed whatever the whole ranges look like (under load
    that comes and goes one side can draw the slower states by chance: 7 of
    13 compare-refs A/A runs at a load of 4-5 ended "not comparable" under the
    range rule).  Neighbours are compared instead: the sides did not share a
    speed only when the head's canary was beyond ``tolerance`` on the same side
    in *every* pair (load started beside one side only; with random AB/BA
    order and shared load this needs every pair to fall one way).  With
    ``by_construction`` (compare-refs, which starts nothing beside one side)
    the sides share the speed whatever the pairs show.
    """
    base = np.asarray(base_logs, dtype=np.float64)
    head = np.asarray(head_logs, dtype=np.float64)
    known = np.isfinite(base) & np.isfinite(head)
    if not known.any():
        return None
    base, head = base[known], head[known]
    difference = head - base
    limit = math.log(tolerance)
    one_way = bool(np.all(difference > limit) or np.all(difference < -limit))
    centre = float(np.median(base))
    return SpeedCheck(
        base_seconds=math.exp(centre),
        head_seconds=math.exp(centre + float(np.median(difference))),
        base_runs=int(base.size),
        head_runs=int(head.size),
        base_range=(math.exp(float(base.min())), math.exp(float(base.max()))),
        head_range=(math.exp(float(head.min())), math.exp(float(head.max()))),
        shared=by_construction or not one_way,
        paired=True,
    )


def speed_warnings(check: SpeedCheck | None, tolerance: float = SIDE_SPEED_WARNING) -> list[str]:
    """A warning when the two sides ran at clearly different machine speeds."""
    if check is None:
        return []
    if check.paired and check.shared and (check.ratio > tolerance or check.ratio < 1 / tolerance):
        return [
            f"benchwatch's canary took {check.ratio:.2f}x as long on head as on base in neighbouring runs "
            "(median over AB/BA pairs); the sides alternated on one machine, so both met its states at random"
        ]
    if check.ratio > tolerance or check.ratio < 1 / tolerance:
        return [
            f"machine speed differs between the sides: benchwatch's canary took {check.ratio:.2f}x as long on "
            f"head as on base ({check.head_seconds * 1e3:.3f} vs {check.base_seconds * 1e3:.3f} ms), so latency "
            "changes may be the machine's, not the code's"
        ]
    return []
