"""Profiling the benchmarked call inside a worker (worker modes ``profile`` and ``native-profile``).

As in the instruction pass (:mod:`benchwatch.runner.callgrind`), pytest-benchmark
runs disabled and its fixture's ``_raw``/``_raw_pedantic`` are replaced on the
instance, so the suite's own call goes through the profiler; a marker-form
benchmark's whole test body is the call.

``profile``: cProfile around the call after one unprofiled warm-up call,
repeated until :data:`MIN_PROFILED_SECONDS` of profiled calls (at most
:data:`MAX_PROFILED_CALLS`).  Call counts are exact; own times carry
cProfile's overhead (a fixed cost per Python call), which is measured
against unprofiled calls and reported.

``native-profile``: the worker runs under Callgrind with instrumentation off;
one warm-up call, then one counted call whose dump is read per function.
"""

from __future__ import annotations

import cProfile
import gc
import os
import statistics
import sysconfig
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchwatch.explain.callgrind_functions import native_profile
from benchwatch.explain.records import FunctionCost, Profile, Tool

MIN_PROFILED_SECONDS = 0.3
MAX_PROFILED_CALLS = 50
#: Unprofiled calls timed to state cProfile's overhead (the fastest is the reference).
PLAIN_CALLS = 3
#: How many functions a Python profile keeps (the most expensive by own time).
MAX_FUNCTIONS = 2000
_OWN_PACKAGE = str(Path(__file__).resolve().parents[1])
_STDLIB = sysconfig.get_paths()["stdlib"]


def short_path(filename: str, root: Path) -> str:
    """``filename`` as both sides name it: relative to the project, to site-packages, or ``<stdlib>/...``.

    The checkouts of base and head live in different directories; the same
    function must have the same file on both sides to be diffed.
    """
    if filename.startswith("<"):
        return filename
    path = os.path.realpath(filename)
    for marker in ("/site-packages/", "/dist-packages/"):
        if marker in path:
            return path.rsplit(marker, 1)[1]
    if path.startswith(_STDLIB + os.sep):
        return "<stdlib>/" + os.path.relpath(path, _STDLIB)
    try:
        return os.path.relpath(path, os.path.realpath(root)) if path.startswith(os.path.realpath(root)) else path
    except ValueError:
        return path


def _identity(code: Any, root: Path) -> tuple[str, str, int | None] | None:
    """(qualified name, file, first line) of a profiler entry's code; None for benchwatch's own frames."""
    if isinstance(code, str):  # a builtin: "<built-in method builtins.len>", "<method 'append' of 'list' objects>"
        return (None if "_lsprof.Profiler" in code else (code, "~", None)) if code else None
    if os.path.realpath(code.co_filename).startswith(_OWN_PACKAGE):
        return None
    return code.co_qualname, short_path(code.co_filename, root), code.co_firstlineno


def profile_from_stats(entries: list[Any], *, calls: int, root: Path, overhead: float | None) -> Profile:
    """A :class:`Profile` from ``cProfile.Profile.getstats()`` over ``calls`` benchmark calls."""
    own: dict[tuple[str, str], float] = defaultdict(float)
    counts: dict[tuple[str, str], float] = defaultdict(float)
    lines: dict[tuple[str, str], int | None] = {}
    edges: dict[tuple[str, str], dict[tuple[str, str], list[float]]] = defaultdict(dict)
    for entry in entries:
        identity = _identity(entry.code, root)
        if identity is None:
            continue
        key = identity[:2]
        lines.setdefault(key, identity[2])
        own[key] += entry.inlinetime
        counts[key] += entry.callcount
        for sub in entry.calls or ():
            callee = _identity(sub.code, root)
            if callee is not None:
                edge = edges[key].setdefault(callee[:2], [0.0, 0.0])
                edge[0] += sub.callcount
                edge[1] += sub.totaltime
    ranked = sorted(own, key=lambda key: -own[key])[:MAX_FUNCTIONS]
    index = {key: position for position, key in enumerate(ranked)}
    functions = tuple(
        FunctionCost(
            name=key[0],
            file=key[1],
            line=lines[key],
            calls=counts[key] / calls,
            own=own[key] / calls,
            callees=tuple(
                (index[callee], edge[0] / calls, edge[1] / calls)
                for callee, edge in edges.get(key, {}).items()
                if callee in index
            ),
        )
        for key in ranked
    )
    return Profile(
        tool=Tool.CPROFILE,
        benchmark_calls=calls,
        total=sum(own.values()) / calls,
        functions=functions,
        overhead=overhead,
    )


class PythonProfiler:
    """cProfile around repeated calls of the benchmark (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def run(self, call: Callable[[], Any], prepare: Callable[[], Any]) -> tuple[Any, Profile]:
        plain: list[float] = []
        result = None
        for _ in range(1 + PLAIN_CALLS):  # the first is the warm-up
            prepare()
            started = time.perf_counter()
            result = call()
            plain.append(time.perf_counter() - started)
        profiler = cProfile.Profile()
        profiled: list[float] = []
        while len(profiled) < MAX_PROFILED_CALLS and (not profiled or sum(profiled) < MIN_PROFILED_SECONDS):
            prepare()
            gc.collect()
            started = time.perf_counter()
            profiler.enable()
            try:
                result = call()
            finally:
                profiler.disable()
            profiled.append(time.perf_counter() - started)
        reference = min(plain[1:])
        overhead = statistics.median(profiled) / reference if reference > 0 else None
        entries = profiler.getstats()  # _lsprof's raw entries carry the code objects
        return result, profile_from_stats(entries, calls=len(profiled), root=self.root, overhead=overhead)


class NativeProfiler:
    """One warm-up and one counted call under Callgrind; the counted call's dump read per function."""

    def __init__(self, out_file: str | None) -> None:
        from benchwatch.runner.callgrind import CallCounter, CounterUnavailable

        if out_file is None:
            raise CounterUnavailable("the worker was not started under Callgrind (no --benchwatch-callgrind-out)")
        self.out_prefix = Path(out_file.replace("%p", str(os.getpid())))
        self.counter = CallCounter(out_file=str(self.out_prefix), counted_calls=1, warmup_calls=1)
        self.dumps = 0  # Callgrind numbers the dumps of the process 1, 2, ...

    def run(self, call: Callable[[], Any], prepare: Callable[[], Any]) -> tuple[Any, Profile]:
        result, _, _ = self.counter.count(call, prepare=prepare)
        self.dumps += 1
        dump = Path(f"{self.out_prefix}.{self.dumps}")
        return result, native_profile([dump])


class ProfileCollecting:
    """The worker side of an explanation: routes each benchmark's call through a profiler."""

    def __init__(self, *, mode: str, root: Path, out_file: str | None) -> None:
        self.mode = mode
        self.root = root
        self.out_file = out_file
        self._profiler: PythonProfiler | NativeProfiler | None = None

    def _get_profiler(self) -> PythonProfiler | NativeProfiler:
        if self._profiler is None:
            self._profiler = PythonProfiler(self.root) if self.mode == "profile" else NativeProfiler(self.out_file)
        return self._profiler

    def around_call(self, item: Any, current: dict[str, Any]):
        """Hook-wrapper body for ``pytest_runtest_call`` (see the module docstring)."""
        from benchwatch.runner.callgrind import CounterUnavailable
        from benchwatch.runner.worker_plugin import is_marker_form

        fixture = getattr(item, "funcargs", {}).get("benchmark")
        marker_form = fixture is None and is_marker_form(item)
        profiled: dict[str, Profile] = {}
        try:
            profiler = self._get_profiler()
        except CounterUnavailable as error:
            yield
            current.update(status="error", error=str(error))
            return
        if fixture is not None:
            fixture._raw, fixture._raw_pedantic = _fixture_calls(profiler, profiled)
        original_runtest = item.runtest if marker_form else None
        if original_runtest is not None:
            body: Callable[[], Any] = original_runtest

            def profiled_runtest() -> None:
                _, profiled["profile"] = profiler.run(body, _nothing)

            item.runtest = profiled_runtest
        outcome = yield
        if original_runtest is not None:
            item.runtest = original_runtest
        if outcome.excinfo is not None:
            return
        if "profile" in profiled:
            current["profile"] = profiled["profile"].to_dict()
        elif current.get("status") == "ok":
            current.update(status="error", error="the test did not call its benchmark, so nothing was profiled")


def _nothing() -> None:
    return None


def _fixture_calls(
    profiler: PythonProfiler | NativeProfiler, profiled: dict[str, Profile]
) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """Replacements for pytest-benchmark's ``_raw`` and ``_raw_pedantic`` that profile the call."""

    def raw(function_to_benchmark: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        result, profiled["profile"] = profiler.run(lambda: function_to_benchmark(*args, **kwargs), _nothing)
        return result

    def raw_pedantic(target: Callable[..., Any], args=(), kwargs=None, setup=None, teardown=None, **_: Any) -> Any:
        arguments: list[Any] = [tuple(args), dict(kwargs or {})]

        def prepare() -> None:
            if setup is not None:
                produced = setup()
                if produced:
                    arguments[:] = [tuple(produced[0]), dict(produced[1])]

        result, profiled["profile"] = profiler.run(lambda: target(*arguments[0], **arguments[1]), prepare)
        if teardown is not None:
            teardown(*arguments[0], **arguments[1])
        return result

    return raw, raw_pedantic
