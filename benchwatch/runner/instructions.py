"""The instruction pass: each benchmark's instructions per call, counted under Valgrind's Callgrind.

Wall time on a shared machine moves 15-35% between processes; the number of
instructions a call executes does not move with load or machine speed.  Each
benchmark is counted in ``runs`` processes **of its own**, each under::

    setarch -R valgrind --tool=callgrind --instr-atstart=no --vgdb=no python -m pytest ...

By default each of those processes is a child forked from a warm parent that
started under Callgrind once (:mod:`benchwatch.runner.warm_counts`); with
``warm_parent=False`` each is a fresh worker given one benchmark.

with ``PYTHONHASHSEED=0``: nothing is counted until the worker switches
instrumentation on around the benchmarked call
(:mod:`benchwatch.runner.callgrind`), after warm-up calls, a garbage
collection and ``gc.freeze()``.

Why one process per benchmark: in a shared worker a benchmark's count
depends on what ran before it (allocator free lists, the objects a full
collection walks): counting ``-k`` a subset gave one benchmark 3.4% fewer
instructions than the full suite did.  Every process of a pass gets the same
environment, working directory and argument lengths (no process id in any
path), so heap layouts match too.  Counts do not depend on load, so the
processes run ``parallel`` at a time.

Several calls per run and at least two runs let nondeterminism show
wherever it exists; when a benchmark's first runs disagree by more than
``agree`` the pass adds runs (up to ``max_runs``), so that the run-level
test of :mod:`benchwatch.stats.instructions` has runs to work with.

What counts capture and miss: every instruction the calling thread (and,
serialised by Valgrind, the process's other threads) executed; not time spent
waiting on I/O, sleeping or on locks, nor the cost of cache misses (see the
estimated cycles, with ``cache_sim``), nor work done in other processes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from benchwatch.errors import UsageError
from benchwatch.model import BenchmarkResult, InstructionRun
from benchwatch.runner.scratch import fixed_directory, waited_note
from benchwatch.runner.warm_counts import OUT_PATTERN, RoundOutcome, count_round
from benchwatch.runner.worker import PassOutcome, WorkerCommand, run_pass

#: Hash randomisation makes sets and dicts of strings iterate differently in
#: each process; a fixed seed makes their work the same in every run.
HASH_SEED = "0"
VERSION_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class InstructionSettings:
    """How the instruction pass counts.

    ``valgrind`` is the path of the valgrind executable, or None when it is
    missing (the pass is then skipped, with a note saying so).
    ``counted_calls`` calls are counted per benchmark and run after
    ``warmup_calls`` uncounted ones; ``cache_sim`` adds Callgrind's cache
    simulation (about twice as slow) for estimated cycles; ``timeout`` bounds
    each benchmark per run (its set-up under Valgrind included);
    ``parallel`` processes share the CPUs at once.  A benchmark whose first
    ``runs`` per-run counts differ by more than ``agree`` (relative spread)
    gets more runs, up to ``max_runs``; ``agree_per_benchmark`` overrides
    ``agree`` for the benchmarks it names (half of their own thresholds).
    """

    valgrind: str | None
    runs: int = 2
    counted_calls: int = 1
    warmup_calls: int = 2
    parallel: int = field(default_factory=lambda: os.cpu_count() or 1)
    cache_sim: bool = False
    timeout: float = 300.0
    setarch: str | None = "setarch"
    max_runs: int = 6
    agree: float = 0.005
    agree_per_benchmark: Mapping[str, float] = field(default_factory=dict)
    #: Environment variables the counted workers keep (``instruction_env`` in [tool.benchwatch]);
    #: every other one is left out or given a fixed value (:func:`counting_environment`).
    keep_env: tuple[str, ...] = ()
    #: Fork each run from a warm parent (:mod:`benchwatch.runner.warm_counts`); False: a fresh
    #: Callgrind worker per benchmark and run, for suites whose fixtures do not survive a fork.
    warm_parent: bool = True

    def __post_init__(self) -> None:
        if self.runs < 1:
            raise UsageError(f"instruction runs must be at least 1, got {self.runs}")
        if self.counted_calls < 1:
            raise UsageError(f"counted calls must be at least 1, got {self.counted_calls}")
        if self.warmup_calls < 0:
            raise UsageError(f"warm-up calls must not be negative, got {self.warmup_calls}")
        if self.timeout <= 0:
            raise UsageError(f"timeout must be positive, got {self.timeout}")
        if self.max_runs < self.runs:
            object.__setattr__(self, "max_runs", self.runs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "max_runs": self.max_runs,
            "agree": self.agree,
            **({"agree_per_benchmark": dict(self.agree_per_benchmark)} if self.agree_per_benchmark else {}),
            "counted_calls": self.counted_calls,
            "warmup_calls": self.warmup_calls,
            "cache_sim": self.cache_sim,
            "timeout": self.timeout,
            "isolated": True,
            "warm_parent": self.warm_parent,
            **({"keep_env": list(self.keep_env)} if self.keep_env else {}),
        }


@dataclass
class InstructionOutcome:
    """Per benchmark its instruction runs and executed packages; the count fingerprint; how the pass ran.

    ``executed`` holds, per benchmark, the distributions (name -> version)
    whose code its call executed, traced in its first run
    (:mod:`benchwatch.runner.executed`); absent when that run did not record them.
    """

    runs: dict[str, list[InstructionRun]] = field(default_factory=dict)
    executed: dict[str, dict[str, str]] = field(default_factory=dict)
    fingerprint: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def attach(self, benchmark: BenchmarkResult) -> BenchmarkResult:
        """``benchmark`` with its instruction runs and executed packages from this pass."""
        return replace(
            benchmark,
            instruction_runs=tuple(self.runs.get(benchmark.name, ())),
            executed_packages=self.executed.get(benchmark.name),
        )

    #: Worker seconds per benchmark (its runs summed) and the number of workers: the pass's cost.
    seconds_of: dict[str, float] = field(default_factory=dict)
    processes: int = 0
    #: Warm parents: their seconds outside any child (start-up, collection), and the children forked.
    startup_seconds: float = 0.0
    children: int = 0


def valgrind_version(valgrind: str) -> str | None:
    """``valgrind --version`` (e.g. ``valgrind-3.19.0``), None when it cannot run."""
    try:
        completed = subprocess.run(
            [valgrind, "--version"], capture_output=True, text=True, timeout=VERSION_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if completed.returncode != 0:
        return None
    return completed.stdout.strip() or None


def aslr_can_be_disabled(setarch: str | None) -> bool:
    """Whether ``setarch -R`` works here (some containers forbid changing the personality)."""
    if setarch is None:
        return False
    try:
        completed = subprocess.run(
            [setarch, "-R", "true"], capture_output=True, timeout=VERSION_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return completed.returncode == 0


#: The counters' file in each process's private directory.  No ``%p``: a
#: process id of 4 or 5 digits would change the length of a string the worker
#: builds, and with it the heap layout the counted call starts from.
OUT_FILE = "callgrind.out"  # the default of callgrind_command's out_name


#: The counted workers' fixed variables.  Their values (and the other variables' presence) shape
#: the heap the counted call starts from: the same benchmark counted 17,037,898, 17,356,853 and
#: 17,576,820 instructions under three environments (docs/instructions.md).
#: PYTHONDONTWRITEBYTECODE: a counted worker never writes .pyc files, so the first process of a pass does
#: not build a heap the others do not (3.6% apart in a fresh per-ref environment).
FIXED_ENVIRONMENT = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
}
#: Passed through as they are: PYTHONPATH is how compare-refs' workers import each side's tree.
PASSED_ENVIRONMENT = ("PYTHONPATH",)


def counting_environment(
    environment: Mapping[str, str], *, home: Path, keep: Sequence[str] = (), extra: Sequence[tuple[str, str]] = ()
) -> dict[str, str]:
    """The environment of a counted worker: the same on every machine and in every job, whatever runs it.

    A CI job, a developer's shell and pytest each bring their own variables (``GITHUB_*``, ``HOME``,
    ``PYTEST_CURRENT_TEST``); their bytes end up in ``os.environ`` and move the counts of identical
    code.  So only :data:`FIXED_ENVIRONMENT`, ``HOME`` (the run's own directory, one path on every
    side), :data:`PASSED_ENVIRONMENT`, the names in ``keep`` and the explicit ``extra`` pairs remain.
    """
    counted = {**FIXED_ENVIRONMENT, "HOME": str(home)}
    for name in (*PASSED_ENVIRONMENT, *keep):
        if name in environment:
            counted[name] = environment[name]
    counted.update(dict(extra))
    return counted


def callgrind_command(
    command: WorkerCommand,
    *,
    settings: InstructionSettings,
    valgrind: str,
    out_dir: Path,
    no_aslr: bool,
    trace_packages: bool = True,
    out_name: str = "callgrind.out",
) -> WorkerCommand:
    """``command`` run under Callgrind with instrumentation off at start, hash seed fixed.

    ``trace_packages``: the worker also traces one more call for the packages
    it executes (one run per benchmark is enough; the argument keeps its
    length either way, so the heap layout does not depend on it).
    """
    out_file = out_dir / out_name
    # Absolute: the worker's PATH is the fixed one of counting_environment.
    setarch = shutil.which(settings.setarch or "setarch") or settings.setarch or "setarch"
    prefix = [setarch, "-R"] if no_aslr else []
    # --vgdb=no: no gdb-server FIFOs (vgdb-pipe-*) in $TMPDIR, which a crashing worker would leave behind.
    prefix += [
        valgrind,
        "--tool=callgrind",
        "--instr-atstart=no",
        "--vgdb=no",
        "-q",
        f"--callgrind-out-file={out_file}",
    ]
    if settings.cache_sim:
        prefix.append("--cache-sim=yes")
    worker_args = (
        f"--benchwatch-callgrind-out={out_file}",
        f"--benchwatch-counted-calls={settings.counted_calls}",
        f"--benchwatch-warmup-calls={settings.warmup_calls}",
        f"--benchwatch-trace-packages={int(trace_packages)}",
        # pytest's own numbered pytest-of-<user>/pytest-<N> would differ between processes
        f"--basetemp={out_dir / 'tmp'}",
    )
    environment = counting_environment(
        os.environ if command.env is None else command.env,
        home=out_dir,
        keep=settings.keep_env,
        extra=(*command.extra_env, ("PYTHONHASHSEED", HASH_SEED)),
    )
    return replace(
        command,
        prefix=tuple(prefix),
        pytest_args=worker_args + tuple(command.pytest_args),
        env=environment,
        extra_env=(),
    )


def layout_directory(
    name: str, run_index: int, *, on_wait: Callable[[Path], None] | None = None
) -> contextlib.AbstractContextManager[Path]:
    """The private directory of run ``run_index`` of benchmark ``name``: the same path on every side.

    The worker sees this path (its events and Callgrind files live there).
    With the hash seed fixed, a path's characters still decide how pytest's
    sets and dicts that hold it are laid out, hence the order of allocations
    before the benchmark and the heap the counted call starts from: the same
    regex workload counted 15,248,937 instructions with most random names
    and 15,155,618 with another.  So run k of a benchmark uses one fixed
    name on both sides of a comparison (an identical run counts exactly the
    same), and its runs use different names, so that a benchmark whose count
    depends on the layout shows it as a spread between its runs.  Another
    benchwatch using the name is waited for (:mod:`benchwatch.runner.scratch`).
    """
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]
    return fixed_directory(f"benchwatch-counts-{digest}-{run_index}", on_wait=on_wait)


def run_instruction_pass(
    *,
    command: WorkerCommand,
    names: Sequence[str],
    settings: InstructionSettings,
    on_event: Callable[[int, dict[str, Any]], None] | None = None,
) -> InstructionOutcome:
    """Count each of ``names`` in ``settings.runs`` (up to ``max_runs``) Callgrind processes of its own.

    The processes are children of warm parents (``settings.warm_parent``, where the
    platform can fork) or fresh workers.

    A benchmark that fails, crashes or times out under Valgrind gets a failed
    :class:`InstructionRun` with the reason; the others are not affected.
    Without valgrind or a way to issue client requests no benchmark is
    counted and ``settings["skipped"]`` says why, in one line.
    ``on_event(run_index, event)`` relays the workers' events for progress.
    """
    outcome = InstructionOutcome(runs={name: [] for name in names})
    valgrind = settings.valgrind
    skipped = MISSING_VALGRIND if valgrind is None else client_requests_problem(command)
    if valgrind is None or skipped is not None:
        # One note for the whole pass, not an error per benchmark: the timing runs stand on their own.
        outcome.settings = {**settings.to_dict(), "skipped": f"instruction pass skipped: {skipped}"}
        return outcome
    version = valgrind_version(valgrind)
    no_aslr = aslr_can_be_disabled(settings.setarch)

    def counted(scratch: Path, *, trace_packages: bool = True, out_name: str = OUT_FILE) -> WorkerCommand:
        return callgrind_command(
            command,
            settings=settings,
            valgrind=valgrind,
            out_dir=scratch,
            no_aslr=no_aslr,
            trace_packages=trace_packages,
            out_name=out_name,
        )

    warm = settings.warm_parent and hasattr(os, "fork")
    fingerprint: dict[str, Any] = {}
    packages: dict[str, str] = {}
    jobs = [(name, run) for run in range(1, settings.runs + 1) for name in names]
    while jobs:
        if warm:
            done = count_round(
                jobs,
                command=command,
                settings=settings,
                counted_command=lambda scratch: counted(scratch, out_name=OUT_PATTERN),
                on_event=on_event,
            )
        else:
            done = _fresh_round(jobs, settings, counted, on_event)
        for name, event in done.events:
            _collect(name, event, outcome, fingerprint, packages)
        for name, seconds in done.seconds_of.items():
            outcome.seconds_of[name] = outcome.seconds_of.get(name, 0.0) + seconds
        outcome.warnings.extend(warning for warning in done.warnings if warning not in outcome.warnings)
        outcome.processes += done.parents
        outcome.children += done.children
        outcome.startup_seconds += done.startup_seconds
        jobs = _more_runs(outcome.runs, settings)
    if fingerprint:
        outcome.fingerprint = {**fingerprint, "packages": dict(sorted(packages.items())), "valgrind": version}
        outcome.fingerprint["cache_sim"] = settings.cache_sim
        # Children of warm parents start from another state than fresh workers: not comparable.
        outcome.fingerprint["count_workers"] = "warm" if warm else "fresh"
    outcome.settings = {**settings.to_dict(), "aslr_disabled": no_aslr, "hash_seed": HASH_SEED}
    outcome.settings["warm_parent"] = warm
    return outcome


def _fresh_round(
    jobs: Sequence[tuple[str, int]],
    settings: InstructionSettings,
    counted: Callable[..., WorkerCommand],
    on_event: Callable[[int, dict[str, Any]], None] | None,
) -> RoundOutcome:
    """Each job in a fresh Callgrind worker of its own (the pass before warm parents)."""
    lock = threading.Lock()

    def one_process(job: tuple[str, int]) -> tuple[str, PassOutcome]:
        name, run_index = job

        def relay(event: dict[str, Any]) -> None:
            if on_event is not None:
                with lock:
                    on_event(run_index, event)

        waited: list[Path] = []
        with layout_directory(name, run_index, on_wait=waited.append) as scratch:
            result = run_pass(
                command=counted(scratch, trace_packages=run_index == 1),
                mode="instructions",
                targets=[name],
                timeout=settings.timeout,
                on_event=relay,
                scratch_dir=scratch,
            )
        result.warnings.extend(waited_note(path) for path in waited)
        return name, result

    done = RoundOutcome()
    # Counts do not depend on what else runs, so the processes share the CPUs:
    # the pass takes about 1/parallel of the time (Callgrind is ~50x native).
    for name, result in run_apart(jobs, one_process, parallel=settings.parallel):
        done.events.append((name, result.results.get(name)))
        done.warnings.extend(warning for warning in result.warnings if warning not in done.warnings)
        done.seconds_of[name] = done.seconds_of.get(name, 0.0) + result.worker_seconds
        done.parents += result.workers
    return done


PROBE = "from benchwatch.runner.client_requests import main; raise SystemExit(main())"
MISSING_VALGRIND = "valgrind not found on PATH (install the Debian package valgrind)"


def client_requests_problem(command: WorkerCommand) -> str | None:
    """Why the workers of ``command`` cannot switch Callgrind on and off (None: they can).

    Asked once of the workers' own interpreter, in their environment, before
    any benchmark is counted.
    """
    env = command.env
    if command.extra_env:
        env = {**(os.environ if env is None else env), **dict(command.extra_env)}
    try:
        completed = subprocess.run(
            [command.python, "-P", "-c", PROBE],  # -P: the interpreter, not a same-named folder in cwd
            cwd=command.cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"cannot run the workers' interpreter {command.python}: {error}"
    if completed.returncode == 0:
        return None
    lines = (completed.stdout + completed.stderr).strip().splitlines()
    reason = next((line for line in lines if line.startswith("unavailable: ")), lines[-1] if lines else "")
    return reason.removeprefix("unavailable: ") or f"{command.python} cannot load the client requests"


_Result = TypeVar("_Result")


def run_apart(
    jobs: Sequence[tuple[str, int]], work: Callable[[tuple[str, int]], _Result], *, parallel: int
) -> list[_Result]:
    """``work(job)`` for each ``(name, run)`` job, ``parallel`` at a time, in the order of ``jobs``.

    Two runs of one benchmark never run at the same time.  A benchmark whose
    fixtures take a fixed resource (our sync server's port, a file of a fixed
    name) gets it in every run; two of its runs side by side would make one
    of them fall back to another, and that run would count differently
    (``test_dedup_overlapping_pages``: 5,466,598 instructions on its own
    port, 5,490,183 on an ephemeral one).
    """
    results: dict[tuple[str, int], _Result] = {}
    pending = list(jobs)
    running: dict[Future[_Result], tuple[str, int]] = {}
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        while pending or running:
            busy = {name for name, _ in running.values()}
            for job in list(pending):
                if len(running) >= max(1, parallel):
                    break
                if job[0] not in busy:
                    pending.remove(job)
                    busy.add(job[0])
                    running[pool.submit(work, job)] = job
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                results[running.pop(future)] = future.result()
    return [results[job] for job in jobs]


def _more_runs(runs: Mapping[str, list[InstructionRun]], settings: InstructionSettings) -> list[tuple[str, int]]:
    """One more run for each benchmark whose runs so far disagree by more than ``agree``.

    Counts that vary between processes (threads, timing-dependent paths) are
    judged by the run-level test, which needs more than two runs per side to
    see a change of a few percent; deterministic counts need no more.
    """
    jobs = []
    for name, done in runs.items():
        counts = [run.statistic("instructions") for run in done if run.ok and run.instructions]
        if len(done) >= settings.max_runs or len(counts) < 2 or len(counts) < len(done):
            continue
        low, high = min(counts), max(counts)
        if high > low * (1 + settings.agree_per_benchmark.get(name, settings.agree)):
            jobs.append((name, len(done) + 1))
    return jobs


def _collect(
    name: str,
    event: Mapping[str, Any] | None,
    outcome: InstructionOutcome,
    fingerprint: dict[str, Any],
    packages: dict[str, str],
) -> None:
    runs = outcome.runs[name]
    if event is None or event.get("status") == "skipped":
        return
    if event["status"] != "ok":
        runs.append(InstructionRun(status=event["status"], error=f"instruction pass: {event.get('error')}"))
        return
    cycles = event.get("estimated_cycles")
    runs.append(
        InstructionRun(
            instructions=tuple(int(value) for value in event.get("instructions", ())),
            estimated_cycles=tuple(float(value) for value in cycles) if cycles else None,
        )
    )
    worker_print: Mapping[str, Any] = event.get("count_fingerprint") or {}
    packages.update(worker_print.get("packages", {}))
    executed = event.get("executed_packages")
    if isinstance(executed, Mapping):
        merged = outcome.executed.setdefault(name, {})
        merged.update(executed)
        outcome.executed[name] = dict(sorted(merged.items()))
    for key, value in worker_print.items():
        if key != "packages":
            fingerprint.setdefault(key, value)
