"""Which benchmarks a run measures, in which order, and when a benchmark is done.

Why shuffle: one timing worker measures every benchmark of a run, so a
benchmark's place in the process (after a heavy neighbour, late in a long
process, in a warmer cache) is part of what its samples describe.  A fixed
order would make that place the same in every run, a bias that no number of
runs averages out; a different order in every run turns it into run-to-run
noise, which the process-run statistics already account for.  Benchmarks stay
grouped by file (and by class), so module and class fixtures are still set up
once per run.  The order of a run is a function of its index and a seed, so a
rerun measures in the same orders.

Why stop early: with a baseline to compare with (``run --against``), a
benchmark whose every gated metric already has a verdict at a planned look
gains nothing from more runs; only the undecided ones go on.  The looks are
fixed before any data is seen and the error budget is split over them
(:mod:`benchwatch.refs.sequential`), so stopping early claims no more than a
fixed number of runs would.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from benchwatch.errors import UsageError
from benchwatch.model import ResultSet

#: Orders derive from this and the run's index; recorded in the result's settings.
ORDER_SEED = 0


def _parent(name: str) -> str:
    return name.rsplit("::", 1)[0] if "::" in name else name


def _file(name: str) -> str:
    return name.split("::", 1)[0]


def _grouped(names: Sequence[str], key: Callable[[str], str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(key(name), []).append(name)
    return groups


def run_order(names: Sequence[str], run_index: int, seed: int = ORDER_SEED) -> list[str]:
    """``names`` in the order run ``run_index`` measures them: files, classes and benchmarks shuffled."""
    rng = random.Random(f"benchwatch-order:{seed}:{run_index}")
    ordered: list[str] = []
    files = _grouped(names, _file)
    file_keys = list(files)
    rng.shuffle(file_keys)
    for file_key in file_keys:
        parents = _grouped(files[file_key], _parent)
        parent_keys = list(parents)
        rng.shuffle(parent_keys)
        for parent_key in parent_keys:
            members = list(parents[parent_key])
            rng.shuffle(members)
            ordered.extend(members)
    return ordered


@dataclass(frozen=True)
class StopRule:
    """The planned looks (run counts) and what tells, at a look, which benchmarks are decided.

    ``decided`` gets the result so far (every run of every benchmark) and
    returns the names that need no more runs.
    """

    looks: tuple[int, ...]
    decided: Callable[[ResultSet], frozenset[str]]
    #: Seconds the whole run may take: checked at each look, so the data always ends at a planned look.
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        if not self.looks or self.looks[0] < 2 or list(self.looks) != sorted(set(self.looks)):
            raise UsageError(f"looks must be increasing run counts starting at 2 or more, got {list(self.looks)}")
        if self.max_seconds is not None and self.max_seconds <= 0:
            raise UsageError(f"max-time must be positive, got {self.max_seconds:g}")

    def over_budget(self, *, elapsed: float, seconds_per_run: float, active: int, runs_to_next_look: int) -> bool:
        """Whether the next look's runs, at ``seconds_per_run`` a benchmark, would pass ``max_seconds``."""
        if self.max_seconds is None:
            return False
        return elapsed + seconds_per_run * active * runs_to_next_look > self.max_seconds


def planned_looks(looks: Sequence[int], runs: int) -> tuple[int, ...]:
    """The looks a run of at most ``runs`` runs can reach; the last run is always one."""
    return tuple(sorted({look for look in looks if look < runs} | {runs}))
