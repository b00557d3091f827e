"""Progress of ``benchwatch run``: what runs, how much is left, and the time left, per phase.

Core code reports through a callback and never prints; the CLI decides how
to show it (one redrawn line on a terminal, plain lines in CI logs).

Why per phase: a process run of the instruction pass (under Callgrind, ~50x
slower) or of the memory pass (a fresh worker per benchmark) costs many
times one benchmark of a timing worker, so a single rate over all units
said "2 minutes left" when the instruction pass still had 20 to go.  Each
phase's time left is its remaining units at its own pace; phases not yet
started are estimated at the pace seen so far.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

PHASE_ORDER = ("collect", "timing", "memory", "instructions")


@dataclass(frozen=True)
class Progress:
    """A progress report: where the run is and how long is left.

    ``done``/``total`` count benchmark runs over all phases, ``phase_done``/
    ``phase_total`` those of ``phase``.  ``benchmark`` is None when a phase
    starts (nothing measured yet); ``last_status`` is set when one finished.
    """

    phase: str  # "collect", "timing", "memory" or "instructions"
    run: int
    runs: int
    benchmark: str | None
    done: int
    total: int
    elapsed_seconds: float
    remaining_seconds: float | None
    last_status: str | None = None
    phase_done: int = 0
    phase_total: int = 0
    phase_remaining_seconds: float | None = None


@dataclass
class PhaseClock:
    """Units (benchmark runs) done and seconds spent per phase; time left from each phase's own pace."""

    totals: Mapping[str, int]
    now: Callable[[], float] = time.monotonic
    started: float = field(default=math.nan)
    done: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    _current: tuple[str, float] | None = None

    def __post_init__(self) -> None:
        if math.isnan(self.started):
            self.started = self.now()

    def begin(self, phase: str) -> None:
        self.end()
        self._current = (phase, self.now())

    def end(self) -> None:
        if self._current is not None:
            phase, since = self._current
            self.seconds[phase] = self.seconds.get(phase, 0.0) + self.now() - since
            self._current = None

    def retotal(self, *, units: Mapping[str, int], left: int, after: int) -> None:
        """Totals once only ``left`` benchmarks go on after run ``after`` (of ``units[phase]`` runs per phase)."""
        totals = dict(self.totals)
        for phase, runs in units.items():
            if phase in totals:
                totals[phase] = self.done.get(phase, 0) + left * max(0, runs - after)
        self.totals = totals

    def tick(self, phase: str, units: int = 1) -> None:
        self.done[phase] = self.done.get(phase, 0) + units

    def spent(self, phase: str) -> float:
        running = self.now() - self._current[1] if self._current and self._current[0] == phase else 0.0
        return self.seconds.get(phase, 0.0) + running

    def phase_remaining(self, phase: str) -> float | None:
        done = self.done.get(phase, 0)
        if done == 0:
            return None
        return self.spent(phase) / done * max(0, self.totals.get(phase, 0) - done)

    def remaining(self) -> float | None:
        measured = [p for p in self.totals if self.done.get(p, 0)]
        if not measured:
            return None
        pace = sum(self.spent(p) for p in measured) / sum(self.done[p] for p in measured)
        left = 0.0
        for phase, total in self.totals.items():
            own = self.phase_remaining(phase)
            left += own if own is not None else pace * max(0, total - self.done.get(phase, 0))
        return left

    def report(
        self, phase: str, *, run: int, runs: int, benchmark: str | None, last_status: str | None = None
    ) -> Progress:
        return Progress(
            phase=phase,
            run=run,
            runs=runs,
            benchmark=benchmark,
            done=sum(self.done.values()),
            total=sum(self.totals.values()),
            elapsed_seconds=self.now() - self.started,
            remaining_seconds=self.remaining(),
            last_status=last_status,
            phase_done=self.done.get(phase, 0),
            phase_total=self.totals.get(phase, 0),
            phase_remaining_seconds=self.phase_remaining(phase),
        )


def relay_events(
    progress: Callable[[Progress], None] | None, clock: PhaseClock, phase: str, run: int, runs: int
) -> Callable[[dict[str, Any]], None]:
    """An ``on_event`` for a pass's workers: ticks the clock on each result, reports starts and results."""

    def relay(event: dict[str, Any]) -> None:
        if event["event"] == "result":
            clock.tick(phase)
        if progress is None or event["event"] not in ("start", "result"):
            return
        status = event.get("status") if event["event"] == "result" else None
        progress(clock.report(phase, run=run, runs=runs, benchmark=event["name"], last_status=status))

    return relay
