"""``benchwatch run``: several fresh process runs per benchmark, then a memory pass per run.

Why several processes: samples inside one process share its memory layout,
hash seed, CPU frequency and neighbours, so thousands of them still say
little about the next process.  Each timing pass is a fresh worker running
every selected benchmark once (so the benchmarks of one pass share the same
minutes of machine weather); the memory pass of the same run follows in its
own worker so that memray's tracking never slows a timed call.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchwatch.environment import collect_environment
from benchwatch.errors import InputError, UsageError
from benchwatch.model import BenchmarkResult, MemoryProfile, ResultSet, Run, frozen_samples
from benchwatch.runner.worker import PassOutcome, WorkerCommand, run_pass


@dataclass(frozen=True)
class RunSettings:
    """How ``benchwatch run`` measures.

    ``pytest_args`` go to every worker (e.g. pytest-benchmark's
    ``--benchmark-min-rounds``); ``keyword`` is a pytest ``-k`` expression;
    ``timeout`` bounds each benchmark in each pass, in seconds.
    ``memory_runs`` limits the memray pass to the first N runs (None: every
    run when ``memory``; 0 is the same as ``memory=False``).
    """

    suites: tuple[str, ...] = ("benchmarks",)
    runs: int = 5
    timeout: float = 300.0
    keyword: str | None = None
    pytest_args: tuple[str, ...] = ()
    memory: bool = True
    memory_runs: int | None = None
    keep_captures: bool = False
    capture_dir: Path | None = None
    python: str = sys.executable

    def __post_init__(self) -> None:
        if self.runs < 1:
            raise UsageError(f"runs must be at least 1, got {self.runs}")
        if self.timeout <= 0:
            raise UsageError(f"timeout must be positive, got {self.timeout}")
        if self.memory_runs is not None and self.memory_runs < 0:
            raise UsageError(f"memory runs must not be negative, got {self.memory_runs}")
        if not self.suites:
            raise UsageError("no suite paths given")


@dataclass(frozen=True)
class Progress:
    """A progress report for a terminal: where the run is and how long is left."""

    phase: str  # "collect", "timing" or "memory"
    run: int
    runs: int
    benchmark: str | None
    done: int
    total: int
    elapsed_seconds: float
    remaining_seconds: float | None
    last_status: str | None = None


@dataclass
class _Clock:
    total_units: int
    started: float = field(default_factory=time.monotonic)
    done_units: int = 0

    def remaining(self) -> float | None:
        if self.done_units == 0:
            return None
        elapsed = time.monotonic() - self.started
        return elapsed / self.done_units * (self.total_units - self.done_units)


def collect_benchmarks(*, repo: Path, settings: RunSettings) -> list[dict[str, Any]]:
    """The benchmarks of the suites (pytest node ids and groups), honouring ``keyword``."""
    for suite in settings.suites:
        if not (repo / suite).exists():
            raise InputError(repo / suite, "suite path does not exist")
    command = _command(repo, settings)
    outcome = run_pass(command=command, mode="collect", targets=list(settings.suites), timeout=settings.timeout)
    if outcome.worker_failure:
        raise InputError(repo / settings.suites[0], f"cannot collect benchmarks: {outcome.worker_failure}")
    if not outcome.collected:
        selection = f" matching -k {settings.keyword!r}" if settings.keyword else ""
        raise InputError(", ".join(settings.suites), f"no benchmarks collected{selection} (empty benchmark list)")
    return outcome.collected


def _command(repo: Path, settings: RunSettings) -> WorkerCommand:
    args = list(settings.pytest_args)
    if settings.keyword:
        args += ["-k", settings.keyword]
    return WorkerCommand(python=settings.python, cwd=repo, pytest_args=tuple(args))


def run_suites(
    *,
    repo: Path,
    settings: RunSettings,
    progress: Callable[[Progress], None] | None = None,
) -> ResultSet:
    """Measure every benchmark of the suites ``settings.runs`` times, each in a fresh process.

    Failed benchmarks (raised, crashed, timed out) are recorded with their
    error and the rest go on; the returned result says which failed.
    """
    collected = collect_benchmarks(repo=repo, settings=settings)
    names = [event["name"] for event in collected]
    groups = {event["name"]: event.get("group") for event in collected}
    environment = collect_environment(repo=repo)
    command = _command(repo, settings)
    memory_runs = settings.runs if settings.memory_runs is None else min(settings.memory_runs, settings.runs)
    memory_runs = memory_runs if settings.memory else 0
    clock = _Clock(total_units=len(names) * (settings.runs + memory_runs))
    timing: list[PassOutcome] = []
    memory: list[PassOutcome] = []
    for run_index in range(1, settings.runs + 1):
        # The memory passes go with the first runs, so memory[i] belongs to timing[i].
        for phase in ("timing", "memory")[: 2 if run_index <= memory_runs else 1]:
            targets = names
            if phase == "memory":
                # A benchmark that failed its timed pass has nothing to profile.
                targets = [name for name in names if timing[-1].results.get(name, {}).get("status") == "ok"]
                clock.done_units += len(names) - len(targets)
                if not targets:
                    memory.append(PassOutcome())
                    continue
            on_event = _progress_relay(progress, phase, run_index, settings.runs, clock)
            outcome = run_pass(
                command=command,
                mode=phase,
                targets=targets,
                timeout=settings.timeout,
                capture_dir=settings.capture_dir,
                keep_captures=settings.keep_captures,
                on_event=on_event,
            )
            (timing if phase == "timing" else memory).append(outcome)
    benchmarks, skipped = _assemble(names, groups, timing, memory)
    if not benchmarks:
        raise InputError(", ".join(settings.suites), f"every benchmark was skipped: {skipped}")
    return ResultSet(
        benchmarks=tuple(benchmarks),
        environment=environment,
        source="benchwatch run",
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        settings={
            "runs": settings.runs,
            "timeout": settings.timeout,
            "suites": list(settings.suites),
            "keyword": settings.keyword,
            "pytest_args": list(settings.pytest_args),
            "memory_pass": memory_runs > 0,
            "skipped": skipped,
        },
    )


def _progress_relay(
    progress: Callable[[Progress], None] | None, phase: str, run_index: int, runs: int, clock: _Clock
) -> Callable[[dict[str, Any]], None]:
    def relay(event: dict[str, Any]) -> None:
        if event["event"] == "result":
            clock.done_units += 1
        if progress is None or event["event"] not in ("start", "result"):
            return
        progress(
            Progress(
                phase=phase,
                run=run_index,
                runs=runs,
                benchmark=event["name"],
                done=clock.done_units,
                total=clock.total_units,
                elapsed_seconds=time.monotonic() - clock.started,
                remaining_seconds=clock.remaining(),
                last_status=event.get("status") if event["event"] == "result" else None,
            )
        )

    return relay


def _assemble(
    names: list[str], groups: dict[str, str | None], timing: list[PassOutcome], memory: list[PassOutcome]
) -> tuple[list[BenchmarkResult], dict[str, str]]:
    benchmarks = []
    skipped: dict[str, str] = {}
    for name in names:
        runs = []
        for index, timing_pass in enumerate(timing):
            event = timing_pass.results.get(name)
            if event is None or event["status"] == "skipped":
                skipped[name] = (event or {}).get("error") or "not run"
                continue
            memory_event = memory[index].results.get(name) if index < len(memory) else None
            runs.append(run_from_events(event, memory_event))
        if name in skipped and not runs:
            continue
        benchmarks.append(BenchmarkResult(name=name, runs=tuple(runs), group=groups.get(name)))
    return benchmarks, skipped


def run_from_events(event: dict[str, Any], memory_event: dict[str, Any] | None) -> Run:
    status = event["status"]
    error = event.get("error")
    memory = None
    if memory_event is not None:
        if memory_event.get("memory") and memory_event["status"] == "ok":
            memory = MemoryProfile(**memory_event["memory"])
        elif status == "ok" and memory_event["status"] not in ("ok", "skipped"):
            # A benchmark that fails only under memray is still a failure to report.
            status = memory_event["status"]
            error = f"memory pass: {memory_event.get('error')}"
    samples = event.get("samples", []) if status == "ok" else []
    return Run(
        samples=frozen_samples(samples),
        iterations=event.get("iterations", 1),
        status=status,
        error=error,
        memory=memory,
        wall_seconds=event.get("wall_seconds"),
        cpu_seconds=event.get("cpu_seconds"),
        runqueue_wait_seconds=event.get("runqueue_wait_seconds"),
        load_average=event.get("load_average"),
        started_at=event.get("started_at"),
        canary_seconds=tuple(event["canary_seconds"]) if event.get("canary_seconds") else None,
        canary_version=event.get("canary_version"),
    )
