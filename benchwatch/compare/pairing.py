"""Which benchmarks are compared, and the per-run figures strategies need, as arrays.

This is where the results model is read; everything after works on numpy
arrays (statistics are functions of arrays).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from benchwatch.compare.records import BenchmarkComparison
from benchwatch.model import LATENCY_METRICS, BenchmarkResult, ResultSet, Run
from benchwatch.stats.runlevel import RunTable, run_table


@dataclass(frozen=True)
class BenchmarkPair:
    """A benchmark present on both sides with at least one ok run on each."""

    name: str
    base: BenchmarkResult
    head: BenchmarkResult


def _failure_note(benchmark: BenchmarkResult) -> str:
    errors = [run.error or run.status for run in benchmark.failed_runs]
    return f" ({errors[0].splitlines()[0][:120]})" if errors and errors[0] else ""


def pair_benchmarks(base: ResultSet, head: ResultSet) -> Pairing:
    """Classify every benchmark: compared, added, removed, or failed (every run of a side failed)."""
    base_map, head_map = base.by_name(), head.by_name()
    order = tuple(list(base_map) + [name for name in head_map if name not in base_map])
    pairs: list[BenchmarkPair] = []
    others: dict[str, BenchmarkComparison] = {}
    warnings: list[str] = []
    for name in order:
        if name not in head_map or name not in base_map:
            status = "removed" if name not in head_map else "added"
            others[name] = BenchmarkComparison(name=name, metrics=(), status=status)
            continue
        sides = {"base": base_map[name], "head": head_map[name]}
        failed = tuple(label for label, benchmark in sides.items() if not benchmark.ok_runs)
        if failed:
            note = _failure_note(sides[failed[0]])
            text = f"all {' and '.join(failed)} runs failed{note}"
            others[name] = BenchmarkComparison(
                name=name, metrics=(), status="failed", notes=(text,), failed_sides=failed
            )
            warnings.append(f"{name}: {text}")
            continue
        for label, benchmark in sides.items():
            if benchmark.failed_runs:
                warnings.append(f"{name}: {len(benchmark.failed_runs)} of {len(benchmark.runs)} {label} runs failed")
        pairs.append(BenchmarkPair(name=name, base=base_map[name], head=head_map[name]))
    runs = [run for pair in pairs for side in (pair.base, pair.head) for run in side.ok_runs]
    return Pairing(pairs=tuple(pairs), others=others, order=order, warnings=tuple(warnings), arrays=run_arrays(runs))


@dataclass(frozen=True)
class RunArrays:
    """Per-run figures of many runs, one entry (row) per run.

    ``values[metric]`` the run's latency statistic (from its samples, or from
    a summary-only run's median/mean); ``sizes`` its sample count (a
    summary-only run counts its rounds); ``waits`` the share of its measuring
    time it waited for a CPU (NaN unknown); ``loads`` its load average;
    ``canary`` its canary timings in log seconds, ``(runs, 2)``, NaN without;
    ``iterations`` calls per sample; ``has_samples`` whether it kept raw samples.
    """

    table: RunTable
    values: dict[str, np.ndarray]
    sizes: np.ndarray
    waits: np.ndarray
    loads: np.ndarray
    canary: np.ndarray
    iterations: np.ndarray
    has_samples: np.ndarray


def run_arrays(runs: Sequence[Run]) -> RunArrays:
    """Read the figures of ``runs`` into arrays (one pass over the samples, vectorised)."""
    table = run_table([run.samples for run in runs])
    values = {metric: table.column(metric).copy() for metric in LATENCY_METRICS}
    sizes = table.sizes.copy()
    for index in np.flatnonzero(sizes == 0).tolist():  # summary-only runs
        for metric in LATENCY_METRICS:
            values[metric][index] = runs[index].statistic(metric)
        sizes[index] = int(runs[index].summary.get("rounds", 0))
    canary = np.array([run.canary_log_seconds for run in runs], dtype=np.float64).reshape(len(runs), 2)
    return RunArrays(
        table=table,
        values=values,
        sizes=sizes,
        waits=np.array([run.cpu_wait_share for run in runs], dtype=np.float64),
        loads=np.array([math.nan if run.load_average is None else run.load_average for run in runs]),
        canary=canary,
        iterations=np.array([run.iterations for run in runs], dtype=np.int64),
        has_samples=table.sizes > 0,
    )


@dataclass(frozen=True)
class Pairing:
    """The compared pairs, the benchmarks that are not compared (by name), the order of all, and warnings.

    ``arrays`` holds the per-run figures of every ok run of the pairs (base then head, pair by pair),
    read once here for the strategies and the comparability checks.
    """

    pairs: tuple[BenchmarkPair, ...]
    others: dict[str, BenchmarkComparison]
    order: tuple[str, ...]
    warnings: tuple[str, ...]
    arrays: RunArrays
