"""The instruction pass: each benchmark's instructions per call, counted under Valgrind's Callgrind.

Wall time on a shared machine moves 15-35% between processes; the number of
instructions a call executes does not move with load or machine speed.  The
pass runs ``runs`` fresh workers, each under::

    setarch -R valgrind --tool=callgrind --instr-atstart=no python -m pytest ...

with ``PYTHONHASHSEED=0``: nothing is counted until the worker switches
instrumentation on around the benchmarked call
(:mod:`benchwatch.runner.callgrind`), after warm-up calls and a garbage
collection.  ``setarch -R`` turns address-space randomisation off (addresses
feed ``id()``-based hashing and allocator paths) where the kernel allows it;
the result's settings say whether it did.  Several calls per run and at
least two runs let nondeterminism show wherever it exists: the comparison
uses the spread it sees (:mod:`benchwatch.stats.instructions`).

What counts capture and miss: every instruction the calling thread (and,
serialised by Valgrind, the process's other threads) executed; not time spent
waiting on I/O, sleeping or on locks, nor the cost of cache misses (see the
estimated cycles, with ``cache_sim``), nor work done in other processes.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from benchwatch.errors import UsageError
from benchwatch.model import InstructionRun
from benchwatch.runner.worker import PassOutcome, WorkerCommand, run_pass

#: Hash randomisation makes sets and dicts of strings iterate differently in
#: each process; a fixed seed makes their work the same in every run.
HASH_SEED = "0"
VERSION_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class InstructionSettings:
    """How the instruction pass counts.

    ``valgrind`` is the path of the valgrind executable, or None when it is
    missing (every benchmark then gets an error saying so).
    ``counted_calls`` calls are counted per benchmark and run after
    ``warmup_calls`` uncounted ones; ``cache_sim`` adds Callgrind's cache
    simulation (about twice as slow) for estimated cycles; ``timeout`` bounds
    each benchmark per run (its set-up under Valgrind included);
    ``parallel`` runs share the CPUs at once.
    """

    valgrind: str | None
    runs: int = 2
    counted_calls: int = 2
    warmup_calls: int = 1
    parallel: int = field(default_factory=lambda: os.cpu_count() or 1)
    cache_sim: bool = False
    timeout: float = 300.0
    setarch: str | None = "setarch"

    def __post_init__(self) -> None:
        if self.runs < 1:
            raise UsageError(f"instruction runs must be at least 1, got {self.runs}")
        if self.counted_calls < 1:
            raise UsageError(f"counted calls must be at least 1, got {self.counted_calls}")
        if self.warmup_calls < 0:
            raise UsageError(f"warm-up calls must not be negative, got {self.warmup_calls}")
        if self.timeout <= 0:
            raise UsageError(f"timeout must be positive, got {self.timeout}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "counted_calls": self.counted_calls,
            "warmup_calls": self.warmup_calls,
            "cache_sim": self.cache_sim,
            "timeout": self.timeout,
        }


@dataclass
class InstructionOutcome:
    """Per benchmark its instruction runs; the count fingerprint; how the pass ran."""

    runs: dict[str, list[InstructionRun]] = field(default_factory=dict)
    fingerprint: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


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


def callgrind_command(
    command: WorkerCommand, *, settings: InstructionSettings, valgrind: str, out_dir: Path, no_aslr: bool
) -> WorkerCommand:
    """``command`` run under Callgrind with instrumentation off at start, hash seed fixed."""
    out_file = out_dir / "callgrind.%p"
    prefix = [settings.setarch or "setarch", "-R"] if no_aslr else []
    prefix += [valgrind, "--tool=callgrind", "--instr-atstart=no", "-q", f"--callgrind-out-file={out_file}"]
    if settings.cache_sim:
        prefix.append("--cache-sim=yes")
    worker_args = (
        f"--benchwatch-callgrind-out={out_file}",
        f"--benchwatch-counted-calls={settings.counted_calls}",
        f"--benchwatch-warmup-calls={settings.warmup_calls}",
    )
    return replace(
        command,
        prefix=tuple(prefix),
        pytest_args=worker_args + tuple(command.pytest_args),
        extra_env=(*command.extra_env, ("PYTHONHASHSEED", HASH_SEED)),
    )


def run_instruction_pass(
    *,
    command: WorkerCommand,
    names: Sequence[str],
    settings: InstructionSettings,
    on_event: Callable[[int, dict[str, Any]], None] | None = None,
) -> InstructionOutcome:
    """Count ``names`` in ``settings.runs`` fresh Callgrind workers each.

    A benchmark that fails, crashes or times out under Valgrind gets a failed
    :class:`InstructionRun` with the reason; the others go on in a new worker.
    ``on_event(run_index, event)`` relays the workers' events for progress.
    """
    outcome = InstructionOutcome(runs={name: [] for name in names})
    valgrind = settings.valgrind
    if valgrind is None:
        error = "instruction pass: valgrind not found on PATH (install the Debian package valgrind)"
        for name in names:
            outcome.runs[name].append(InstructionRun(status="error", error=error))
        outcome.settings = {**settings.to_dict(), "error": error}
        return outcome
    version = valgrind_version(valgrind)
    no_aslr = aslr_can_be_disabled(settings.setarch)
    lock = threading.Lock()

    def one_run(run_index: int) -> PassOutcome:
        def relay(event: dict[str, Any]) -> None:
            if on_event is not None:
                with lock:
                    on_event(run_index, event)

        with tempfile.TemporaryDirectory(prefix="benchwatch-callgrind-") as scratch:
            counted = callgrind_command(
                command, settings=settings, valgrind=valgrind, out_dir=Path(scratch), no_aslr=no_aslr
            )
            return run_pass(
                command=counted, mode="instructions", targets=list(names), timeout=settings.timeout, on_event=relay
            )

    # Counts do not depend on what else runs, so the runs share the CPUs: the
    # pass takes about 1/parallel of the time (Callgrind is ~100x native).
    with ThreadPoolExecutor(max_workers=max(1, min(settings.runs, settings.parallel))) as pool:
        results = list(pool.map(one_run, range(1, settings.runs + 1)))
    fingerprint: dict[str, Any] = {}
    packages: dict[str, str] = {}
    for result in results:
        _collect(result, outcome, fingerprint, packages)
    if fingerprint:
        outcome.fingerprint = {**fingerprint, "packages": dict(sorted(packages.items())), "valgrind": version}
        outcome.fingerprint["cache_sim"] = settings.cache_sim
    outcome.settings = {**settings.to_dict(), "aslr_disabled": no_aslr, "hash_seed": HASH_SEED}
    return outcome


def _collect(
    result: PassOutcome, outcome: InstructionOutcome, fingerprint: dict[str, Any], packages: dict[str, str]
) -> None:
    for name, runs in outcome.runs.items():
        event = result.results.get(name)
        if event is None or event.get("status") == "skipped":
            continue
        if event["status"] != "ok":
            runs.append(InstructionRun(status=event["status"], error=f"instruction pass: {event.get('error')}"))
            continue
        cycles = event.get("estimated_cycles")
        runs.append(
            InstructionRun(
                instructions=tuple(int(value) for value in event.get("instructions", ())),
                estimated_cycles=tuple(float(value) for value in cycles) if cycles else None,
            )
        )
        worker_print: Mapping[str, Any] = event.get("count_fingerprint") or {}
        packages.update(worker_print.get("packages", {}))
        for key, value in worker_print.items():
            if key != "packages":
                fingerprint.setdefault(key, value)
