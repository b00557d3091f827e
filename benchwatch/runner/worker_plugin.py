"""pytest plugin loaded into each worker process (``-p benchwatch.runner.worker_plugin``).

The runner starts a fresh pytest process per process run; this plugin makes
that process report to the runner through an append-only JSON-lines events
file: which benchmark started (so a hang or crash can be attributed to it)
and, per benchmark, every raw sample pytest-benchmark took, or its memory
figures in the memory pass, or its error.

Only tests that use pytest-benchmark's ``benchmark`` fixture are benchmarks;
other tests in the suite are deselected.  The suites stay plain
pytest-benchmark tests: without this plugin they run as usual.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from benchwatch.runner.canary import CANARY_VERSION, measure_canary
from benchwatch.runner.memory_pass import ResidentSetWindow

MODES = ("collect", "timing", "memory", "instructions")
MAX_ERROR_CHARS = 2000


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("benchwatch", "benchwatch worker (used by `benchwatch run`)")
    group.addoption("--benchwatch-events", default=None, help="append JSON-lines events to this file")
    group.addoption("--benchwatch-mode", choices=MODES, default="timing")
    group.addoption("--benchwatch-capture-dir", default=None, help="where memray capture files go")
    group.addoption("--benchwatch-keep-captures", action="store_true", default=False)
    group.addoption("--benchwatch-callgrind-out", default=None, help="Callgrind's --callgrind-out-file (instructions)")
    group.addoption("--benchwatch-counted-calls", type=int, default=2, help="calls counted per benchmark")
    group.addoption("--benchwatch-warmup-calls", type=int, default=1, help="uncounted calls before them")


def pytest_configure(config: pytest.Config) -> None:
    events = config.getoption("--benchwatch-events")
    if events:
        recorder = WorkerRecorder(
            events_path=Path(events),
            mode=config.getoption("--benchwatch-mode"),
            capture_dir=config.getoption("--benchwatch-capture-dir"),
            keep_captures=config.getoption("--benchwatch-keep-captures"),
        )
        if recorder.mode == "instructions":
            from benchwatch.runner.callgrind import InstructionCounting

            recorder.counting = InstructionCounting(
                out_file=config.getoption("--benchwatch-callgrind-out"),
                counted_calls=config.getoption("--benchwatch-counted-calls"),
                warmup_calls=config.getoption("--benchwatch-warmup-calls"),
            )
        config.pluginmanager.register(recorder, "benchwatch-worker-recorder")


def _read_schedstat() -> tuple[float, float] | None:
    """(seconds on CPU, seconds waiting for a CPU) of this thread, Linux only."""
    try:
        fields = Path("/proc/thread-self/schedstat").read_text().split()
    except OSError:
        return None
    return int(fields[0]) / 1e9, int(fields[1]) / 1e9


def _group_of(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("benchmark")
    return marker.kwargs.get("group") if marker is not None else None


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


class WorkerRecorder:
    def __init__(self, *, events_path: Path, mode: str, capture_dir: str | None, keep_captures: bool) -> None:
        self.mode = mode
        self.capture_dir = Path(capture_dir) if capture_dir else events_path.parent
        self.keep_captures = keep_captures
        self._stream = open(events_path, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the session
        self._current: dict[str, Any] = {}
        self.counting: Any = None  # benchwatch.runner.callgrind.InstructionCounting in the instruction pass

    def _emit(self, event: dict[str, Any]) -> None:
        self._stream.write(json.dumps(event, allow_nan=True) + "\n")
        self._stream.flush()

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config, items: list) -> None:
        benchmarks = [item for item in items if "benchmark" in getattr(item, "fixturenames", ())]
        others = [item for item in items if item not in benchmarks]
        if others:
            config.hook.pytest_deselected(items=others)
        if self.mode == "collect":
            for item in benchmarks:
                self._emit({"event": "collected", "name": item.nodeid, "group": _group_of(item)})
            config.hook.pytest_deselected(items=benchmarks)
            items[:] = []
            return
        items[:] = benchmarks

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None):
        self._current = {
            "event": "result",
            "name": item.nodeid,
            "group": _group_of(item),
            "status": "ok",
            "error": None,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        }
        self._emit({"event": "start", "name": item.nodeid, "time": time.time()})
        yield
        self._emit(self._current)
        self._current = {}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item):
        if self.mode == "memory":
            yield from self._call_under_memray(item)
            return
        if self.mode == "instructions":
            yield from self.count_instructions(item)
            return
        canary_before = measure_canary()
        sched_before = _read_schedstat()
        cpu_before = time.process_time()
        wall_before = time.perf_counter()
        yield
        self._current["wall_seconds"] = time.perf_counter() - wall_before
        self._current["cpu_seconds"] = time.process_time() - cpu_before
        sched_after = _read_schedstat()
        if sched_before and sched_after:
            self._current["runqueue_wait_seconds"] = sched_after[1] - sched_before[1]
        self._current["canary_seconds"] = [canary_before, measure_canary()]
        self._current["canary_version"] = CANARY_VERSION

    def count_instructions(self, item: pytest.Item):
        yield from self.counting.around_call(item, self._current)

    def _call_under_memray(self, item: pytest.Item):
        import memray

        safe = "".join(ch if ch.isalnum() else "_" for ch in item.nodeid)[-120:]
        capture = self.capture_dir / f"{safe}.{os.getpid()}.memray"
        if capture.exists():
            capture.unlink()
        capture.parent.mkdir(parents=True, exist_ok=True)
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
        funcargs = item.funcargs if isinstance(item, pytest.Function) else {}
        fixture = funcargs.get("benchmark")
        metadata = getattr(fixture, "stats", None)
        if metadata is None:
            self._current["status"] = "error"
            self._current["error"] = "the test did not call its benchmark fixture, so nothing was measured"
            return
        self._current["samples"] = [float(value) for value in metadata.stats.data]
        self._current["iterations"] = int(metadata.iterations)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self._stream.close()
