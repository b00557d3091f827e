"""pytest plugin loaded into each worker process (``-p benchwatch.runner.worker_plugin``).

The runner starts a fresh pytest process per process run; this plugin makes
that process report to the runner through an append-only JSON-lines events
file: which benchmark started (so a hang or crash can be attributed to it)
and, per benchmark, every raw sample pytest-benchmark took, or its memory
figures in the memory pass, or its error.

Benchmarks come in the forms pytest-benchmark and pytest-codspeed define:
a test that takes the ``benchmark`` fixture (``benchmark(fn)``,
``benchmark.pedantic(...)``, ``@benchmark`` on an inner function) is
measured by that fixture; a test marked ``@pytest.mark.benchmark`` (or
``codspeed_benchmark``, directly or through ``pytestmark``) that takes no
such fixture is measured as whole test-body calls (see
:mod:`benchwatch.runner.rounds`).  Other tests are deselected, and the
collect pass reports how many, so none is dropped silently.  The suites
stay plain tests: without this plugin they run as usual.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import threading
import time
from array import array
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from benchwatch.runner.canary import CANARY_VERSION, measure_canary
from benchwatch.runner.memory_pass import ResidentSetWindow, map_file_pages
from benchwatch.runner.rounds import (
    DEFAULT_MAX_TIME,
    DEFAULT_MIN_ROUND_SECONDS,
    DEFAULT_MIN_ROUNDS,
    RoundPolicy,
    adapt_pytest_benchmark,
    sample_calls,
)

MODES = ("collect", "timing", "memory", "instructions", "profile", "native-profile")
#: The explanation's modes (benchwatch.explain.collect): cProfile, and Callgrind per function.
PROFILE_MODES = ("profile", "native-profile")
MAX_ERROR_CHARS = 2000
FIXTURE_NAMES = ("benchmark", "codspeed_benchmark")
MARKER_NAMES = ("benchmark", "codspeed_benchmark")
#: How many non-benchmark test ids the collect pass names as examples.
EXAMPLES = 3


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("benchwatch", "benchwatch worker (used by `benchwatch run`)")
    group.addoption("--benchwatch-events", default=None, help="append JSON-lines events to this file")
    group.addoption("--benchwatch-mode", choices=MODES, default="timing")
    group.addoption("--benchwatch-capture-dir", default=None, help="where memray capture files go")
    group.addoption("--benchwatch-keep-captures", action="store_true", default=False)
    group.addoption("--benchwatch-callgrind-out", default=None, help="Callgrind's --callgrind-out-file (instructions)")
    group.addoption("--benchwatch-counted-calls", type=int, default=2, help="calls counted per benchmark")
    group.addoption("--benchwatch-warmup-calls", type=int, default=1, help="uncounted calls before them")
    group.addoption(
        "--benchwatch-trace-packages", type=int, default=1, help="1: trace one more call for the packages it executes"
    )
    group.addoption(
        "--benchwatch-fork-each", action="store_true", default=False, help="run each benchmark in a forked child"
    )
    group.addoption(
        "--benchwatch-fork-runs",
        default="",
        help="with --benchwatch-fork-each: a child per benchmark and each of these runs (1,2 or 01-02)",
    )
    group.addoption(
        "--benchwatch-child-timeout", type=float, default=0.0, help="seconds before a forked child is killed"
    )
    group.addoption(
        "--benchwatch-target-samples", type=int, default=0, help="samples per benchmark the gated quantiles need"
    )
    group.addoption(
        "--benchwatch-sample-budget", type=float, default=10.0, help="seconds a benchmark may spend reaching them"
    )


def pytest_configure(config: pytest.Config) -> None:
    # pytest-codspeed's markers, so that suites written for it also run with
    # --strict-markers when pytest-codspeed itself is not installed.
    config.addinivalue_line("markers", "benchmark: benchmark this test (whole test body, or its benchmark fixture)")
    config.addinivalue_line("markers", "codspeed_benchmark: benchmark this whole test body")
    events = config.getoption("--benchwatch-events")
    if events:
        recorder = WorkerRecorder(
            events_path=Path(events),
            mode=config.getoption("--benchwatch-mode"),
            capture_dir=config.getoption("--benchwatch-capture-dir"),
            keep_captures=config.getoption("--benchwatch-keep-captures"),
            policy=_policy_of(config),
        )
        if recorder.mode == "instructions":
            from benchwatch.runner.callgrind import InstructionCounting

            recorder.counting = InstructionCounting(
                out_file=config.getoption("--benchwatch-callgrind-out"),
                counted_calls=config.getoption("--benchwatch-counted-calls"),
                warmup_calls=config.getoption("--benchwatch-warmup-calls"),
                trace_packages=bool(config.getoption("--benchwatch-trace-packages")),
            )
        if recorder.mode in PROFILE_MODES:
            from benchwatch.explain.collect import ProfileCollecting

            recorder.counting = ProfileCollecting(
                mode=recorder.mode, root=config.rootpath, out_file=config.getoption("--benchwatch-callgrind-out")
            )
        config.pluginmanager.register(recorder, "benchwatch-worker-recorder")
        if config.getoption("--benchwatch-fork-each") and hasattr(os, "fork"):
            runs = fork_runs(config.getoption("--benchwatch-fork-runs"))
            timeout = config.getoption("--benchwatch-child-timeout")
            config.pluginmanager.register(ForkEach(recorder, runs=runs, timeout=timeout), "benchwatch-fork-each")


@pytest.fixture
def codspeed_benchmark(benchmark: Any) -> Any:
    """pytest-codspeed's other name for its fixture (the one it gives when
    pytest-benchmark is installed beside it): here it is pytest-benchmark's
    fixture, so ``codspeed_benchmark(fn)`` and ``.pedantic`` are measured alike."""
    return benchmark


def _read_schedstat() -> tuple[float, float] | None:
    """(seconds on CPU, seconds waiting for a CPU) of this thread, Linux only."""
    try:
        fields = Path("/proc/thread-self/schedstat").read_text().split()
    except OSError:
        return None
    return int(fields[0]) / 1e9, int(fields[1]) / 1e9


def _policy_of(config: pytest.Config) -> RoundPolicy:
    """The worker's round policy; pytest-benchmark's options, when present, apply to the marker form too."""
    min_time = config.getoption("benchmark_min_time", None)
    return RoundPolicy(
        min_rounds=int(config.getoption("benchmark_min_rounds", None) or DEFAULT_MIN_ROUNDS),
        max_time=float(config.getoption("benchmark_max_time", None) or DEFAULT_MAX_TIME),
        target_samples=config.getoption("--benchwatch-target-samples"),
        budget=config.getoption("--benchwatch-sample-budget"),
        min_round_seconds=float(min_time) if min_time else DEFAULT_MIN_ROUND_SECONDS,
    )


def _marker_of(item: pytest.Item) -> pytest.Mark | None:
    for name in MARKER_NAMES:
        marker = item.get_closest_marker(name)
        if marker is not None:
            return marker
    return None


def is_fixture_form(item: pytest.Item) -> bool:
    return any(name in getattr(item, "fixturenames", ()) for name in FIXTURE_NAMES)


def is_marker_form(item: pytest.Item) -> bool:
    """Marked as a benchmark but taking no benchmark fixture: the whole body is measured."""
    return not is_fixture_form(item) and _marker_of(item) is not None and hasattr(item, "runtest")


def _marker_policy(item: pytest.Item, policy: RoundPolicy) -> RoundPolicy:
    """The marker's own limits (pytest-codspeed's ``max_time``, ``max_rounds``, ``min_time``;
    pytest-benchmark's ``min_rounds``) override the worker's."""
    marker = _marker_of(item)
    options = marker.kwargs if marker is not None else {}
    return RoundPolicy(
        min_rounds=int(options.get("min_rounds", policy.min_rounds)),
        max_time=float(options.get("max_time", policy.max_time)),
        target_samples=policy.target_samples,
        budget=policy.budget,
        max_rounds=options.get("max_rounds"),
        min_round_seconds=float(options.get("min_time", policy.min_round_seconds)),
    )


def _group_of(item: pytest.Item) -> str | None:
    marker = _marker_of(item)
    group = marker.kwargs.get("group") if marker is not None else None
    return str(group) if group is not None else None


def _target_of(item: pytest.Item) -> str:
    """The item as a command-line argument that resolves from any working directory."""
    _, _, rest = item.nodeid.partition("::")
    return f"{item.path}::{rest}" if rest else str(item.path)


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def fork_runs(argument: str) -> tuple[int, ...]:
    """``--benchwatch-fork-runs``: ``1,2`` or a range ``01-02``."""
    if "-" in argument:
        first, _, last = argument.partition("-")
        return tuple(range(int(first), int(last) + 1))
    return tuple(int(run) for run in argument.split(",") if run)


#: ForkEach's code for a child it killed at its timeout (exit codes are 0-255, signals negative).
TIMED_OUT = 1000
CHILD_POLL_SECONDS = 0.05


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _child_died(name: str, code: int, run: int | None) -> dict[str, Any]:
    how = f"was killed by signal {_signal_name(-code)}" if code < 0 else f"exited with code {code}"
    return {
        "event": "result",
        "name": name,
        "status": "crashed",
        "error": f"the child process running it {how}",
        **({"run": run} if run is not None else {}),
    }


class ForkEach:
    """Runs each benchmark in a child forked from this worker (``--benchwatch-fork-each``).

    Why: the memory pass needs each benchmark in a process of its own (an
    allocator keeps freed memory, so a benchmark run after another would
    show less growth), but a fresh worker per benchmark pays the
    interpreter's, pytest's and the suite's start-up every time: two thirds
    of a µs-scale suite's run (docs/cost.md).  A child forked after
    collection starts from the state a fresh worker reaches before its first
    benchmark, every child from the same one: no benchmark ran before it,
    no fixture is set up (the child sets up and tears down its own).

    ``runs`` (the instruction pass, ``--benchwatch-fork-runs``): a child per
    benchmark and run, one after another, each reporting its run; the
    parent runs under Callgrind with counting off, so start-up under
    Valgrind (~50x native) is paid once, not once per benchmark and run.
    """

    def __init__(self, recorder: WorkerRecorder, runs: tuple[int, ...] = (), timeout: float = 0.0) -> None:
        self.recorder = recorder
        self.runs = runs
        #: Seconds a child may take before this parent kills it (0: the runner's watchdog alone): the
        #: parent then goes on with its state intact, where the watchdog would end parent and all.
        self.timeout = timeout
        recorder.forks_runs = bool(runs)
        self.trace_packages = bool(getattr(recorder.counting, "trace_packages", False))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> bool:
        counting = self.recorder.counting
        timed_out_run: int | None = None
        for run in self.runs or (None,):
            if run is not None:
                self.recorder.begin(item, run=run)
                if timed_out_run is not None:
                    # Counted work is deterministic: a run after one that timed out would wait out the
                    # timeout again (the whole default of 300 s) to fail the same way.
                    self.recorder.emit({**self._timed_out(item, run, earlier=timed_out_run), "protocol_seconds": 0.0})
                    continue
                if hasattr(counting, "warm"):
                    # Packages are traced in the first run only; the client requests load here, once.
                    counting.warm(trace_packages=self.trace_packages and run == 1)
            code = self._fork(item)
            if run is not None and code == TIMED_OUT:
                timed_out_run = run
            if run is not None and code != 0:
                died = _child_died(item.nodeid, code, run) if code != TIMED_OUT else self._timed_out(item, run)
                died["protocol_seconds"] = time.perf_counter() - self.recorder.protocol_started
                self.recorder.emit(died)
            elif run is None:
                self.recorder.forked_exit = code
        return True

    def _fork(self, item: pytest.Item) -> int:
        from _pytest.runner import runtestprotocol

        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                if self.timeout > 0:  # a group of its own: a timeout kills what its fixtures started too
                    os.setpgid(0, 0)
                runtestprotocol(item, nextitem=None, log=False)
                self.recorder.finish()
                code = 0
            finally:
                os._exit(code)  # no atexit, no pytest session end: the parent goes on with the next benchmark
        deadline = time.monotonic() + self.timeout if self.timeout > 0 else None
        while True:
            done, status = os.waitpid(pid, 0 if deadline is None else os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
            if deadline is not None and time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)  # had it not made its group yet
                os.waitpid(pid, 0)
                return TIMED_OUT
            time.sleep(CHILD_POLL_SECONDS)

    def _timed_out(self, item: pytest.Item, run: int, earlier: int | None = None) -> dict[str, Any]:
        error = (
            f"not run: its run {earlier} did not finish within its timeout of {self.timeout:g} s"
            if earlier is not None
            else f"did not finish within its timeout of {self.timeout:g} s; its child process was killed"
        )
        return {"event": "result", "name": item.nodeid, "status": "timeout", "error": error, "run": run}


def _release_stats(config: pytest.Config, metadata: Any) -> None:
    """Drop a recorded benchmark from pytest-benchmark's session, unless it saves or compares.

    Its end-of-session table computes every statistic over every sample in
    pure Python: for 64 µs-scale benchmarks of ~100,000 samples each that
    was most of a timing worker's time after its last benchmark
    (docs/cost.md), and the samples are already on their way to benchwatch.
    """
    session = getattr(config, "_benchmarksession", None)
    if session is None or any(getattr(session, key, None) for key in ("save", "autosave", "json", "compare")):
        return
    with contextlib.suppress(AttributeError, ValueError):
        session.benchmarks.remove(metadata)


class WorkerRecorder:
    def __init__(
        self,
        *,
        events_path: Path,
        mode: str,
        capture_dir: str | None,
        keep_captures: bool,
        policy: RoundPolicy | None = None,
    ) -> None:
        self.mode = mode
        self.policy = policy or RoundPolicy()
        self.capture_dir = Path(capture_dir) if capture_dir else events_path.parent
        self.keep_captures = keep_captures
        self._stream = open(events_path, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the session
        self._current: dict[str, Any] = {}
        self.counting: Any = None  # benchwatch.runner.callgrind.InstructionCounting in the instruction pass
        self.protocol_started = 0.0
        self.forked_exit: int | None = None  # set by ForkEach: the exit code of the child that ran it
        self.forks_runs = False  # ForkEach forks a child per run and reports each

    def _emit(self, event: dict[str, Any]) -> None:
        samples = event.get("samples")
        if isinstance(samples, list):
            # Raw float64 bytes, base64: exact, and ~50x faster than JSON numbers (130,000 samples
            # took 0.7 s to format as text, per benchmark and run; docs/cost.md).
            event = {**event, "samples": None, "samples_f64": base64.b64encode(array("d", samples).tobytes()).decode()}
        self._stream.write(json.dumps(event, allow_nan=True) + "\n")
        self._stream.flush()

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config, items: list) -> None:
        benchmarks = [item for item in items if is_fixture_form(item) or is_marker_form(item)]
        chosen = {id(item) for item in benchmarks}
        others = [item for item in items if id(item) not in chosen]
        if others:
            config.hook.pytest_deselected(items=others)
        if self.mode == "collect":
            self._emit(
                {
                    "event": "session",
                    "rootdir": str(config.rootpath),
                    "not_benchmarks": len(others),
                    "examples": [item.nodeid for item in others[:EXAMPLES]],
                }
            )
            for item in benchmarks:
                self._emit(
                    {
                        "event": "collected",
                        "name": item.nodeid,
                        "group": _group_of(item),
                        "form": "marker" if is_marker_form(item) else "fixture",
                        "target": _target_of(item),
                    }
                )
            config.hook.pytest_deselected(items=benchmarks)
            items[:] = []
            return
        items[:] = benchmarks

    def begin(self, item: pytest.Item, run: int | None = None) -> None:
        """Announce ``item`` (of run ``run``, when a child per run is forked) and start its result."""
        self._current = {
            "event": "result",
            "name": item.nodeid,
            "group": _group_of(item),
            "status": "ok",
            "error": None,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        }
        runs = {} if run is None else {"run": run}
        self._current.update(runs)
        self._emit({"event": "start", "name": item.nodeid, "time": time.time(), **runs})
        self.protocol_started = time.perf_counter()

    def emit(self, event: dict[str, Any]) -> None:
        self._emit(event)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None):
        if not self.forks_runs:  # ForkEach announces each run itself
            self.begin(item)
        yield
        forked, self.forked_exit = self.forked_exit, None
        if self.forks_runs or forked is not None:
            self._current = {}
            if forked:  # the child reported nothing: it died
                self._emit(_child_died(item.nodeid, forked, None))
            return
        self.finish()

    def finish(self) -> None:
        """Report the benchmark that ran (in this process, or in a forked child)."""
        self._current["protocol_seconds"] = time.perf_counter() - self.protocol_started
        self._emit(self._current)
        self._current = {}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item):
        # Fixture set-up and tear-down are timed apart from the measured call: where a run's time goes.
        started = time.perf_counter()
        yield
        self._current["setup_seconds"] = time.perf_counter() - started

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item, nextitem: pytest.Item | None):
        started = time.perf_counter()
        yield
        self._current["teardown_seconds"] = time.perf_counter() - started

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item):
        if self.mode == "memory":
            yield from self._call_under_memray(item)
            return
        if self.mode == "instructions" or self.mode in PROFILE_MODES:
            yield from self.count_instructions(item)
            return
        original_runtest = None
        if self.mode == "timing":
            original_runtest = self._prepare_measurement(item)
        canary_before = measure_canary()
        sched_before = _read_schedstat()
        cpu_before = time.process_time()
        wall_before = time.perf_counter()
        try:
            yield
        finally:
            if original_runtest is not None:
                item.runtest = original_runtest  # type: ignore[method-assign]  # undo the instance patch below
        self._current["wall_seconds"] = time.perf_counter() - wall_before
        self._current["cpu_seconds"] = time.process_time() - cpu_before
        sched_after = _read_schedstat()
        if sched_before and sched_after:
            self._current["runqueue_wait_seconds"] = sched_after[1] - sched_before[1]
        self._current["canary_seconds"] = [canary_before, measure_canary()]
        self._current["canary_version"] = CANARY_VERSION

    def _prepare_measurement(self, item: pytest.Item) -> Any:
        """Fixture form: let pytest-benchmark take enough rounds.  Marker form:
        measure repeated test-body calls; returns the ``runtest`` to restore."""
        if not is_marker_form(item):
            fixture = item.funcargs.get("benchmark") if hasattr(item, "funcargs") else None
            if fixture is not None:
                adapt_pytest_benchmark(fixture, self.policy)
            return None
        original = item.runtest
        policy = _marker_policy(item, self.policy)

        def measured_runtest() -> None:
            samples, iterations = sample_calls(original, policy)
            self._current["samples"] = samples
            self._current["iterations"] = iterations

        item.runtest = measured_runtest  # type: ignore[method-assign]  # pytest calls item.runtest(); patch this item only
        return original

    def count_instructions(self, item: pytest.Item):
        yield from self.counting.around_call(item, self._current)

    def _call_under_memray(self, item: pytest.Item):
        import memray

        safe = "".join(ch if ch.isalnum() else "_" for ch in item.nodeid)[-120:]
        capture = self.capture_dir / f"{safe}.{os.getpid()}.memray"
        if capture.exists():
            capture.unlink()
        capture.parent.mkdir(parents=True, exist_ok=True)
        map_file_pages()
        with memray.Tracker(str(capture), follow_fork=False):
            window = ResidentSetWindow()  # inside: memray's own start-up is not the benchmark's
            yield
            rss_peak = window.peak_above_start()
        stats = memray.FileReader(str(capture)).metadata
        self._current["memory"] = {
            "peak_bytes": int(stats.peak_memory),
            "allocations": int(stats.total_allocations),
            "capture_path": str(capture) if self.keep_captures else None,
            "rss_peak_bytes": rss_peak,
        }
        if not self.keep_captures:
            capture.unlink()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        outcome = yield
        report = outcome.get_result()
        if report.skipped and self._current.get("status") == "ok":
            self._current["status"] = "skipped"
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            self._current["error"] = _one_line(str(reason))
        elif report.failed and self._current.get("status") in ("ok", "skipped"):
            self._current["status"] = "error"
            message = call.excinfo.exconly() if call.excinfo is not None else str(report.longrepr)
            self._current["error"] = _one_line(f"{report.when}: {message}")
        if report.when == "call" and report.passed and self.mode == "timing":
            self._record_samples(item)

    def _record_samples(self, item: pytest.Item) -> None:
        if "samples" in self._current:
            return  # the marker form recorded its own
        funcargs = item.funcargs if isinstance(item, pytest.Function) else {}
        fixture = funcargs.get("benchmark")
        metadata = getattr(fixture, "stats", None)
        if metadata is None:
            self._current["status"] = "error"
            self._current["error"] = "the test did not call its benchmark fixture, so nothing was measured"
            return
        self._current["samples"] = [float(value) for value in metadata.stats.data]
        self._current["iterations"] = int(metadata.iterations)
        _release_stats(item.config, metadata)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        # The interpreter waits for non-daemon threads before it exits: name them, so that the runner
        # can end a worker that would otherwise sit out its whole timeout.
        threads = [
            thread.name
            for thread in threading.enumerate()
            if thread is not threading.main_thread() and not thread.daemon and thread.is_alive()
        ]
        self._emit({"event": "finished", "threads": threads})
        self._stream.close()
