"""``benchwatch run``: several fresh process runs per benchmark, then a memory pass per run.

Why several processes: samples inside one process share its memory layout,
hash seed, CPU frequency and neighbours, so thousands of them still say
little about the next process.  Each timing pass is a fresh worker running
every selected benchmark once (so the benchmarks of one pass share the same
minutes of machine weather); the memory pass of the same run follows in its
own worker so that memray's tracking never slows a timed call.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchwatch.environment import collect_environment
from benchwatch.errors import InputError, UsageError
from benchwatch.model import (
    QUANTILE_OF_METRIC,
    BenchmarkResult,
    Environment,
    MemoryProfile,
    ResultSet,
    Run,
    frozen_samples,
)
from benchwatch.runner.cost import CostLedger, PhaseCost
from benchwatch.runner.instructions import InstructionOutcome, InstructionSettings, run_instruction_pass
from benchwatch.runner.memory_pass import run_memory_pass
from benchwatch.runner.progress import PhaseClock, Progress, relay_events
from benchwatch.runner.schedule import ORDER_SEED, StopRule, planned_looks, run_order
from benchwatch.runner.worker import PassOutcome, WorkerCommand, run_pass
from benchwatch.stats.runlevel import min_samples_for_quantile

#: Seconds one benchmark may spend, per process, reaching the samples its gate needs.
DEFAULT_SAMPLE_BUDGET = 10.0
NOT_BENCHMARKS_HINT = "no benchmark fixture or marker"


def samples_needed(gating_metrics: Sequence[str]) -> int:
    """Samples per run that the gated quantiles need (0 when no quantile gates)."""
    quantiles = [QUANTILE_OF_METRIC[metric] for metric in gating_metrics if metric in QUANTILE_OF_METRIC]
    return max((min_samples_for_quantile(q) for q in quantiles), default=0)


#: Seconds of rounds per benchmark and run (pytest-benchmark's ``--benchmark-max-time``, whose own default is
#: 1 s) unless the suite's arguments set it.  The process run is the unit of replication, so samples past a few
#: thousand make one run's quantiles no truer, while a µs-scale suite pays the second 64 times per run
#: (docs/cost.md, "Rounds per run").  The gated quantiles' samples are still reached within the sample budget.
DEFAULT_ROUND_TIME = 0.2


def sampling_args(target_samples: int, budget: float, *, given: Sequence[str] = ()) -> tuple[str, ...]:
    """Worker options: ``target_samples`` within ``budget`` seconds, and the round time unless ``given`` sets one."""
    args: tuple[str, ...] = ()
    if not any(arg.startswith("--benchmark-max-time") for arg in given):
        args = (f"--benchmark-max-time={DEFAULT_ROUND_TIME:g}",)
    if target_samples <= 0:
        return args
    return (*args, f"--benchwatch-target-samples={target_samples}", f"--benchwatch-sample-budget={budget:g}")


@dataclass(frozen=True)
class Collection:
    """What the collect pass found: the benchmarks, and the tests that are not benchmarks.

    ``arguments`` maps each benchmark's node id to an argument that selects
    it from any working directory, and ``rootdir`` is pytest's rootdir of
    the collect pass: timing passes pin it so node ids stay the same even
    when a suite lies outside the working directory.
    """

    benchmarks: tuple[Mapping[str, Any], ...]
    rootdir: str | None
    not_benchmarks: int
    examples: tuple[str, ...]

    @property
    def names(self) -> list[str]:
        return [event["name"] for event in self.benchmarks]

    @property
    def groups(self) -> dict[str, str | None]:
        return {event["name"]: event.get("group") for event in self.benchmarks}

    def not_benchmarks_note(self) -> str | None:
        """ "N tests are not benchmarks (...)", or None when every test is one."""
        if not self.not_benchmarks:
            return None
        noun = "test is not a benchmark" if self.not_benchmarks == 1 else "tests are not benchmarks"
        shown = ", ".join(self.examples)
        more = ", …" if self.not_benchmarks > len(self.examples) else ""
        return f"{self.not_benchmarks} {noun} ({NOT_BENCHMARKS_HINT}): {shown}{more}"

    def command(self, base: WorkerCommand) -> WorkerCommand:
        """``base`` made to select benchmarks by location and keep the collect pass's rootdir."""
        args = base.pytest_args
        if self.rootdir and not any(arg.startswith("--rootdir") for arg in args):
            args = (*args, f"--rootdir={self.rootdir}")
        arguments = {event["name"]: event["target"] for event in self.benchmarks if event.get("target")}
        return replace(base, pytest_args=args, arguments=arguments)


def suite_arguments(repo: Path, suites: Sequence[str], where: str) -> list[str]:
    """The suites as absolute paths, each resolved from ``repo`` exactly once and checked to exist.

    Relative paths are relative to the repository (or checkout); absolute
    ones may lie anywhere.  Collection and timing passes use these same
    paths, so a suite outside the tree is the same suite in every pass.
    """
    resolved = []
    for suite in suites:
        path = Path(repo, suite).absolute()
        if not path.exists():
            raise InputError(where, f"has no suite at {suite}")
        resolved.append(str(path))
    return resolved


def collect(*, command: WorkerCommand, suites: Sequence[str], timeout: float, where: str) -> Collection:
    """Run the collect pass over ``suites`` (absolute paths); ``where`` names the tree in errors."""
    outcome = run_pass(command=command, mode="collect", targets=list(suites), timeout=timeout)
    if outcome.worker_failure:
        raise InputError(where, f"cannot collect benchmarks: {outcome.worker_failure}")
    session = outcome.session or {}
    return Collection(
        benchmarks=tuple(outcome.collected),
        rootdir=session.get("rootdir"),
        not_benchmarks=int(session.get("not_benchmarks", 0)),
        examples=tuple(session.get("examples", ())),
    )


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
    #: The Callgrind instruction pass after the timed runs; None: no pass.
    instructions: InstructionSettings | None = None
    target_samples: int = 0
    sample_budget: float = DEFAULT_SAMPLE_BUDGET
    #: The memory pass of a run in one worker that forks a child per benchmark (docs/cost.md),
    #: instead of a fresh worker per benchmark; Linux and macOS only.
    memory_fork: bool = True
    #: Each run measures its benchmarks in an order of its own (runner/schedule.py); False: collection order.
    shuffle: bool = True

    def __post_init__(self) -> None:
        if self.runs < 1:
            raise UsageError(f"runs must be at least 1, got {self.runs}")
        # NaN compares false with everything: "nan <= 0" would let it through and turn the watchdog off.
        if not math.isfinite(self.timeout) or self.timeout <= 0:
            raise UsageError(f"timeout must be a positive, finite number of seconds, got {self.timeout}")
        if not math.isfinite(self.sample_budget) or self.sample_budget <= 0:
            raise UsageError(f"sample budget must be positive, got {self.sample_budget}")
        if self.memory_runs is not None and self.memory_runs < 0:
            raise UsageError(f"memory runs must not be negative, got {self.memory_runs}")
        if not self.suites:
            raise UsageError("no suite paths given")


def collect_benchmarks(*, repo: Path, settings: RunSettings) -> Collection:
    """The benchmarks of the suites (pytest node ids and groups), honouring ``keyword``."""
    for suite in settings.suites:
        if not Path(repo, suite).exists():
            raise InputError(Path(repo, suite), "suite path does not exist")
    suites = suite_arguments(repo, settings.suites, where=", ".join(settings.suites))
    collection = collect(command=_command(repo, settings), suites=suites, timeout=settings.timeout, where=suites[0])
    if not collection.benchmarks:
        raise InputError(", ".join(settings.suites), empty_collection_problem(collection, settings.keyword))
    return collection


def empty_collection_problem(collection: Collection, keyword: str | None) -> str:
    """Why nothing is to be measured, in one line."""
    selection = f" matching -k {keyword!r}" if keyword else ""
    note = collection.not_benchmarks_note()
    if note:
        return f"no benchmarks collected{selection}: {note}"
    return f"no benchmarks collected{selection} ({'no test matches it' if keyword else 'the suites hold no tests'})"


def _command(repo: Path, settings: RunSettings) -> WorkerCommand:
    args = list(settings.pytest_args)
    if settings.keyword:
        args += ["-k", settings.keyword]
    args += sampling_args(settings.target_samples, settings.sample_budget, given=args)
    return WorkerCommand(python=settings.python, cwd=repo, pytest_args=tuple(args))


def run_suites(
    *,
    repo: Path,
    settings: RunSettings,
    progress: Callable[[Progress], None] | None = None,
    stop_rule: StopRule | None = None,
) -> ResultSet:
    """Measure every benchmark of the suites ``settings.runs`` times, each in a fresh process.

    Each run measures its benchmarks in an order of its own (:func:`run_order`).
    With a ``stop_rule``, the instruction pass follows the first look's runs
    (so the counts are known when the first look decides) and a benchmark
    decided at a look gets no more runs.  Failed benchmarks (raised, crashed,
    timed out) are recorded with their error and the rest go on; the returned
    result says which failed.  Where the wall time went is in
    ``settings["cost"]`` (:mod:`benchwatch.runner.cost`).
    """
    ledger = CostLedger()
    started = time.monotonic()
    if progress is not None:
        progress(PhaseClock(totals={}).report("collect", run=0, runs=settings.runs, benchmark=None))
    collection = collect_benchmarks(repo=repo, settings=settings)
    ledger.phases["collect"] = PhaseCost(elapsed=time.monotonic() - started, processes=1)
    names = collection.names
    command = collection.command(_command(repo, settings))
    memory_runs = settings.runs if settings.memory_runs is None else min(settings.memory_runs, settings.runs)
    memory_runs = memory_runs if settings.memory else 0
    instruction_runs = settings.instructions.runs if settings.instructions is not None else 0
    units = {"timing": settings.runs, "memory": memory_runs, "instructions": instruction_runs}
    clock = PhaseClock(totals={phase: len(names) * runs for phase, runs in units.items() if runs})
    looks = planned_looks(stop_rule.looks, settings.runs) if stop_rule is not None else (settings.runs,)
    state = _Measured(names=names, groups=collection.groups, environment=collect_environment(repo=repo))
    active = list(names)
    seconds_per_run: list[float] = []  # wall seconds of each run, per benchmark measured in it
    for run_index in range(1, settings.runs + 1):
        run_started = time.monotonic()
        _measure_run(
            command=command,
            targets=run_order(active, run_index) if settings.shuffle else active,
            run_index=run_index,
            settings=settings,
            memory=run_index <= memory_runs,
            clock=clock,
            ledger=ledger,
            progress=progress,
            state=state,
        )
        seconds_per_run.append((time.monotonic() - run_started) / max(1, len(active)))
        if state.counted is None and run_index >= looks[0]:
            state.counted = _instruction_pass(command, names, settings, clock, ledger, progress)
        if stop_rule is not None and run_index in looks and run_index < settings.runs:
            decided = stop_rule.decided(_result_of(state, collection, settings, ledger, looks))
            active = [name for name in active if name not in decided]
            clock.retotal(units={"timing": settings.runs, "memory": memory_runs}, left=len(active), after=run_index)
            if not active:
                break
            next_look = min(look for look in looks if look > run_index)
            if stop_rule.over_budget(
                elapsed=time.monotonic() - started,
                seconds_per_run=max(seconds_per_run),
                active=len(active),
                runs_to_next_look=next_look - run_index,
            ):
                state.stopped = (
                    f"time budget of {stop_rule.max_seconds:g} s would be passed by the look at {next_look} runs; "
                    f"{len(active)} benchmark(s) left at {run_index} runs"
                )
                break
    if state.counted is None:
        state.counted = _instruction_pass(command, names, settings, clock, ledger, progress)
    return _result_of(state, collection, settings, ledger, looks if stop_rule is not None else None)


@dataclass
class _Measured:
    """What the passes of a run_suites call produced so far."""

    names: list[str]
    groups: dict[str, str | None]
    environment: Environment
    timing: list[PassOutcome] = field(default_factory=list)
    memory: list[PassOutcome] = field(default_factory=list)
    targets: list[frozenset[str]] = field(default_factory=list)
    counted: InstructionOutcome | None = None
    #: Why an adaptive run stopped before every benchmark was decided (its time budget), if it did.
    stopped: str | None = None


def _instruction_pass(
    command: WorkerCommand,
    names: list[str],
    settings: RunSettings,
    clock: PhaseClock,
    ledger: CostLedger,
    progress: Callable[[Progress], None] | None,
) -> InstructionOutcome:
    if settings.instructions is None:
        return InstructionOutcome()
    runs = settings.instructions.runs
    started = time.monotonic()
    clock.begin("instructions")
    if progress is not None:
        progress(clock.report("instructions", run=1, runs=runs, benchmark=None))
    counted = run_instruction_pass(
        command=command,
        names=names,
        settings=settings.instructions,
        on_event=lambda index, event: relay_events(progress, clock, "instructions", index, runs)(event),
    )
    clock.end()
    ledger.add_counted(counted, elapsed=time.monotonic() - started)
    return counted


def _result_of(
    state: _Measured,
    collection: Collection,
    settings: RunSettings,
    ledger: CostLedger,
    looks: tuple[int, ...] | None,
) -> ResultSet:
    counted = state.counted or InstructionOutcome()
    benchmarks, skipped = _assemble(state)
    outcomes = [*state.timing, *state.memory]
    worker_warnings = list(dict.fromkeys([*(w for o in outcomes for w in o.warnings), *counted.warnings]))
    benchmarks = [counted.attach(b) for b in benchmarks]
    if not benchmarks:
        raise InputError(", ".join(settings.suites), f"every benchmark was skipped: {skipped}")
    adaptive: dict[str, Any] = {}
    if looks is not None:
        adaptive = {"looks": list(looks), "planned_looks": len(looks)}
        if state.stopped is not None:
            adaptive["stopped"] = state.stopped
    return ResultSet(
        benchmarks=tuple(benchmarks),
        environment=state.environment,
        source="benchwatch run",
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        settings={
            "runs": settings.runs,
            "timeout": settings.timeout,
            "suites": list(settings.suites),
            "keyword": settings.keyword,
            "pytest_args": list(settings.pytest_args),
            "memory_pass": any(state.memory),
            "memory_fork": settings.memory_fork,
            "order": f"shuffled per run (seed {ORDER_SEED})" if settings.shuffle else "collected",
            **adaptive,
            "skipped": skipped,
            "instruction_pass": counted.settings or None,
            "target_samples": settings.target_samples,
            "sample_budget": settings.sample_budget,
            "not_benchmarks": collection.not_benchmarks_note(),
            "worker_warnings": worker_warnings,
            "cost": ledger.to_dict(),
        },
        count_fingerprint=counted.fingerprint,
    )


def _measure_run(
    *,
    command: WorkerCommand,
    targets: list[str],
    run_index: int,
    settings: RunSettings,
    memory: bool,
    clock: PhaseClock,
    ledger: CostLedger,
    progress: Callable[[Progress], None] | None,
    state: _Measured,
) -> None:
    """The timing pass of one run over ``targets``, followed by its memory pass when ``memory``."""
    state.targets.append(frozenset(targets))
    for phase in ("timing", "memory")[: 2 if memory else 1]:
        if phase == "memory":
            # A benchmark that failed its timed pass has nothing to profile.
            ok = [name for name in targets if state.timing[-1].results.get(name, {}).get("status") == "ok"]
            clock.tick(phase, len(targets) - len(ok))
            if not ok:
                state.memory.append(PassOutcome())
                continue
            targets = ok
        on_event = relay_events(progress, clock, phase, run_index, settings.runs)
        clock.begin(phase)
        if progress is not None:
            progress(clock.report(phase, run=run_index, runs=settings.runs, benchmark=None))
        started = time.monotonic()
        if phase == "timing":
            outcome = run_pass(
                command=command, mode=phase, targets=targets, timeout=settings.timeout, on_event=on_event
            )
        else:
            outcome = run_memory_pass(
                command=command,
                targets=targets,
                timeout=settings.timeout,
                fork=settings.memory_fork,
                capture_dir=settings.capture_dir,
                keep_captures=settings.keep_captures,
                on_event=on_event,
            )
        clock.end()
        ledger.add_pass(phase, outcome, time.monotonic() - started)
        (state.timing if phase == "timing" else state.memory).append(outcome)


def _assemble(state: _Measured) -> tuple[list[BenchmarkResult], dict[str, str]]:
    benchmarks = []
    skipped: dict[str, str] = {}
    for name in state.names:
        runs = []
        for index, timing_pass in enumerate(state.timing):
            if name not in state.targets[index]:
                continue  # decided at an earlier look: not measured in this run
            event = timing_pass.results.get(name)
            if event is None or event["status"] == "skipped":
                skipped[name] = (event or {}).get("error") or "not run"
                continue
            memory_event = state.memory[index].results.get(name) if index < len(state.memory) else None
            runs.append(run_from_events(event, memory_event))
        if name in skipped and not runs:
            continue
        benchmarks.append(BenchmarkResult(name=name, runs=tuple(runs), group=state.groups.get(name)))
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
