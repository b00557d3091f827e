"""``compare-refs``: interleaved, adaptive A/B process runs of two checkouts.

Base and head process runs alternate in the same minutes on the same
machine, in pairs whose order (AB or BA) is drawn at random, so machine
drift and neighbours hit both sides alike.  Runs are added in a fixed look
schedule only for benchmarks still inconclusive (see
:mod:`benchwatch.refs.sequential` for why the error rate holds), until each
has a verdict, the schedule ends, or the time budget would be passed.

Dependencies: by default both trees run in the current interpreter's
environment, with the tree itself (and its ``src/``) first on
``PYTHONPATH`` so the tree's code is what runs; the benchwatch worker
plugin always comes from the running benchwatch.  A separate environment
per ref is the caller's choice of ``python`` per side.
"""

from __future__ import annotations

import hashlib
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import benchwatch
from benchwatch.compare import CompareSettings, Comparison, compare
from benchwatch.environment import collect_environment
from benchwatch.errors import InputError, UsageError
from benchwatch.explain.diff import explain_all
from benchwatch.explain.passes import (
    ExplainSettings,
    explain_reserve,
    explain_targets,
    profile_sides,
    profiles_to_settings,
)
from benchwatch.explain.records import SideProfiles
from benchwatch.model import BenchmarkResult, Environment, ResultSet, Run
from benchwatch.refs.counting_tree import counting_tree, relocated
from benchwatch.refs.sequential import (
    DEFAULT_LOOKS,
    is_decided,
    memory_undecided,
    settings_for_looks,
    stop_note,
    validate_looks,
)
from benchwatch.refs.worktrees import Checkout
from benchwatch.runner.instructions import InstructionOutcome, InstructionSettings, run_instruction_pass
from benchwatch.runner.memory_pass import run_memory_pass
from benchwatch.runner.progress import PhaseClock
from benchwatch.runner.schedule import run_order
from benchwatch.runner.session import (
    DEFAULT_SAMPLE_BUDGET,
    collect,
    empty_collection_problem,
    run_from_events,
    samples_needed,
    sampling_args,
    suite_arguments,
)
from benchwatch.runner.worker import PassOutcome, WorkerCommand, run_pass

#: Every benchmark's memory is measured until the first look (3 runs per side by default).
DEFAULT_MEMORY_RUNS = DEFAULT_LOOKS[0]


@dataclass(frozen=True)
class RefsSettings:
    """How compare-refs measures.  ``max_time`` is the budget in seconds for the whole run.

    ``memory_runs``: runs per side on which every benchmark gets a memray
    pass (0: none at all); later runs get one only for benchmarks whose gated
    memory rows are still undecided (a memory test needs 6-7 runs per side).
    """

    suites: tuple[str, ...] = ("benchmarks",)
    timeout: float = 300.0
    keyword: str | None = None
    pytest_args: tuple[str, ...] = ()
    looks: tuple[int, ...] = DEFAULT_LOOKS
    max_time: float = 900.0
    memory_runs: int = DEFAULT_MEMORY_RUNS
    shard: tuple[int, int] | None = None
    seed: int = 0
    sample_budget: float = DEFAULT_SAMPLE_BUDGET
    base_python: str | None = None
    head_python: str | None = None
    compare: CompareSettings = field(default_factory=CompareSettings)
    #: The Callgrind instruction pass, once per side before the timed looks; None: no pass.
    instructions: InstructionSettings | None = None
    #: Profiling the changed benchmarks after the looks (benchwatch.explain); None: off.
    explain: ExplainSettings | None = None
    #: The memory pass forks a child per benchmark from a warm worker (runner/memory_pass.py).
    memory_fork: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "looks", validate_looks(self.looks))
        if self.max_time <= 0:
            raise UsageError(f"max-time must be positive, got {self.max_time}")
        if self.shard is not None:
            index, count = self.shard
            if count < 1 or not 1 <= index <= count:
                raise UsageError(f"shard must be i/n with 1 ≤ i ≤ n, got {index}/{count}")


@dataclass(frozen=True)
class RefsProgress:
    """Live state for a terminal: which side runs what, runs so far, verdicts so far."""

    side: str
    look: int
    looks: int
    benchmark: str | None
    runs_per_side: int
    verdicts: Mapping[str, int]
    undecided: int
    elapsed_seconds: float
    remaining_seconds: float | None
    #: "looks" (timed runs), or "instructions" (the Callgrind pass before them, both sides):
    #: then ``benchmark`` just finished with ``last_status`` (None when the pass starts),
    #: and the pass's own counts and time left are given.
    phase: str = "looks"
    last_status: str | None = None
    phase_done: int = 0
    phase_total: int = 0
    phase_remaining_seconds: float | None = None


@dataclass(frozen=True)
class RefsOutcome:
    """The measured sides and their comparison.

    ``nothing_measured`` names the sides ("base", "head") on which every
    benchmark failed every run: the comparison then judges nothing, and the
    CLI must not report a pass.  ``not_benchmarks`` holds each side's note on
    collected tests that are not benchmarks.
    """

    base: ResultSet
    head: ResultSet
    comparison: Comparison
    looks_done: int
    stop_reason: str
    nothing_measured: tuple[str, ...] = ()
    not_benchmarks: Mapping[str, str] = field(default_factory=dict)
    #: Seconds the explanation's profiling took, and the whole run's (its cost, see docs/explain.md).
    explain_seconds: float = 0.0
    total_seconds: float = 0.0


def shard_of(name: str, count: int) -> int:
    """The 1-based shard a benchmark belongs to: a stable hash, so shards stay put as suites grow."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def worker_environment(tree: Path, base_env: Mapping[str, str], shim: Path) -> dict[str, str]:
    """Environment for a worker in ``tree``: benchwatch shim, then the tree, then its src/."""
    paths = [str(shim), str(tree)]
    if (tree / "src").is_dir():
        paths.append(str(tree / "src"))
    existing = base_env.get("PYTHONPATH")
    if existing:
        paths.append(existing)
    env = dict(base_env)
    env["PYTHONPATH"] = ":".join(paths)
    return env


def make_benchwatch_shim(directory: Path) -> Path:
    """A directory whose only entry is the running benchwatch package.

    Put first on PYTHONPATH, it makes workers in any tree load this
    benchwatch's worker plugin, even when the tree has its own (older)
    benchwatch or none.
    """
    directory.mkdir(parents=True, exist_ok=True)
    link = directory / "benchwatch"
    target = Path(benchwatch.__file__).resolve().parent
    if link.is_symlink() and link.resolve() == target:
        return directory
    # Made aside and renamed over: two runs at once each see a whole link, never a missing one.
    temporary = directory / f".benchwatch-{os.getpid()}"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(target, target_is_directory=True)
    os.replace(temporary, link)
    return directory


@dataclass
class _Side:
    label: str
    checkout: Checkout
    command: WorkerCommand
    names: list[str]
    groups: dict[str, str | None]
    environment: Environment
    not_benchmarks: str | None = None
    runs: dict[str, list[Run]] = field(default_factory=dict)
    counted: InstructionOutcome = field(default_factory=InstructionOutcome)
    profiles: dict[str, SideProfiles] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def compare_refs(
    *,
    base: Checkout,
    head: Checkout,
    settings: RefsSettings,
    python: str,
    base_env: Mapping[str, str],
    cache_dir: Path,
    progress: Callable[[RefsProgress], None] | None = None,
) -> RefsOutcome:
    """Measure ``base`` and ``head`` interleaved and adaptively; compare them."""
    started = time.monotonic()
    sides = _prepare_sides(base, head, settings, python, base_env, cache_dir)
    if settings.instructions is not None:
        _count_sides(sides, settings, progress, started)
    rng = random.Random(settings.seed)
    looks = settings.looks
    look_settings = settings_for_looks(settings.compare, len(looks))
    common = [name for name in sides["base"].names if name in set(sides["head"].names)]
    one_sided = {label: [n for n in side.names if n not in set(common)] for label, side in sides.items()}
    undecided = list(common)
    memory_wanted = set(common) if settings.memory_runs > 0 else set()
    verdicts: dict[str, int] = {}
    seconds_per_benchmark_pair: list[float] = []
    done_runs = 0
    comparison = None
    looks_done = 0
    stop_reason = "schedule complete"
    for look_index, target_runs in enumerate(looks, start=1):
        # The budget is checked only between looks, so the data always ends at
        # a planned look and the alpha split of the schedule stays valid.
        pairs_to_go = target_runs - done_runs
        if _over_budget(seconds_per_benchmark_pair, len(undecided), pairs_to_go, started, settings, comparison):
            stop_reason = f"time budget of {settings.max_time:g} s would be passed by look {look_index}"
            break
        while done_runs < target_runs:
            pair_started = time.monotonic()
            order = ["base", "head"] if rng.random() < 0.5 else ["head", "base"]
            for label in order:
                side = sides[label]
                targets = undecided + (one_sided[label] if done_runs == 0 else [])
                relay = _relay(
                    progress,
                    label,
                    look_index,
                    len(looks),
                    done_runs + 1,
                    verdicts,
                    len(undecided),
                    started,
                    settings.max_time,
                )
                memory = targets if done_runs < settings.memory_runs else [t for t in targets if t in memory_wanted]
                _measure(side, run_order(targets, done_runs + 1), settings, memory_targets=memory, on_event=relay)
            done_runs += 1
            seconds_per_benchmark_pair.append((time.monotonic() - pair_started) / max(1, len(undecided)))
        looks_done = look_index
        comparison = compare(
            _result(sides["base"], settings, looks), _result(sides["head"], settings, looks), look_settings
        )
        decided = {b.name for b in comparison.benchmarks if is_decided(b, look_settings.gating_metrics)}
        undecided = [name for name in undecided if name not in decided]
        memory_wanted = {b.name for b in comparison.benchmarks if memory_undecided(b)} if memory_wanted else set()
        verdicts = _verdict_counts(comparison)
        early_stop = _early_stop(sides, undecided, comparison, look_settings)
        if early_stop is not None:
            stop_reason = early_stop
            break
    comparison, explain_seconds = _explain(sides, comparison, settings, started)
    outcome = _outcome(sides, settings, looks, comparison, look_settings)
    return replace(
        outcome,
        looks_done=looks_done,
        stop_reason=stop_reason,
        explain_seconds=explain_seconds,
        total_seconds=time.monotonic() - started,
    )


def _outcome(
    sides: dict[str, _Side],
    settings: RefsSettings,
    looks: tuple[int, ...],
    comparison: Comparison | None,
    look_settings: CompareSettings,
) -> RefsOutcome:
    """The sides' results and their comparison (made here when no look was completed)."""
    base_result = _result(sides["base"], settings, looks)
    head_result = _result(sides["head"], settings, looks)
    return RefsOutcome(
        base=base_result,
        head=head_result,
        comparison=comparison or compare(base_result, head_result, look_settings),
        looks_done=0,
        stop_reason="",
        nothing_measured=_nothing_measured(sides),
        not_benchmarks={label: side.not_benchmarks for label, side in sides.items() if side.not_benchmarks},
    )


def _explain(
    sides: Mapping[str, _Side], comparison: Comparison | None, settings: RefsSettings, started: float
) -> tuple[Comparison | None, float]:
    """The comparison with the functions behind its changes, profiled in what is left of the time budget;
    and the seconds that took."""
    explain_started = time.monotonic()
    if settings.explain is None or comparison is None:
        return comparison, 0.0
    targets = explain_targets(comparison, settings.explain)
    names = [name for name in targets if all(name in side.names for side in sides.values())]
    if not names:
        return comparison, 0.0
    profiles = profile_sides(
        commands={label: side.command for label, side in sides.items()},
        names=names,
        settings=settings.explain,
        deadline=started + settings.max_time,
    )
    for label, side in sides.items():
        side.profiles = profiles[label]
    explained = replace(comparison, explanations=explain_all(targets, profiles["base"], profiles["head"]))
    return explained, time.monotonic() - explain_started


def _over_budget(
    seconds_per_benchmark_pair: list[float],
    undecided: int,
    pairs_to_go: int,
    started: float,
    settings: RefsSettings,
    comparison: Comparison | None = None,
) -> bool:
    """Whether the next look's runs, at the slowest pace seen so far, would pass the time budget
    (less what explaining the changes of ``comparison``, the last look's, will take)."""
    if not seconds_per_benchmark_pair:
        return False
    reserve = explain_reserve(comparison, settings.explain, settings.max_time) if comparison is not None else 0.0
    per_pair = max(seconds_per_benchmark_pair) * undecided
    return time.monotonic() - started + per_pair * pairs_to_go > settings.max_time - reserve


def _early_stop(
    sides: Mapping[str, _Side], undecided: list[str], comparison: Comparison, settings: CompareSettings
) -> str | None:
    """Why the schedule ends before its last look, or None to go on."""
    failed_sides = _nothing_measured(sides)
    if failed_sides:
        # More runs of a side whose every benchmark fails cannot produce a verdict.
        return f"nothing measured: every benchmark of {' and '.join(failed_sides)} failed"
    return None if undecided else stop_note(comparison.benchmarks, settings.gating_metrics)


def _nothing_measured(sides: Mapping[str, _Side]) -> tuple[str, ...]:
    """The sides with runs, none of which succeeded."""
    return tuple(
        label
        for label, side in sides.items()
        if side.runs and not any(run.ok for runs in side.runs.values() for run in runs)
    )


def _prepare_sides(
    base: Checkout, head: Checkout, settings: RefsSettings, python: str, base_env: Mapping[str, str], cache_dir: Path
) -> dict[str, _Side]:
    shim = make_benchwatch_shim(cache_dir / "shim")
    sides = {
        "base": _prepare_side("base", base, settings, settings.base_python or python, base_env, shim),
        "head": _prepare_side("head", head, settings, settings.head_python or python, base_env, shim),
    }
    return sides


def _count_sides(
    sides: Mapping[str, _Side],
    settings: RefsSettings,
    progress: Callable[[RefsProgress], None] | None,
    started: float,
) -> None:
    """The instruction pass of each side, before the looks (counts depend on neither load nor order)."""
    assert settings.instructions is not None
    total = sum(len(side.names) for side in sides.values()) * settings.instructions.runs
    clock = PhaseClock(totals={"instructions": total})
    clock.begin("instructions")

    def report(label: str, run: int, name: str | None, status: str | None) -> None:
        if progress is None:
            return
        elapsed = time.monotonic() - started
        progress(
            RefsProgress(
                side=label,
                look=0,
                looks=len(settings.looks),
                benchmark=name,
                runs_per_side=run,
                verdicts={},
                undecided=len(sides[label].names),
                elapsed_seconds=elapsed,
                remaining_seconds=max(0.0, settings.max_time - elapsed),
                phase="instructions",
                last_status=status,
                phase_done=clock.done.get("instructions", 0),
                phase_total=total,
                phase_remaining_seconds=clock.phase_remaining("instructions"),
            )
        )

    for label, side in sides.items():

        def relay(run: int, event: dict[str, Any], label: str = label) -> None:
            if event.get("event") == "result":
                clock.tick("instructions")
                report(label, run, event["name"], event.get("status"))

        report(label, 1, None, None)
        # Per-ref environments install the project from its own tree: there the tree is counted in place.
        with counting_tree(side.checkout.path, copy=settings.base_python is None) as fixed:
            side.counted = run_instruction_pass(
                command=relocated(side.command, side.checkout.path, fixed),
                names=side.names,
                settings=settings.instructions,
                on_event=relay,
            )
    clock.end()


def _prepare_side(
    label: str, checkout: Checkout, settings: RefsSettings, python: str, base_env: Mapping[str, str], shim: Path
) -> _Side:
    where = f"{checkout.label} ({checkout.commit[:12]})"
    suites = suite_arguments(checkout.path, settings.suites, where=where)
    args = list(settings.pytest_args)
    if settings.keyword:
        args += ["-k", settings.keyword]
    args += sampling_args(samples_needed(settings.compare.gating_metrics), settings.sample_budget, given=args)
    command = WorkerCommand(
        python=python, cwd=checkout.path, pytest_args=tuple(args), env=worker_environment(checkout.path, base_env, shim)
    )
    collection = collect(command=command, suites=suites, timeout=settings.timeout, where=where)
    names = collection.names
    if settings.shard is not None:
        index, count = settings.shard
        names = [name for name in names if shard_of(name, count) == index]
    if not collection.benchmarks:
        raise InputError(where, empty_collection_problem(collection, settings.keyword))
    # Fingerprinted once, as `benchwatch run` does, not again at every look.
    environment = replace(collect_environment(repo=checkout.path), git_commit=checkout.commit, git_dirty=checkout.dirty)
    return _Side(
        label=label,
        checkout=checkout,
        command=collection.command(command),
        names=names,
        groups=collection.groups,
        environment=environment,
        not_benchmarks=collection.not_benchmarks_note(),
    )


def _measure(
    side: _Side,
    targets: list[str],
    settings: RefsSettings,
    *,
    memory_targets: list[str],
    on_event: Callable[[dict[str, Any]], None],
) -> None:
    if not targets:
        return
    timing = run_pass(command=side.command, mode="timing", targets=targets, timeout=settings.timeout, on_event=on_event)
    memory = PassOutcome()
    if memory_targets:
        ok = [name for name in memory_targets if timing.results.get(name, {}).get("status") == "ok"]
        if ok:
            memory = run_memory_pass(
                command=side.command, targets=ok, timeout=settings.timeout, fork=settings.memory_fork
            )
    for warning in [*timing.warnings, *memory.warnings]:
        if warning not in side.warnings:
            side.warnings.append(warning)
    for name in targets:
        event = timing.results.get(name)
        if event is None or event["status"] == "skipped":
            continue
        side.runs.setdefault(name, []).append(run_from_events(event, memory.results.get(name)))


def _result(side: _Side, settings: RefsSettings, looks: tuple[int, ...]) -> ResultSet:
    benchmarks = tuple(
        BenchmarkResult(
            name=name,
            runs=tuple(side.runs[name]),
            group=side.groups.get(name),
            instruction_runs=tuple(side.counted.runs.get(name, ())),
            executed_packages=side.counted.executed.get(name),
        )
        for name in side.names
        if side.runs.get(name)
    )
    if not benchmarks:
        raise InputError(
            f"{side.checkout.label} ({side.checkout.commit[:12]})", "no benchmark produced a run (empty benchmark list)"
        )
    return ResultSet(
        benchmarks=benchmarks,
        environment=side.environment,
        source="benchwatch compare-refs",
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        settings={
            "side": side.label,
            "ref": side.checkout.label,
            "suites": list(settings.suites),
            "keyword": settings.keyword,
            "pytest_args": list(settings.pytest_args),
            "shard": list(settings.shard) if settings.shard else None,
            # compare re-applies the same alpha split so re-rendering gives the same verdicts.
            "planned_looks": len(looks),
            "looks": list(looks),
            "instruction_pass": side.counted.settings or None,
            **({"profiles": profiles_to_settings(side.profiles)} if side.profiles else {}),
            "worker_warnings": [*side.warnings, *(w for w in side.counted.warnings if w not in side.warnings)],
        },
        count_fingerprint=side.counted.fingerprint,
    )


def _verdict_counts(comparison: Comparison) -> dict[str, int]:
    counts: dict[str, int] = {}
    for metric in comparison.gated():
        counts[metric.verdict] = counts.get(metric.verdict, 0) + 1
    return counts


def _relay(
    progress: Callable[[RefsProgress], None] | None,
    side: str,
    look: int,
    looks: int,
    runs: int,
    verdicts: Mapping[str, int],
    undecided: int,
    started: float,
    budget: float,
):
    def relay(event: dict[str, Any]) -> None:
        if progress is None or event.get("event") != "start":
            return
        elapsed = time.monotonic() - started
        progress(
            RefsProgress(
                side=side,
                look=look,
                looks=looks,
                benchmark=event["name"],
                runs_per_side=runs,
                verdicts=dict(verdicts),
                undecided=undecided,
                elapsed_seconds=elapsed,
                remaining_seconds=max(0.0, budget - elapsed),
            )
        )

    return relay
