"""Where ``benchwatch run`` spent its wall time: per phase, and per benchmark.

A run of the suite is a collect pass, then per process run a timing worker
(all benchmarks) and, for the runs the memory rule uses, a memory worker per
benchmark, then the instruction pass (Callgrind workers, several at once).
The ledger splits the timing workers' lives into start-up (interpreter,
imports, pytest and plugins, collection: everything before the first
benchmark starts), fixture set-up and tear-down, and the measured call; the
memory and instruction passes are counted whole, with their start-up shown
apart.  Per benchmark it keeps the seconds that can be attributed to that
benchmark alone (set-up, call and tear-down in timing workers; whole worker
lives in the passes that run one benchmark per worker).

The figures go into the result file's ``settings["cost"]`` and the CLI
prints them; ``docs/cost.md`` has the table for our suites.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from benchwatch.runner.worker import PassOutcome

if TYPE_CHECKING:
    from benchwatch.runner.instructions import InstructionOutcome

PHASES = ("collect", "timing", "memory", "instructions")


@dataclass
class PhaseCost:
    """Seconds of one phase: ``elapsed`` on the clock; the rest summed over its workers."""

    elapsed: float = 0.0
    process: float = 0.0
    startup: float = 0.0
    setup: float = 0.0
    call: float = 0.0
    teardown: float = 0.0
    #: Each benchmark's whole pytest protocol: set-up, call, tear-down, and
    #: what the worker does around the call (canary, handing samples over).
    protocol: float = 0.0
    processes: int = 0


class CostLedger:
    """Accumulates :class:`PhaseCost` per phase and seconds per benchmark and phase."""

    def __init__(self) -> None:
        self.phases: dict[str, PhaseCost] = {}
        self.benchmarks: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))

    def add_pass(self, phase: str, outcome: PassOutcome, elapsed: float) -> None:
        cost = self.phases.setdefault(phase, PhaseCost())
        cost.elapsed += elapsed
        cost.process += outcome.worker_seconds
        cost.startup += outcome.startup_seconds
        cost.processes += outcome.workers
        for name, event in outcome.results.items():
            setup = float(event.get("setup_seconds") or 0.0)
            teardown = float(event.get("teardown_seconds") or 0.0)
            protocol = float(event.get("protocol_seconds") or 0.0)
            call = float(event.get("wall_seconds") or max(0.0, protocol - setup - teardown))
            cost.setup += setup
            cost.teardown += teardown
            cost.call += call
            cost.protocol += max(protocol, setup + call + teardown)
            own = outcome.seconds_of.get(name)
            self.benchmarks[name][phase] += own if own is not None else setup + call + teardown

    def add_counted(self, counted: InstructionOutcome, *, elapsed: float) -> None:
        """The instruction pass: its elapsed time and each benchmark's worker seconds (runs summed).

        Warm parents' seconds outside any benchmark's child (paid once per parent) count as start-up.
        """
        cost = self.phases.setdefault("instructions", PhaseCost())
        cost.elapsed += elapsed
        cost.processes += counted.processes
        cost.startup += counted.startup_seconds
        cost.process += counted.startup_seconds
        for name, seconds in counted.seconds_of.items():
            cost.process += seconds
            self.benchmarks[name]["instructions"] += seconds

    def to_dict(self) -> dict[str, Any]:
        phases = {phase: asdict(self.phases[phase]) for phase in PHASES if phase in self.phases}
        return {
            "phases": {phase: {k: round(v, 3) for k, v in cost.items()} for phase, cost in phases.items()},
            "elapsed": round(sum(cost.elapsed for cost in self.phases.values()), 3),
            "benchmarks": {
                name: {phase: round(seconds, 3) for phase, seconds in by_phase.items()}
                for name, by_phase in self.benchmarks.items()
            },
        }


def breakdown(cost: Mapping[str, Any]) -> list[tuple[str, float, str]]:
    """The issue's phases as (label, seconds of wall time, note) rows from a ``to_dict()`` record.

    Timing workers run one at a time, so their parts add up to wall time;
    the memory and instruction passes count their elapsed time.
    """
    phases: Mapping[str, Mapping[str, float]] = cost.get("phases", {})
    empty: Mapping[str, float] = {}
    collect, timing = phases.get("collect", empty), phases.get("timing", empty)
    memory, counted = phases.get("memory", empty), phases.get("instructions", empty)
    rows = [
        (
            "start-up and collection",
            collect.get("elapsed", 0.0) + timing.get("startup", 0.0),
            f"collect pass {collect.get('elapsed', 0.0):.1f} s + {timing.get('processes', 0)} timing workers",
        ),
        ("fixture set-up and tear-down", timing.get("setup", 0.0) + timing.get("teardown", 0.0), "timing workers"),
        ("measured rounds", timing.get("call", 0.0), "timing workers"),
    ]
    around = timing.get("protocol", 0.0) - sum(timing.get(k, 0.0) for k in ("setup", "call", "teardown"))
    rows.append(("around each call", max(0.0, around), "canary, handing the samples over"))
    other = timing.get("elapsed", 0.0) - timing.get("startup", 0.0) - timing.get("protocol", 0.0)
    rows.append(("timing workers, other", max(0.0, other), "session end, exit"))
    if memory:
        rows.append(
            (
                "memory pass",
                memory.get("elapsed", 0.0),
                f"{memory.get('processes', 0)} workers, {memory.get('startup', 0.0):.1f} s of it start-up",
            )
        )
    if counted:
        note = f"{counted.get('processes', 0)} Callgrind workers, {counted.get('process', 0.0):.1f} process-seconds"
        if counted.get("startup"):  # warm parents: their start-up, paid once each
            note += f", {counted['startup']:.1f} s of it start-up"
        rows.append(("instruction pass", counted.get("elapsed", 0.0), note))
    rows.append(("total", float(cost.get("elapsed", 0.0)), ""))
    return rows
