"""The memory pass: each benchmark in a process of its own, memray's figures plus the resident-set peak.

memray sees Python and malloc allocations only: a DuckDB query that scans a
million rows showed 78 KB-900 KB there, because DuckDB's buffer manager keeps
its memory out of memray's view.  The resident set (the pages the process
really holds) sees all of it, so each benchmark also gets ``rss_peak_bytes``:
the process's peak resident set while the call ran, above its resident set
right before the call.

Why one fresh process per benchmark: allocators keep freed memory.  In a
shared worker, a benchmark that runs after one that held 500 MB reuses pages
already resident and shows almost no growth; with ``-k`` selecting other
benchmarks its figure would change.  A process of its own makes the figure a
property of the benchmark alone: by default a child forked from a worker that
has imported and collected (no fixture set up, no benchmark run), which
spares a worker start per benchmark and run (docs/cost.md).

The peak is reset right before the call by writing ``5`` to
``/proc/self/clear_refs`` (Linux >= 4.0), after a garbage collection and
``malloc_trim``; where that is not allowed the figure is left out (None).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchwatch.runner.worker import PassOutcome, WorkerCommand, run_pass

_STATUS = Path("/proc/self/status")
_MAPS = Path("/proc/self/maps")
_CLEAR_REFS = Path("/proc/self/clear_refs")
_RESET_PEAK = "5"  # clear_refs: reset the peak resident set size (VmHWM)


def _status_kib() -> dict[str, int]:
    values = {}
    for line in _STATUS.read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


_MADV_POPULATE_READ = 22  # Linux >= 5.14: map a range's pages into the page tables without writing them


def map_file_pages() -> None:
    """Map the pages of every file the process has mapped (its code, its libraries) into its page tables.

    Why: fork does not copy the page tables of file mappings, so a child
    forked from a warm worker starts without the interpreter's and the
    libraries' code pages in its resident set, and the benchmark's call
    faults them back in: +10% of the sync benchmarks' ``peak_rss`` that a
    fresh worker, which touched them while importing, does not show
    (docs/cost.md).  With every file page mapped at the start, the window
    holds what the call allocates and the files it maps anew, in either kind
    of process.  Where the kernel refuses (older than 5.14), nothing is done.
    Called before memray's tracker starts: reading the map allocates, and
    that would be counted as the benchmark's.
    """
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        madvise = libc.madvise
        madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
        for line in _MAPS.read_text().splitlines():
            fields = line.split(maxsplit=5)
            if len(fields) < 6 or not fields[5].startswith("/") or "r" not in fields[1]:
                continue
            start, end = (int(part, 16) for part in fields[0].split("-"))
            madvise(start, end - start, _MADV_POPULATE_READ)


def _trim_malloc() -> None:
    # glibc keeps freed heap pages resident; trimming makes "before" the
    # process's real floor.  Absent elsewhere (musl, macOS): nothing to do.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class ResidentSetWindow:
    """Resident-set peak of a stretch of code above its level at the start (bytes), Linux only."""

    def __init__(self) -> None:
        self.start_kib: int | None = None
        gc.collect()
        _trim_malloc()
        try:
            # A kernel without the reset (< 4.0) or a sandbox refuses the write.
            _CLEAR_REFS.write_text(_RESET_PEAK)
            self.start_kib = _status_kib()["VmRSS"]
        except (OSError, KeyError, ValueError):
            return

    def peak_above_start(self) -> int | None:
        if self.start_kib is None:
            return None
        try:
            peak = _status_kib()["VmHWM"]
        except (OSError, KeyError, ValueError):
            return None
        return max(0, peak - self.start_kib) * 1024


def run_memory_pass(
    *,
    command: WorkerCommand,
    targets: Sequence[str],
    timeout: float,
    fork: bool,
    capture_dir: Path | None = None,
    keep_captures: bool = False,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> PassOutcome:
    """The memory pass of one run: each benchmark in a process of its own.

    ``fork``: one worker imports and collects once and forks a child per
    benchmark (``worker_plugin.ForkEach``), where the platform can fork;
    otherwise a fresh worker per benchmark.
    """
    if fork and hasattr(os, "fork"):
        return run_pass(
            command=replace(command, pytest_args=(*command.pytest_args, "--benchwatch-fork-each")),
            mode="memory",
            targets=targets,
            timeout=timeout,
            capture_dir=capture_dir,
            keep_captures=keep_captures,
            on_event=on_event,
        )
    return run_isolated_pass(
        command=command,
        mode="memory",
        targets=targets,
        timeout=timeout,
        capture_dir=capture_dir,
        keep_captures=keep_captures,
        on_event=on_event,
    )


def run_isolated_pass(
    *,
    command: WorkerCommand,
    mode: str,
    targets: Sequence[str],
    timeout: float,
    capture_dir: Path | None = None,
    keep_captures: bool = False,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> PassOutcome:
    """:func:`run_pass` with each target in a worker of its own."""
    merged = PassOutcome()
    for target in targets:
        outcome = run_pass(
            command=command,
            mode=mode,
            targets=[target],
            timeout=timeout,
            capture_dir=capture_dir,
            keep_captures=keep_captures,
            on_event=on_event,
        )
        merged.results.update(outcome.results)
        merged.worker_failure = merged.worker_failure or outcome.worker_failure
        merged.warnings.extend(warning for warning in outcome.warnings if warning not in merged.warnings)
        merged.worker_seconds += outcome.worker_seconds
        merged.startup_seconds += outcome.startup_seconds
        merged.workers += outcome.workers
        merged.seconds_of[target] = outcome.worker_seconds
    return merged
