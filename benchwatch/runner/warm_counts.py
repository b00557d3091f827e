"""The instruction pass from warm parents: start-up under Callgrind paid once per parent, not per run.

Under Callgrind the interpreter's, pytest's and the suite's start-up runs
about 50x slower than natively, and a fresh worker per benchmark and run paid
it every time: most of the pass (docs/cost.md).  Here one worker per share of
the benchmarks (``parallel`` shares, one per CPU) starts under Callgrind with
counting off, imports and collects once, and forks a child per benchmark and
run (:class:`benchwatch.runner.worker_plugin.ForkEach`).  Valgrind follows
the fork; the child sets up the benchmark's fixtures, switches counting on
around the call and dumps its counters to ``callgrind.out.<its pid>.<n>``
(Callgrind expands ``%p`` again in a forked child), so each child's counts
land in its own files.

Every child starts from the same state: the parent's, after collection.
Two runs of a benchmark thus differ only where the benchmark itself is
nondeterministic, not by what each fresh process happened to do at start-up
(docs/instructions.md has the spread before and after).  A benchmark lives in
one parent, whose children run one after another: two runs of it never run
at the same time (:func:`benchwatch.runner.instructions.run_apart`'s
guarantee, for benchmarks that take a fixed port or file).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchwatch.runner.scratch import fixed_directory, waited_note
from benchwatch.runner.worker import PassOutcome, WorkerCommand, run_pass

if TYPE_CHECKING:
    from benchwatch.runner.instructions import InstructionSettings

#: ``%p``: Callgrind expands it to each forked child's own process id.  The parent's
#: argument has the same length in every pass, so its heap layout does not depend on it.
OUT_PATTERN = "callgrind.out.%p"
#: Seconds past a child's timeout before the runner's watchdog ends its parent.
WATCHDOG_GRACE_SECONDS = 60.0


@dataclass
class RoundOutcome:
    """What a round of warm parents gave: an event (or None) per job, in the jobs' order; their cost."""

    events: list[tuple[str, dict[str, Any] | None]] = field(default_factory=list)
    seconds_of: dict[str, float] = field(default_factory=dict)
    startup_seconds: float = 0.0
    parents: int = 0
    children: int = 0
    warnings: list[str] = field(default_factory=list)


def parents_of(jobs: Sequence[tuple[str, int]], parallel: int) -> list[tuple[list[str], tuple[int, ...]]]:
    """The warm parents for ``jobs``: (benchmarks, runs) each, at most ``parallel`` per set of runs.

    Benchmarks that need the same runs share parents, split into contiguous
    shares of the collection order: an identical suite gets identical
    parents on both sides of a comparison, hence the same starting state.
    """
    runs_of: dict[str, list[int]] = {}
    for name, run in jobs:
        runs_of.setdefault(name, []).append(run)
    by_runs: dict[tuple[int, ...], list[str]] = {}
    for name, its_runs in runs_of.items():
        by_runs.setdefault(tuple(sorted(its_runs)), []).append(name)
    parents = []
    for runs, names in by_runs.items():
        shares = max(1, min(parallel, len(names)))
        size, extra = divmod(len(names), shares)
        start = 0
        for index in range(shares):
            end = start + size + (1 if index < extra else 0)
            parents.append((names[start:end], runs))
            start = end
    return parents


def runs_argument(runs: tuple[int, ...]) -> str:
    """``runs`` for ``--benchwatch-fork-runs``: a range as ``03-03``, so that its length is the same in
    the first round and in the rounds of extra runs (an argument's length shapes the parent's heap)."""
    if runs == tuple(range(runs[0], runs[-1] + 1)) and runs[-1] < 100:
        return f"{runs[0]:02d}-{runs[-1]:02d}"
    return ",".join(str(run) for run in runs)


def parent_directory(
    index: int, *, on_wait: Callable[[Path], None] | None = None
) -> contextlib.AbstractContextManager[Path]:
    """Parent ``index``'s private directory: one fixed path on every side of a comparison.

    The path's characters end up in the parent's heap, so another benchwatch
    using it is waited for (:func:`benchwatch.runner.scratch.fixed_directory`).
    """
    return fixed_directory(f"benchwatch-counts-warm-{index}", on_wait=on_wait)


class _RunEvents:
    """One parent's events sorted by (benchmark, run); a failure the runner reports goes to the run in progress."""

    def __init__(self, relay: Callable[[int, dict[str, Any]], None]) -> None:
        self.relay = relay
        self.found: dict[tuple[str, int], dict[str, Any]] = {}
        self.seconds: dict[tuple[str, int], float] = {}
        self._current: dict[str, tuple[int, float]] = {}

    def __call__(self, event: dict[str, Any]) -> None:
        name, run = event.get("name"), event.get("run")
        if event["event"] == "start" and isinstance(run, int):
            self._current[str(name)] = (run, time.monotonic())
        if event["event"] == "result":
            started = self._current.get(str(name))
            if not isinstance(run, int):
                if started is None:
                    return  # nothing of it started in this parent: see RoundOutcome
                run = started[0]
                event = {**event, "run": run}
            self.found[(str(name), run)] = event
            if started is not None:
                self.seconds[(str(name), run)] = time.monotonic() - started[1]
        if isinstance(run, int):
            self.relay(run, event)


def count_round(
    jobs: Sequence[tuple[str, int]],
    *,
    command: WorkerCommand,
    settings: InstructionSettings,
    counted_command: Callable[[Path], WorkerCommand],
    on_event: Callable[[int, dict[str, Any]], None] | None,
) -> RoundOutcome:
    """Count ``jobs`` ((benchmark, run) pairs) in warm parents, ``settings.parallel`` at a time.

    ``counted_command(directory)`` is ``command`` under Callgrind with its
    files in ``directory``.  A child that crashes or times out fails its
    benchmark's run; a parent that fails before forking (collection error)
    fails every run of its benchmarks.
    """
    lock = threading.Lock()

    def relay(run: int, event: dict[str, Any]) -> None:
        if on_event is not None:
            with lock:
                on_event(run, event)

    parents = parents_of(jobs, settings.parallel)

    def one_parent(index: int) -> tuple[PassOutcome, _RunEvents]:
        names, runs = parents[index]
        events = _RunEvents(relay)
        waited: list[Path] = []
        with parent_directory(index + 1, on_wait=waited.append) as scratch:
            counted = counted_command(scratch)
            forking = (
                "--benchwatch-fork-each",
                f"--benchwatch-fork-runs={runs_argument(runs)}",
                f"--benchwatch-child-timeout={settings.timeout:g}",
            )
            result = run_pass(
                command=replace(counted, pytest_args=(*counted.pytest_args, *forking)),
                mode="instructions",
                targets=names,
                # The parent kills a child at its timeout and goes on; the watchdog is the backstop
                # (the parent's own start-up is not bounded, as for a fresh worker).
                timeout=settings.timeout + WATCHDOG_GRACE_SECONDS,
                on_event=events,
                scratch_dir=scratch,
            )
        result.warnings.extend(waited_note(path) for path in waited)
        return result, events

    outcome = RoundOutcome()
    with ThreadPoolExecutor(max_workers=max(1, min(settings.parallel, len(parents)))) as pool:
        finished = list(pool.map(one_parent, range(len(parents))))
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for result, events in finished:
        found.update(events.found)
        _account(outcome, result, events)
        started = {name for name, _ in events.found}
        for name, event in result.results.items():
            if name in started or event.get("status") == "ok":
                continue
            # The parent failed before forking any child of it: each of its runs fails alike.
            for job in jobs:
                if job[0] == name:
                    found[job] = {**event, "run": job[1]}
                    relay(job[1], found[job])
    outcome.events = [(name, found.get((name, run))) for name, run in jobs]
    return outcome


def _account(outcome: RoundOutcome, result: PassOutcome, events: _RunEvents) -> None:
    children = 0.0
    for (name, _), seconds in events.seconds.items():
        outcome.seconds_of[name] = outcome.seconds_of.get(name, 0.0) + seconds
        children += seconds
    outcome.children += len(events.seconds)
    outcome.parents += result.workers
    # The parents' lives less their children's: start-up, collection and shutdown, paid once per parent.
    outcome.startup_seconds += max(0.0, result.worker_seconds - children)
    outcome.warnings.extend(warning for warning in result.warnings if warning not in outcome.warnings)
