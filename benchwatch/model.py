"""The results model: one record per benchmark, holding its process runs.

Data flows one way: the runner (or an adapter) builds these records, the
result file module stores them, statistics read them.  Everything here is a
frozen dataclass; sample arrays are read-only numpy arrays so that a record
cannot be changed after it was measured.

A *run* is one process run of a benchmark.  Samples inside a run share that
process's memory layout, hash seed, CPU frequency and neighbours, so they are
not independent evidence: statistics treat the run as the unit of
replication and the samples only as a description of that run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

RUN_OK = "ok"
RUN_ERROR = "error"  # the benchmark raised
RUN_CRASHED = "crashed"  # its process died (signal, os._exit, out of memory)
RUN_TIMEOUT = "timeout"  # it ran past its timeout and was killed
RUN_STATUSES = (RUN_OK, RUN_ERROR, RUN_CRASHED, RUN_TIMEOUT)

LATENCY_METRICS = ("p50", "p95", "p99", "mean")
MEMORY_METRICS = ("peak_memory", "allocations", "peak_rss")
#: Counted under Callgrind in the instruction pass (benchwatch.runner.instructions).
INSTRUCTION_METRICS = ("instructions", "estimated_cycles")
ALL_METRICS = LATENCY_METRICS + MEMORY_METRICS + INSTRUCTION_METRICS
QUANTILE_OF_METRIC = {"p50": 0.50, "p95": 0.95, "p99": 0.99}


def frozen_samples(values: Any) -> np.ndarray:
    """Return ``values`` as a read-only float64 array (seconds per call); one that already is, as it is."""
    ready = isinstance(values, np.ndarray) and values.dtype == np.float64 and values.ndim == 1
    if ready and not values.flags.writeable:
        return values
    array = np.array(values, dtype=np.float64).reshape(-1)
    array.flags.writeable = False
    return array


@dataclass(frozen=True)
class MemoryProfile:
    """Memory of one call of the benchmark, measured in a separate pass.

    ``peak_bytes`` is the high-water mark of heap memory allocated while the
    call ran (memray's ``peak_memory``); ``allocations`` counts the
    allocations it made.  ``capture_path`` names the memray capture file when
    it was kept for a flamegraph.  ``rss_peak_bytes`` is the peak resident
    set of the worker process during the call above its resident set right
    before it: it sees memory memray cannot, such as DuckDB's buffers
    (``docs/instructions.md``).  None when not measured.
    """

    peak_bytes: int
    allocations: int
    capture_path: str | None = None
    rss_peak_bytes: int | None = None


@dataclass(frozen=True, eq=False)
class Run:
    """One process run of one benchmark.

    ``samples`` are seconds per call.  When ``iterations`` > 1 each sample is
    the mean of that many calls (pytest-benchmark and pyperf calibrate loops
    for fast code), so its percentiles describe round means, not single calls.

    ``cpu_seconds``/``wall_seconds`` cover the measuring span of this run and
    ``runqueue_wait_seconds`` is the time the measuring thread waited for a
    CPU (Linux schedstat); together they tell whether the run was preempted.
    ``canary_seconds`` are the machine-speed canary's timings right before and
    right after the measurement (``benchwatch.runner.canary``, version
    ``canary_version``): whether the CPU ran at its usual speed meanwhile.
    """

    samples: np.ndarray
    iterations: int = 1
    status: str = RUN_OK
    error: str | None = None
    memory: MemoryProfile | None = None
    wall_seconds: float | None = None
    cpu_seconds: float | None = None
    runqueue_wait_seconds: float | None = None
    load_average: float | None = None
    started_at: str | None = None
    summary: Mapping[str, float] = field(default_factory=dict)
    canary_seconds: tuple[float, ...] | None = None
    canary_version: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.samples, np.ndarray) or self.samples.flags.writeable:
            object.__setattr__(self, "samples", frozen_samples(self.samples))
        if self.status not in RUN_STATUSES:
            raise ValueError(f"unknown run status {self.status!r}")

    @property
    def ok(self) -> bool:
        return self.status == RUN_OK

    @property
    def has_samples(self) -> bool:
        return self.samples.size > 0

    @property
    def cpu_wait_share(self) -> float:
        """Share of the measuring time the run waited for a CPU (Linux schedstat run-queue wait); NaN if unknown.

        Only the direct measure counts: 1 - CPU / wall time also counts sleeps
        and I/O, which a code change can add, so deciding on it could hide the
        very regression under test.
        """
        wall = self.wall_seconds
        if wall is None or not wall > 0 or self.runqueue_wait_seconds is None:
            return math.nan
        return min(1.0, max(0.0, self.runqueue_wait_seconds / wall))

    @property
    def canary_log_seconds(self) -> tuple[float, float]:
        """The run's first and last canary timings in log seconds, NaN without a usable canary."""
        values = self.canary_seconds
        if not values or not all(isinstance(v, (int, float)) and math.isfinite(v) and v > 0 for v in values):
            return math.nan, math.nan
        return math.log(values[0]), math.log(values[-1])

    def statistic(self, metric: str) -> float:
        """p50/p95/p99/mean of this run's samples, or of its summary.

        Summary-only runs (old pytest-benchmark files) carry ``median`` and
        ``mean``; their tail percentiles are unknown and come back as NaN.
        """
        if metric in INSTRUCTION_METRICS:
            return math.nan  # counted in the instruction pass: BenchmarkResult.instruction_runs
        if metric in MEMORY_METRICS:
            if self.memory is None:
                return math.nan
            if metric == "peak_rss":
                rss = self.memory.rss_peak_bytes
                return math.nan if rss is None else float(rss)
            return float(self.memory.peak_bytes if metric == "peak_memory" else self.memory.allocations)
        if self.has_samples:
            if metric == "mean":
                return float(np.mean(self.samples))
            return float(np.quantile(self.samples, QUANTILE_OF_METRIC[metric]))
        key = {"p50": "median", "mean": "mean"}.get(metric)
        return float(self.summary[key]) if key is not None and key in self.summary else math.nan


@dataclass(frozen=True, eq=False)
class InstructionRun:
    """One process run of the instruction pass: a fresh worker under Valgrind's Callgrind.

    ``instructions`` are the instructions each counted call executed (after
    warm-up; start-up and the benchmark's set-up are never counted).
    ``estimated_cycles`` are the estimated cycles of each call when the pass
    simulated caches (formula in ``benchwatch.runner.callgrind``), else None.
    """

    instructions: tuple[int, ...] = ()
    estimated_cycles: tuple[float, ...] | None = None
    status: str = RUN_OK
    error: str | None = None

    def __post_init__(self) -> None:
        if self.status not in RUN_STATUSES:
            raise ValueError(f"unknown run status {self.status!r}")

    @property
    def ok(self) -> bool:
        return self.status == RUN_OK and bool(self.instructions)

    def statistic(self, metric: str) -> float:
        """The median over this run's counted calls (NaN when not measured)."""
        values = self.instructions if metric == "instructions" else self.estimated_cycles
        return float(np.median(values)) if self.ok and values else math.nan


@dataclass(frozen=True, eq=False)
class BenchmarkResult:
    """Every run of one benchmark.

    ``name`` is the benchmark's stable identity across results (for pytest
    suites the test node id).  ``has_raw_samples`` is False for imports of
    summary-only formats: such a record cannot support tail statistics.
    ``executed_packages`` are the installed distributions (name -> version)
    whose code the counted call executed (``benchwatch.runner.executed``);
    None when not recorded (older files, no instruction pass).
    """

    name: str
    runs: tuple[Run, ...]
    group: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    has_raw_samples: bool = True
    unit: str = "seconds"
    instruction_runs: tuple[InstructionRun, ...] = ()
    executed_packages: Mapping[str, str] | None = None

    @cached_property
    def ok_runs(self) -> tuple[Run, ...]:
        # Cached (runs are immutable): the comparator asks for it several times per benchmark.
        return tuple(run for run in self.runs if run.ok)

    @property
    def failed_runs(self) -> tuple[Run, ...]:
        return tuple(run for run in self.runs if not run.ok)

    @property
    def failed(self) -> bool:
        return bool(self.failed_runs)

    @property
    def failed_instruction_runs(self) -> tuple[InstructionRun, ...]:
        return tuple(run for run in self.instruction_runs if run.status != RUN_OK)

    def pooled_samples(self) -> np.ndarray:
        """All samples of the successful runs, concatenated (for display)."""
        arrays = [run.samples for run in self.ok_runs if run.has_samples]
        return np.concatenate(arrays) if arrays else np.empty(0)

    def per_run_statistics(self, metric: str) -> list[float]:
        """One value per ok run of the pass that measures ``metric`` (NaN where a run lacks it)."""
        if metric in INSTRUCTION_METRICS:
            return [run.statistic(metric) for run in self.instruction_runs if run.ok]
        return [run.statistic(metric) for run in self.ok_runs]

    def statistic(self, metric: str) -> float:
        """A descriptive figure over runs: the median of the per-run values."""
        values = [value for value in self.per_run_statistics(metric) if not math.isnan(value)]
        return float(np.median(values)) if values else math.nan


@dataclass(frozen=True)
class Environment:
    """Where and on what the results were measured.

    ``extra`` holds what a source reports beyond these fields (pyperf's
    metadata, Go's ``goos``/``cpu`` lines); values are strings or numbers.
    """

    cpu_model: str | None = None
    cpu_count: int | None = None
    cpu_governor: str | None = None
    os: str | None = None
    python_version: str | None = None
    python_implementation: str | None = None
    python_build: str | None = None
    packages: Mapping[str, str] = field(default_factory=dict)
    load_average: tuple[float, ...] | None = None
    hostname: str | None = None
    git_commit: str | None = None
    git_branch: str | None = None
    git_dirty: bool | None = None
    collected_at: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class ResultSet:
    """One result file: the benchmarks measured together in one session.

    ``source`` names the producer (``benchwatch run``, ``pytest-benchmark``,
    ``pyperf`` ...); ``settings`` records how the runs were made (runs,
    scale, timeouts) so a later reader can judge them.
    ``count_fingerprint`` records what makes instruction counts comparable
    (architecture, Python implementation/version/build, hash seed, the
    counting method's version, the valgrind version, and the versions of the
    packages the benchmarks imported: the rule for benchmarks without
    ``executed_packages``); empty when no
    instruction pass ran (``benchwatch.stats.instructions``).
    """

    benchmarks: tuple[BenchmarkResult, ...]
    environment: Environment = field(default_factory=Environment)
    source: str = "benchwatch run"
    created_at: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    count_fingerprint: Mapping[str, Any] = field(default_factory=dict)

    def by_name(self) -> dict[str, BenchmarkResult]:
        return {benchmark.name: benchmark for benchmark in self.benchmarks}

    @property
    def failed(self) -> tuple[BenchmarkResult, ...]:
        return tuple(benchmark for benchmark in self.benchmarks if benchmark.failed)
