"""Noise diagnostics of one side of one benchmark, and whether it was disturbed.

Figures (per side, per benchmark):

* ``between_run_cv`` - coefficient of variation (sd / mean) of the per-run
  medians: how much whole processes of the same code disagree;
* ``within_run_cv`` - median over runs of the within-run robust CV
  (MAD / median x 1.4826): how noisy samples are inside a process;
* ``preemption`` - per run, runqueue_wait_seconds / wall_seconds when the
  run recorded it (Linux schedstat: time the measuring thread was runnable
  but waiting for a CPU), otherwise 1 - cpu_seconds / wall_seconds (time not
  spent on a CPU; exact for single-threaded code such as our DuckDB
  benchmarks, which run with one thread, but it also counts sleeps and I/O);
* ``load_average`` - per run, the 1-minute load average recorded with it
  (else the environment's).

A side is *disturbed* when its median preemption, median load per CPU or
between-run CV passes the thresholds below; compare() then refuses to call
a regression or improvement on that benchmark (inconclusive instead).

Environment differences between base and head (CPU model, interpreter,
package versions) are diagnosed here too: they can explain a change that
is not the code's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchwatch.model import Environment, Run

# More than 10% of the measuring time waiting for a CPU: the process was
# time-sliced with a competitor, and its latency samples carry that
# competitor's schedule (on a 2-core runner one CPU hog is enough).
PREEMPTION_DISTURBED = 0.10
# Load average above one runnable task per CPU: every core was busy on
# average, so the benchmark (itself one of the runnable tasks) competed for a
# CPU for much of the run.
LOAD_PER_CPU_DISTURBED = 1.0
# Per-run medians of identical code differing by more than 50% (sd/mean):
# something other than the code dominated those runs.  The bar is high on
# purpose: the Welch interval already widens with between-run spread, and on
# our 2-vCPU runners pure-Python benchmarks show 15-35% between-process CV
# even on a quiet machine (A/B harness, results/ab-quiet), so a lower bar
# would call ordinary runs "disturbed" and hide real regressions.
BETWEEN_RUN_CV_DISTURBED = 0.50


@dataclass(frozen=True)
class SideDiagnostics:
    """Noise figures of one side (base or head) of one benchmark."""

    n_runs: int
    between_run_cv: float
    within_run_cv: float
    preemption: tuple[float, ...]
    load_average: tuple[float, ...]
    disturbed: bool
    reasons: tuple[str, ...]

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


def preemption_fraction(run: Run) -> float:
    """Fraction of the run's wall time it could not run (see module doc); NaN if unknown."""
    wall = run.wall_seconds
    if wall is None or not wall > 0:
        return math.nan
    if run.runqueue_wait_seconds is not None:
        return min(1.0, max(0.0, run.runqueue_wait_seconds / wall))
    if run.cpu_seconds is not None:
        return min(1.0, max(0.0, 1.0 - run.cpu_seconds / wall))
    return math.nan


# A run whose measuring thread waited for a CPU this share of its wall time
# was measured on a contended machine: its timings describe the neighbours.
# Only the direct run-queue measure is used (CPU/wall is also low for code
# that waits on I/O), and the rule never looks at the timings themselves, so
# dropping such runs cannot bias a comparison towards any verdict.
PREEMPTED_RUN_FRACTION = 0.20
MIN_RUNS_AFTER_EXCLUSION = 2


def drop_preempted_runs(runs: Sequence[Run]) -> tuple[tuple[Run, ...], int]:
    """``runs`` without the clearly preempted ones, keeping at least two; and how many were dropped.

    When fewer than two calm runs remain, the most preempted runs are kept
    back in (least preempted first) and the side-level disturbance rule
    decides what the comparison may claim.
    """

    def waited(run: Run) -> float:
        wait, wall = run.runqueue_wait_seconds, run.wall_seconds
        if wait is None or wall is None or not wall > 0:
            return 0.0
        return wait / wall

    calm = [run for run in runs if waited(run) <= PREEMPTED_RUN_FRACTION]
    if len(calm) < MIN_RUNS_AFTER_EXCLUSION:
        ranked = sorted(runs, key=waited)
        calm = [run for run in runs if run in ranked[:MIN_RUNS_AFTER_EXCLUSION]]
    return tuple(calm), len(runs) - len(calm)


# Contention from neighbours only ever slows a process down, while a code
# change moves every run of a side together.  So a run far *slower* than the
# other runs of its own side measured its neighbours: with at least
# SLOW_OUTLIER_MIN_RUNS runs, a run whose log median exceeds the side's median
# by more than max(SLOW_OUTLIER_MADS robust SDs, SLOW_OUTLIER_FLOOR) is
# dropped, keeping at least SLOW_OUTLIER_KEEP runs.  The rule sees one side
# only and is the same for both, so it cannot favour a verdict; its effect on
# the false-alarm rate is checked by tests/test_simulation.py and the A/A
# harness.
SLOW_OUTLIER_MIN_RUNS = 4
SLOW_OUTLIER_MADS = 3.0
SLOW_OUTLIER_FLOOR = 0.05
SLOW_OUTLIER_KEEP = 3


def drop_slow_outlier_runs(runs: Sequence[Run]) -> tuple[tuple[Run, ...], int]:
    """``runs`` without the runs far slower than the rest of their side (see above); and how many."""
    if len(runs) < SLOW_OUTLIER_MIN_RUNS:
        return tuple(runs), 0
    medians = np.array([run.statistic("p50") for run in runs], dtype=np.float64)
    if not np.all(np.isfinite(medians) & (medians > 0)):
        return tuple(runs), 0
    logs = np.log(medians)
    center = float(np.median(logs))
    spread = 1.4826 * float(np.median(np.abs(logs - center)))
    limit = center + max(SLOW_OUTLIER_MADS * spread, SLOW_OUTLIER_FLOOR)
    keep = logs <= limit
    if keep.sum() < SLOW_OUTLIER_KEEP:
        keep = logs <= np.sort(logs)[SLOW_OUTLIER_KEEP - 1]
    kept = tuple(run for run, flag in zip(runs, keep, strict=False) if flag)
    return kept, len(runs) - len(kept)


def diagnose_side(
    runs: Sequence[Run],
    medians: np.ndarray,
    robust_cvs: np.ndarray,
    *,
    cpu_count: int | None,
    environment_load: float | None = None,
) -> SideDiagnostics:
    """Diagnostics for the ok ``runs`` of one side, given their per-run medians and robust CVs."""
    medians = np.asarray(medians, dtype=np.float64)
    finite = medians[np.isfinite(medians)]
    between = float(np.std(finite, ddof=1) / finite.mean()) if finite.size >= 2 and finite.mean() > 0 else math.nan
    cvs = np.asarray(robust_cvs, dtype=np.float64)
    cvs = cvs[np.isfinite(cvs)]
    within = float(np.median(cvs)) if cvs.size else math.nan
    preemption = tuple(p for p in (preemption_fraction(run) for run in runs) if not math.isnan(p))
    run_loads = (run.load_average if run.load_average is not None else environment_load for run in runs)
    loads = tuple(float(load) for load in run_loads if load is not None)
    reasons = []
    if preemption and np.median(preemption) > PREEMPTION_DISTURBED:
        reasons.append(f"{np.median(preemption):.0%} of run time waiting for a CPU")
    if loads and cpu_count and np.median(loads) > cpu_count * LOAD_PER_CPU_DISTURBED:
        reasons.append(f"load average {np.median(loads):.1f} on {cpu_count} CPUs")
    if not math.isnan(between) and between > BETWEEN_RUN_CV_DISTURBED:
        reasons.append(f"run medians vary by {between:.0%} (CV)")
    return SideDiagnostics(
        n_runs=len(runs),
        between_run_cv=between,
        within_run_cv=within,
        preemption=preemption,
        load_average=loads,
        disturbed=bool(reasons),
        reasons=tuple(reasons),
    )


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


def noise_warnings(label: str, sides: Sequence[SideDiagnostics], names: Sequence[str]) -> list[str]:
    """One warning line summarising the disturbed benchmarks of one side (none when calm)."""
    disturbed = [(name, side) for name, side in zip(names, sides, strict=False) if side.disturbed]
    if not disturbed:
        return []
    name, example = disturbed[0]
    return [
        f"{label} side disturbed on {len(disturbed)} of {len(sides)} benchmarks "
        f"(e.g. {name}: {'; '.join(example.reasons)}); their regressions/improvements are inconclusive"
    ]


# -- environment -----------------------------------------------------------------

_ENVIRONMENT_FIELDS = ("cpu_model", "cpu_count", "python_version", "python_implementation", "os")


def environment_summary(environment: Environment) -> dict[str, Any]:
    """The environment fields reports show (packages are compared, not listed)."""
    fields = (*_ENVIRONMENT_FIELDS, "hostname", "git_commit", "git_branch", "git_dirty")
    return {name: getattr(environment, name) for name in fields}


def environment_warnings(base: Environment, head: Environment) -> list[str]:
    """Differences between the two machines/interpreters that can explain a change."""
    warnings = []
    for name in _ENVIRONMENT_FIELDS:
        old, new = getattr(base, name), getattr(head, name)
        if old is not None and new is not None and old != new:
            warnings.append(f"environment differs: {name} {old!r} (base) vs {new!r} (head)")
    for package in sorted(set(base.packages) & set(head.packages)):
        if base.packages[package] != head.packages[package]:
            warnings.append(
                f"package versions differ: {package} {base.packages[package]} (base) vs {head.packages[package]} (head)"
            )
    return warnings
