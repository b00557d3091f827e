"""Noise figures of one side of one benchmark, and whether one side was busier than the other.

Figures (per side, per benchmark), all from arrays with one entry per run:

* ``between_run_cv`` - coefficient of variation (sd / mean) of the per-run
  medians: how much whole processes of the same code disagree;
* ``within_run_cv`` - median over runs of the within-run robust CV
  (IQR / 1.349 / median): how noisy samples are inside a process;
* ``preemption`` - per run, the share of its measuring time it waited for a
  CPU (Linux schedstat run-queue wait / wall time; where that is missing,
  1 - CPU / wall time, which also counts sleeps and I/O);
* ``load_average`` - per run, the 1-minute load average recorded with it.
  Shown, never used for a decision: load counts runnable tasks, not whether
  *this* process waited (issue: a load of 2.1 on 2 CPUs while the measured
  wait had a median of 0.4%).

What decides is :func:`busier_side`: one side whose every run waited for a
CPU clearly longer than every run of the other side was measured beside
something the other side did not have (CPU hogs beside one side).  Shared
load on interleaved runs hits both sides alike and is no reason to distrust
a comparison: it only widens the interval.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: One side is busier when its runs' median CPU wait exceeds the other's by
#: more than this share of wall time (and every run of it waited longer):
#: the value CompareRules.one_side_busy_wait ships with.
ONE_SIDE_BUSY_WAIT = 0.10


@dataclass(frozen=True)
class SideDiagnostics:
    """Noise figures of one side (base or head) of one benchmark."""

    n_runs: int
    between_run_cv: float
    within_run_cv: float
    preemption: tuple[float, ...]
    load_average: tuple[float, ...]
    disturbed: bool = False
    reasons: tuple[str, ...] = ()

    @property
    def median_preemption(self) -> float:
        return float(np.median(self.preemption)) if self.preemption else math.nan

    @property
    def median_load(self) -> float:
        return float(np.median(self.load_average)) if self.load_average else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_runs": self.n_runs,
            "between_run_cv": self.between_run_cv,
            "within_run_cv": self.within_run_cv,
            "median_preemption": self.median_preemption,
            "median_load_average": self.median_load,
            "disturbed": self.disturbed,
            "reasons": list(self.reasons),
        }


def diagnose_side(medians: np.ndarray, robust_cvs: np.ndarray, waits: np.ndarray, loads: np.ndarray) -> SideDiagnostics:
    """Figures of one side from its runs' medians, robust CVs, CPU-wait shares and loads (NaN: unknown)."""
    medians = np.asarray(medians, dtype=np.float64)
    finite = medians[np.isfinite(medians)]
    between = float(np.std(finite, ddof=1) / finite.mean()) if finite.size >= 2 and finite.mean() > 0 else math.nan
    cvs = np.asarray(robust_cvs, dtype=np.float64)
    cvs = cvs[np.isfinite(cvs)]
    waits = np.asarray(waits, dtype=np.float64)
    loads = np.asarray(loads, dtype=np.float64)
    return SideDiagnostics(
        n_runs=int(medians.size),
        between_run_cv=between,
        within_run_cv=float(np.median(cvs)) if cvs.size else math.nan,
        preemption=tuple(float(w) for w in waits[np.isfinite(waits)]),
        load_average=tuple(float(x) for x in loads[np.isfinite(loads)]),
    )


def diagnose_sides(
    medians: np.ndarray, robust_cvs: np.ndarray, waits: np.ndarray, loads: np.ndarray
) -> list[SideDiagnostics]:
    """:func:`diagnose_side` for many sides at once: each argument is NaN-padded ``(sides, runs)``."""
    medians = np.asarray(medians, dtype=np.float64)
    present = np.isfinite(medians)
    count = present.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows give NaN by design
        mean = np.nanmean(medians, axis=1)
        between = np.where((count >= 2) & (mean > 0), np.nanstd(medians, axis=1, ddof=1) / mean, np.nan)
        within = np.nanmedian(np.asarray(robust_cvs, dtype=np.float64), axis=1)
    out = []
    for side in range(len(medians)):
        side_waits, side_loads = waits[side], loads[side]
        out.append(
            SideDiagnostics(
                n_runs=int(count[side]),
                between_run_cv=float(between[side]),
                within_run_cv=float(within[side]),
                preemption=tuple(side_waits[np.isfinite(side_waits)].tolist()),
                load_average=tuple(side_loads[np.isfinite(side_loads)].tolist()),
            )
        )
    return out


def busier_side(base_waits: np.ndarray, head_waits: np.ndarray, margin: float = ONE_SIDE_BUSY_WAIT) -> str | None:
    """``"base"`` or ``"head"`` when that side clearly waited longer for a CPU (see the module doc), else None.

    Needs the run-queue measure on at least two runs of each side.  "Clearly"
    means both: the medians differ by more than ``margin`` (a share of wall
    time) and the two sides' waits do not overlap at all.  Under shared load
    with interleaved runs the waits are exchangeable between the sides, so a
    complete separation has probability 2 / C(n0 + n1, n0) (0.8% at 5 runs a
    side).
    """
    base = np.asarray(base_waits, dtype=np.float64)
    head = np.asarray(head_waits, dtype=np.float64)
    base, head = base[np.isfinite(base)], head[np.isfinite(head)]
    if base.size < 2 or head.size < 2:
        return None
    if np.median(head) - np.median(base) > margin and head.min() > base.max():
        return "head"
    if np.median(base) - np.median(head) > margin and base.min() > head.max():
        return "base"
    return None


def _row_medians(sorted_rows: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Medians of rows sorted ascending with NaN last, ``counts`` finite values each (as np.median computes them)."""
    rows = np.arange(len(sorted_rows))
    low = sorted_rows[rows, np.maximum((counts - 1) // 2, 0)]
    high = sorted_rows[rows, np.maximum(counts // 2, 0)]
    return np.where(counts % 2 == 1, low, (low + high) / 2.0)


def busier_sides(
    base_waits: np.ndarray, head_waits: np.ndarray, margin: float = ONE_SIDE_BUSY_WAIT
) -> list[str | None]:
    """:func:`busier_side` of many benchmarks at once: NaN-padded ``(benchmarks, runs)`` waits per side."""
    base = np.sort(np.asarray(base_waits, dtype=np.float64), axis=1)  # NaN sorts last
    head = np.sort(np.asarray(head_waits, dtype=np.float64), axis=1)
    out: list[str | None] = [None] * len(base)
    if not base.shape[1] or not head.shape[1]:
        return out
    n_base, n_head = np.isfinite(base).sum(axis=1), np.isfinite(head).sum(axis=1)
    usable = (n_base >= 2) & (n_head >= 2)
    if not usable.any():
        return out
    rows = np.arange(len(base))
    base_median, head_median = _row_medians(base, n_base), _row_medians(head, n_head)
    base_min, head_min = base[:, 0], head[:, 0]
    base_max = base[rows, np.maximum(n_base - 1, 0)]
    head_max = head[rows, np.maximum(n_head - 1, 0)]
    head_busier = usable & (head_median - base_median > margin) & (head_min > base_max)
    base_busier = usable & ~head_busier & (base_median - head_median > margin) & (base_min > head_max)
    for row in np.flatnonzero(head_busier).tolist():
        out[row] = "head"
    for row in np.flatnonzero(base_busier).tolist():
        out[row] = "base"
    return out


def summarise_sides(diagnostics: Sequence[SideDiagnostics]) -> dict[str, Any]:
    """Suite-level summary of one side: medians of the per-benchmark figures, disturbed count."""

    def median_of(values: list[float]) -> float:
        values = [v for v in values if not math.isnan(v)]
        return float(np.median(values)) if values else math.nan

    return {
        "benchmarks": len(diagnostics),
        "disturbed": sum(1 for d in diagnostics if d.disturbed),
        "median_between_run_cv": median_of([d.between_run_cv for d in diagnostics]),
        "median_within_run_cv": median_of([d.within_run_cv for d in diagnostics]),
        "median_preemption": median_of([d.median_preemption for d in diagnostics]),
        "median_load_average": median_of([d.median_load for d in diagnostics]),
    }
