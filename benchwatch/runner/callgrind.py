"""Counting the benchmarked call's instructions under Callgrind, inside the worker.

The worker of the instruction pass runs under ``valgrind --tool=callgrind
--instr-atstart=no``: nothing is counted until a client request switches
instrumentation on, so interpreter start-up, imports, pytest and the
benchmark's fixtures never enter a count.  Around each counted call:

1. ``gc.collect()`` then ``gc.freeze()`` outside the counted region: a
   collection inside the call then depends on that call's own allocations
   only, not on how many objects the fixtures and earlier calls left (a
   full collection would otherwise walk all of them);
2. zero the counters, switch instrumentation on, call, switch it off;
3. dump the counters (Callgrind writes ``<out>.<n>``, ``%p`` in ``<out>``
   expanded to the process id, a forked child's own) and, after the last
   counted call, read each dump's ``totals:`` line back.

Warm-up calls come first, uncounted: CPython's adaptive interpreter
specialises bytecode after a few executions and libraries fill caches on
their first call.  Several calls are counted so that nondeterminism (threads,
hash randomisation) shows within a process as well as between processes.

Client requests come from :mod:`benchwatch.runner.client_requests`: the
small ``valgrind`` module on PyPI where it is installed, else (x86-64 Linux)
the request sequence itself, called through ctypes.  Outside valgrind they
are no-ops.

After the counted calls, one more uncounted call runs traced
(:mod:`benchwatch.runner.executed`): which installed distributions' code the
call executed, so that a comparison can tell a dependency release the call
runs from one it never touches.
"""

from __future__ import annotations

import contextlib
import gc
import os
import platform
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from benchwatch.runner.client_requests import CounterUnavailable, load_requests
from benchwatch.runner.executed import CallTrace, distribution_versions, dump_objects, executed_distributions

#: Estimated cycles from a cache-simulation dump (the weights iai-callgrind
#: and CodSpeed's documentation use): an L1 hit costs 1 cycle, a last-level
#: hit 5, a miss to memory 35.  Not a timing: a rank-preserving cost that
#: also sees cache behaviour, which a bare instruction count misses.
L1_HIT_CYCLES = 1
LL_HIT_CYCLES = 5
RAM_HIT_CYCLES = 35
CACHE_EVENTS = ("Ir", "Dr", "Dw", "I1mr", "D1mr", "D1mw", "ILmr", "DLmr", "DLmw")

#: The version of how benchwatch counts (what is counted around the call, the
#: warm-up and collection before it, the worker's layout).  Counts made under
#: different versions are not comparable: a change in how benchwatch counts must
#: never read as a change in the code.  Files from before this field count as 1;
#: 2: the counted workers run in a fixed environment (runner.instructions.counting_environment).
#: 3: each run is a child forked from a warm parent (runner.warm_counts); dumps are read after the last call.
COUNT_METHOD_VERSION = 3

#: Distributions that run the benchmarks but are not benchmarked code: their
#: versions do not decide whether counts are comparable.
TOOLING_DISTRIBUTIONS = frozenset(
    {
        "pytest",
        "pluggy",
        "iniconfig",
        "packaging",
        "pytest-benchmark",
        "py-cpuinfo",
        "benchwatch",
        "valgrind",
        "pygments",
        "pytest-timeout",
        "setuptools",
        "pip",
        "platformdirs",
        "colorama",
        "tomli",
        "exceptiongroup",
        "memray",
    }
)


def estimated_cycles(events: Mapping[str, int]) -> float | None:
    """L1 hits + 5 x last-level hits + 35 x memory accesses, or None without cache simulation."""
    if not all(name in events for name in CACHE_EVENTS):
        return None
    accesses = events["Ir"] + events["Dr"] + events["Dw"]
    l1_misses = events["I1mr"] + events["D1mr"] + events["D1mw"]
    ll_misses = events["ILmr"] + events["DLmr"] + events["DLmw"]
    return float(
        L1_HIT_CYCLES * (accesses - l1_misses) + LL_HIT_CYCLES * (l1_misses - ll_misses) + RAM_HIT_CYCLES * ll_misses
    )


def read_dump_totals(path: Path) -> dict[str, int]:
    """The event totals of one Callgrind dump file (``events:`` names, ``totals:`` values)."""
    return read_dump(path)[0]


def read_dump(path: Path) -> tuple[dict[str, int], set[str]]:
    """(event totals, the objects that executed instructions) of one Callgrind dump file."""
    names: list[str] = []
    totals: list[int] = []
    object_lines: list[str] = []
    with open(path, encoding="utf-8", errors="replace") as stream:
        for line in stream:
            if line.startswith(("ob=", "cob=")):
                object_lines.append(line)
            elif line.startswith("events:"):
                names = line.split(":", 1)[1].split()
            elif line.startswith("totals:"):
                totals = [int(value) for value in line.split(":", 1)[1].split()]
    if not names or not totals:
        raise ValueError(f"{path}: no events/totals lines (not a Callgrind dump?)")
    # Callgrind leaves trailing zero events off the totals line.
    events = {name: totals[index] if index < len(totals) else 0 for index, name in enumerate(names)}
    return events, dump_objects(object_lines)


class CallCounter:
    """Counts the instructions of repeated calls in a worker running under Callgrind.

    ``out_file`` is the ``--callgrind-out-file`` the worker was started
    with; a ``%p`` in it is expanded when the dumps are read, so that a
    counter made in a parent serves the children forked from it.
    """

    def __init__(self, *, out_file: str, counted_calls: int, warmup_calls: int) -> None:
        self.backend, self._requests = load_requests()
        self._out_file = out_file
        self._dumps = 0
        #: The native objects the counted calls executed (from their dumps).
        self.objects: set[str] = set()
        #: Whether :meth:`executed_packages` runs its traced call (the pass asks in one run per benchmark).
        self.trace_packages = True
        self.counted_calls = counted_calls
        self.warmup_calls = warmup_calls

    def count(self, call: Callable[[], Any], prepare: Callable[[], Any] | None = None) -> tuple[Any, list[int], list]:
        """Warm up, then count ``counted_calls`` calls; returns (last result, instructions, estimated cycles).

        ``prepare`` runs before each call, uncounted (``benchmark.pedantic``'s setup).
        """
        result = None
        for _ in range(self.warmup_calls):
            if prepare is not None:
                prepare()
            result = call()
        instructions: list[int] = []
        cycles: list[float | None] = []
        requests = self._requests
        for index in range(self.counted_calls):
            if prepare is not None:
                prepare()
            gc.collect()
            gc.freeze()
            requests.callgrind_zero_stats()
            requests.callgrind_start_instrumentation()
            try:
                result = call()
            finally:
                requests.callgrind_stop_instrumentation()
                gc.unfreeze()
            requests.callgrind_dump_stats(f"benchwatch counted call {index}")
        # Read after the last call: reading between calls would allocate (the path holds the process
        # id, whose length varies) before the next counted call.
        prefix = self._out_file.replace("%p", str(os.getpid()))
        for _ in range(self.counted_calls):
            self._dumps += 1
            events, objects = read_dump(Path(f"{prefix}.{self._dumps}"))
            self.objects |= objects
            instructions.append(events["Ir"])
            cycles.append(estimated_cycles(events))
        return result, instructions, cycles if all(value is not None for value in cycles) else []

    def executed_packages(self, call: Callable[[], Any], prepare: Callable[[], Any] | None = None) -> dict[str, str]:
        """The distributions whose code ``call`` executes: one more call, uncounted and traced.

        After the counted calls, so the counts start from the same state as
        without it; the native objects come from the counted calls' dumps.
        """
        trace = CallTrace()
        if prepare is not None:
            prepare()
        trace.run(call)
        return executed_distributions(
            files=trace.files | self.objects, modules=trace.modules, ignore=TOOLING_DISTRIBUTIONS
        )


def count_fingerprint(client_requests: str) -> dict[str, Any]:
    """What must match for two processes' counts to be comparable (the worker's side of it).

    The packages are those whose modules this process imported, less the
    tooling that runs the benchmarks: a different DuckDB or NumPy executes
    different instructions; a different pytest does not enter the count.
    Comparisons use them only for files without the per-benchmark record of
    executed packages (:meth:`CallCounter.executed_packages`).
    """
    top_levels = {module.partition(".")[0] for module in list(sys.modules)}
    return {
        "machine": platform.machine(),
        "python_implementation": platform.python_implementation(),
        "python_version": platform.python_version(),
        "python_build": " ".join(platform.python_build()) + f" [{platform.python_compiler()}]",
        "hash_seed": os.environ.get("PYTHONHASHSEED"),
        "client_requests": client_requests,
        "count_method": COUNT_METHOD_VERSION,
        "packages": distribution_versions(top_levels, ignore=TOOLING_DISTRIBUTIONS),
    }


class InstructionCounting:
    """The instruction pass inside a worker: counts the call of each benchmark's ``benchmark`` fixture.

    pytest-benchmark runs disabled in this pass (one plain call); its
    fixture's ``_raw``/``_raw_pedantic`` are replaced on the instance so the
    suite's own call goes through :meth:`CallCounter.count`.
    """

    def __init__(
        self, *, out_file: str | None, counted_calls: int, warmup_calls: int, trace_packages: bool = True
    ) -> None:
        self.out_file = out_file or None
        self.counted_calls = counted_calls
        self.warmup_calls = warmup_calls
        self.trace_packages = trace_packages
        self._counter: CallCounter | None = None

    def _get_counter(self) -> CallCounter:
        if self.out_file is None:
            raise CounterUnavailable(
                "the worker was not started by benchwatch's instruction pass (no Callgrind output)"
            )
        if self._counter is None:
            self._counter = CallCounter(
                out_file=self.out_file, counted_calls=self.counted_calls, warmup_calls=self.warmup_calls
            )
            self._counter.trace_packages = self.trace_packages
        return self._counter

    def warm(self, *, trace_packages: bool | None = None) -> None:
        """Load the client requests now (a warm parent, before it forks); set whether calls are traced."""
        if trace_packages is not None:
            self.trace_packages = trace_packages
            if self._counter is not None:
                self._counter.trace_packages = trace_packages
        with contextlib.suppress(CounterUnavailable):  # the child reports it, as a fresh worker would
            self._get_counter()

    def around_call(self, item: Any, current: dict[str, Any]):
        """Hook-wrapper body for ``pytest_runtest_call``: route the measured call through the counter.

        Fixture form: the ``benchmark`` fixture's call (``pedantic`` too).
        Marker form (a marked test without the fixture): the whole test body.
        """
        from benchwatch.runner.worker_plugin import is_marker_form

        fixture = getattr(item, "funcargs", {}).get("benchmark")
        marker_form = fixture is None and is_marker_form(item)
        counted: dict[str, Any] = {}
        try:
            counter = self._get_counter()
        except CounterUnavailable as error:
            yield  # the suite's call still runs once, uncounted
            current.update(status="error", error=str(error))
            return
        if fixture is not None:
            fixture._raw, fixture._raw_pedantic = _fixture_calls(counter, counted)
        original_runtest = item.runtest if marker_form else None
        if original_runtest is not None:
            body: Callable[[], Any] = original_runtest

            def counted_runtest() -> None:
                _, counted["instructions"], counted["cycles"] = counter.count(body)
                counted["packages"] = _traced(counter, body)

            item.runtest = counted_runtest
        outcome = yield
        if original_runtest is not None:
            item.runtest = original_runtest
        if outcome.excinfo is not None:
            return  # pytest's report records the test's own error
        if "instructions" in counted:
            current["instructions"] = counted["instructions"]
            current["estimated_cycles"] = counted["cycles"] or None
            current["count_fingerprint"] = count_fingerprint(counter.backend)
            current["executed_packages"] = counted.get("packages")
        elif current.get("status") == "ok":
            what = "its benchmark fixture" if fixture is not None else "a benchmark fixture or marker"
            current.update(status="error", error=f"the test did not call {what}, so nothing was counted")


def _fixture_calls(counter: CallCounter, counted: dict[str, Any]) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """Replacements for pytest-benchmark's ``_raw`` and ``_raw_pedantic`` that count the call."""

    def raw(function_to_benchmark: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        result, counted["instructions"], counted["cycles"] = counter.count(
            lambda: function_to_benchmark(*args, **kwargs)
        )
        counted["packages"] = _traced(counter, lambda: function_to_benchmark(*args, **kwargs))
        return result

    def raw_pedantic(target: Callable[..., Any], args=(), kwargs=None, setup=None, teardown=None, **_: Any) -> Any:
        arguments: list[Any] = [tuple(args), dict(kwargs or {})]

        def prepare() -> None:
            if setup is not None:
                produced = setup()
                if produced:
                    arguments[:] = [tuple(produced[0]), dict(produced[1])]

        result, counted["instructions"], counted["cycles"] = counter.count(
            lambda: target(*arguments[0], **arguments[1]), prepare=prepare
        )
        counted["packages"] = _traced(counter, lambda: target(*arguments[0], **arguments[1]), prepare)
        if teardown is not None:
            teardown(*arguments[0], **arguments[1])
        return result

    return raw, raw_pedantic


def _traced(
    counter: CallCounter, call: Callable[[], Any], prepare: Callable[[], Any] | None = None
) -> dict[str, str] | None:
    """The call's executed packages; None when not traced in this run, or when the extra call fails."""
    if not counter.trace_packages:
        return None
    try:
        return counter.executed_packages(call, prepare)
    except Exception:  # the benchmark's own failure on a call it did not expect; its counts stand
        return None
