"""Running the explanation: profile the changed benchmarks on both sides, in processes of their own.

After the comparison, each benchmark with a gated regression or improvement
(and any the user asked for) is profiled on each side by at most two worker
processes, shared by all those benchmarks: one under cProfile (Python
functions: exact calls, own time) and, when valgrind is present, one under
Callgrind (native functions: exact instructions).  The timing runs are done by
then, so these processes never disturb them.  Each pass is skipped when what
is left of the deadline cannot hold it, and the explanation says so.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchwatch.compare.verdict import Verdict
from benchwatch.errors import InputError, UsageError
from benchwatch.explain.records import Profile, SideProfiles
from benchwatch.runner.instructions import InstructionSettings, aslr_can_be_disabled, callgrind_command
from benchwatch.runner.worker import PassOutcome, WorkerCommand, run_pass

#: A pass is not started with less than this many seconds left of the deadline.
MIN_PYTHON_SECONDS = 10.0
MIN_NATIVE_SECONDS = 30.0
SIDES = ("base", "head")
#: The look schedule leaves this for the explanation (see explain_reserve).
RESERVE_SHARE = 0.2
RESERVE_START_SECONDS = 60.0
RESERVE_SECONDS_PER_BENCHMARK = 20.0


@dataclass(frozen=True)
class ExplainSettings:
    """What to explain and how.

    ``enabled`` False turns it off (``--no-explain``); ``requested`` names
    benchmarks to explain whatever their verdict (``--explain NAME``: the
    full name or a part of it); ``valgrind`` the executable for the native
    profile (None: Python functions only); ``max_benchmarks`` caps how many
    are profiled (the most severe first); ``timeout`` bounds each benchmark
    in each process.
    """

    enabled: bool = True
    requested: tuple[str, ...] = ()
    valgrind: str | None = None
    max_benchmarks: int = 10
    timeout: float = 300.0

    def __post_init__(self) -> None:
        if self.max_benchmarks < 0:
            raise UsageError(f"explain: the number of benchmarks must not be negative, got {self.max_benchmarks}")


def explain_targets(comparison: Any, settings: ExplainSettings) -> dict[str, str]:
    """Benchmark name -> why it is explained: gated regressions, then improvements, then requested ones."""
    if not settings.enabled:
        return {}
    targets: dict[str, str] = {}
    for verdict in (Verdict.REGRESSION, Verdict.IMPROVEMENT):
        # the largest change first, so that max_benchmarks keeps the most severe
        for metric in sorted(comparison.gated(verdict), key=lambda m: -abs(math.log(_finite_ratio(m.ratio)))):
            targets.setdefault(metric.benchmark, verdict)
    names = [benchmark.name for benchmark in comparison.benchmarks if benchmark.status == "compared"]
    for wanted in settings.requested:
        for name in names:
            if wanted == name or wanted in name:
                targets.setdefault(name, "requested")
    return dict(list(targets.items())[: settings.max_benchmarks])


def _finite_ratio(ratio: float | None) -> float:
    return ratio if ratio is not None and math.isfinite(ratio) and ratio > 0 else 1.0


def explain_reserve(comparison: Any, settings: ExplainSettings | None, max_time: float) -> float:
    """Seconds of the budget the timed looks leave for explaining the changes found so far.

    A fixed part for the processes' start (Callgrind's is the slow one) and a
    part per benchmark, at most :data:`RESERVE_SHARE` of the budget, so that
    undecided benchmarks running to the end of the budget do not starve the
    explanation of those already decided.
    """
    if settings is None:
        return 0.0
    targets = explain_targets(comparison, settings)
    if not targets:
        return 0.0
    per_run = RESERVE_START_SECONDS + RESERVE_SECONDS_PER_BENCHMARK * len(targets)
    return min(RESERVE_SHARE * max_time, per_run)


def _profiles_of(outcome: PassOutcome, names: Sequence[str], kind: str) -> dict[str, tuple[Profile | None, str | None]]:
    found: dict[str, tuple[Profile | None, str | None]] = {}
    for name in names:
        event = outcome.results.get(name) or {}
        if event.get("status") == "ok" and event.get("profile"):
            found[name] = (Profile.from_dict(event["profile"]), None)
        else:
            reason = event.get("error") or event.get("status") or "no result"
            found[name] = (None, f"{kind} profile failed: {reason}")
    return found


def _python_pass(command: WorkerCommand, names: Sequence[str], timeout: float) -> PassOutcome:
    return run_pass(command=command, mode="profile", targets=list(names), timeout=timeout)


def _native_pass(command: WorkerCommand, names: Sequence[str], timeout: float, valgrind: str) -> PassOutcome:
    with tempfile.TemporaryDirectory(prefix="benchwatch-explain-") as scratch:
        counted = callgrind_command(
            command,
            settings=InstructionSettings(valgrind=valgrind, counted_calls=1, warmup_calls=1, timeout=timeout),
            valgrind=valgrind,
            out_dir=Path(scratch),
            no_aslr=aslr_can_be_disabled("setarch"),
        )
        return run_pass(
            command=counted, mode="native-profile", targets=list(names), timeout=timeout, scratch_dir=Path(scratch)
        )


def profile_sides(
    *, commands: Mapping[str, WorkerCommand], names: Sequence[str], settings: ExplainSettings, deadline: float
) -> dict[str, dict[str, SideProfiles]]:
    """Per side (``base``, ``head``) per benchmark its profiles, within ``deadline`` (a ``time.monotonic()``)."""
    found: dict[str, dict[str, dict[str, Any]]] = {side: {name: {"errors": []} for name in names} for side in SIDES}
    if names:
        # cProfile's own times: one side at a time, so neither slows the other.
        for side in SIDES:
            left = deadline - time.monotonic()
            if left < MIN_PYTHON_SECONDS:
                _note(found[side], names, f"Python profile skipped: {left:.0f} s left of the time budget")
                continue
            outcome = _python_pass(commands[side], names, min(settings.timeout, left))
            _store(found[side], _profiles_of(outcome, names, "Python"), "python")
        _native_sides(found, commands, names, settings, deadline)
    return {
        side: {
            name: SideProfiles(python=data.get("python"), native=data.get("native"), errors=tuple(data["errors"]))
            for name, data in per_name.items()
        }
        for side, per_name in found.items()
    }


def _native_sides(
    found: dict[str, dict[str, dict[str, Any]]],
    commands: Mapping[str, WorkerCommand],
    names: Sequence[str],
    settings: ExplainSettings,
    deadline: float,
) -> None:
    """Callgrind on both sides at once: instruction counts do not depend on what else runs."""
    valgrind = settings.valgrind
    if valgrind is None:
        for side in SIDES:
            _note(found[side], names, "native profile skipped: valgrind not found")
        return
    with ThreadPoolExecutor(max_workers=len(SIDES)) as pool:
        futures = {
            side: pool.submit(_native_side, commands[side], names, settings, deadline, valgrind) for side in SIDES
        }
        for side, future in futures.items():
            profiles, skipped = future.result()
            _store(found[side], profiles, "native")
            _note(found[side], skipped, "native profile skipped: too little left of the time budget")


def _native_side(
    command: WorkerCommand, names: Sequence[str], settings: ExplainSettings, deadline: float, valgrind: str
) -> tuple[dict[str, tuple[Profile | None, str | None]], list[str]]:
    """One Callgrind process per benchmark, each bounded by what is left of the deadline (its start-up too).

    Not one process for all: a process's timeout bounds each benchmark in it,
    so only a process per benchmark keeps the pass within the deadline.
    """
    found: dict[str, tuple[Profile | None, str | None]] = {}
    for index, name in enumerate(names):
        left = deadline - time.monotonic()
        if left < MIN_NATIVE_SECONDS:
            return found, list(names[index:])
        found.update(
            _profiles_of(_native_pass(command, [name], min(settings.timeout, left), valgrind), [name], "native")
        )
    return found, []


def _store(
    per_name: dict[str, dict[str, Any]], profiles: Mapping[str, tuple[Profile | None, str | None]], kind: str
) -> None:
    for name, (profile, error) in profiles.items():
        if profile is not None:
            per_name[name][kind] = profile
        if error is not None:
            per_name[name]["errors"].append(error)


def _note(per_name: dict[str, dict[str, Any]], names: Sequence[str], note: str) -> None:
    for name in names:
        per_name[name]["errors"].append(note)


def profiles_to_settings(profiles: Mapping[str, SideProfiles]) -> dict[str, Any]:
    """The JSON form a result file's settings carry under ``profiles`` (for ``benchwatch compare``)."""
    return {name: side.to_dict() for name, side in profiles.items()}


def profiles_from_settings(settings: Mapping[str, Any], where: str = "result file") -> dict[str, SideProfiles]:
    """The profiles a result file carries; empty when it carries none.

    Result files can come from anywhere (the action reads an untrusted
    artifact): a malformed entry is an :class:`InputError` naming ``where``.
    """
    data = settings.get("profiles") or {}
    if not isinstance(data, Mapping):
        raise InputError(where, "settings.profiles must be an object of benchmark name -> profiles")
    try:
        return {str(name): SideProfiles.from_dict(value) for name, value in data.items()}
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise InputError(where, f"settings.profiles is malformed ({type(error).__name__}: {error})") from None
