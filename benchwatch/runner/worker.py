"""One pass of a worker process over a list of benchmarks, with a watchdog.

The worker is a fresh ``python -m pytest`` process with the benchwatch
worker plugin.  It reports through an events file; this side reads that
file while the process runs so that a benchmark that hangs past its timeout
is killed and recorded as ``timeout``, and one that kills its process is
recorded as ``crashed``.  In both cases a new worker continues with the
benchmarks not yet done, so one bad benchmark never costs the others.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchwatch.model import frozen_samples
from benchwatch.runner import reaper

POLL_SECONDS = 0.05
OUTPUT_TAIL_CHARS = 400
#: Seconds a worker that reported all its benchmarks done may take to exit before it is ended
#: (a thread the suite left running keeps the interpreter alive).
EXIT_GRACE_SECONDS = 5.0


@dataclass(frozen=True)
class WorkerCommand:
    """How to start a worker: interpreter, working directory, extra pytest arguments.

    ``prefix`` goes before the interpreter (the instruction pass's
    ``setarch -R valgrind ...``); ``extra_env`` is added to the worker's
    environment (``env``, or the runner's own when ``env`` is None).
    ``arguments`` maps a benchmark's name (its pytest node id) to the
    command-line argument that selects it from any working directory (the
    collect pass reports both); names without an entry are passed as they are.
    """

    python: str
    cwd: Path
    pytest_args: tuple[str, ...] = ()
    env: dict[str, str] | None = None
    prefix: tuple[str, ...] = ()
    extra_env: tuple[tuple[str, str], ...] = ()
    arguments: Mapping[str, str] | None = None

    def argv(
        self, *, events: Path, mode: str, targets: Sequence[str], capture_dir: Path | None, keep_captures: bool
    ) -> list[str]:
        argv = [
            *self.prefix,
            self.python,
            "-m",
            "pytest",
            "-p",
            "benchwatch.runner.worker_plugin",
            "-p",
            "no:cacheprovider",
            # pytest-codspeed, when installed, would take over its marker and
            # fixtures and measure nothing without --codspeed; the worker
            # plugin serves both forms itself.
            "-p",
            "no:codspeed",
            "-q",
            "--no-header",
            "-rN",
            f"--benchwatch-events={events}",
            f"--benchwatch-mode={mode}",
        ]
        if capture_dir is not None:
            argv.append(f"--benchwatch-capture-dir={capture_dir}")
        if keep_captures:
            argv.append("--benchwatch-keep-captures")
        if mode in ("memory", "instructions", "profile", "native-profile"):
            # Plain calls: timing machinery off; memray or Callgrind on.
            argv.append("--benchmark-disable")
        argv.extend(self.pytest_args)
        arguments = self.arguments or {}
        argv.extend(arguments.get(target, target) for target in targets)
        return argv


@dataclass
class _EventReader:
    path: Path
    offset: int = 0
    pending: str = ""

    def read(self) -> list[dict[str, Any]]:
        try:
            with open(self.path, encoding="utf-8") as stream:
                stream.seek(self.offset)
                chunk = stream.read()
                self.offset = stream.tell()
        except FileNotFoundError:
            return []
        text = self.pending + chunk
        lines = text.split("\n")
        self.pending = lines.pop()  # an incomplete last line waits for the rest
        return [json.loads(line) for line in lines if line.strip()]


@dataclass
class PassOutcome:
    """What one pass produced: a result event per benchmark, and collected names."""

    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    collected: list[dict[str, Any]] = field(default_factory=list)
    worker_failure: str | None = None
    stalled: str | None = None  # set when a worker hung outside any benchmark (import, collection)
    warnings: list[str] = field(default_factory=list)  # e.g. a worker ended because a thread kept it alive
    session: dict[str, Any] | None = None  # the collect pass's rootdir and count of non-benchmarks
    #: Where the pass's wall time went (summed over its workers): whole worker
    #: lives, and the part before the first benchmark started (interpreter,
    #: imports, pytest, plugins, collection).  See benchwatch.runner.cost.
    worker_seconds: float = 0.0
    startup_seconds: float = 0.0
    workers: int = 0
    #: Worker seconds of each benchmark that had a worker of its own (the memory pass).
    seconds_of: dict[str, float] = field(default_factory=dict)


#: A line of pytest's -q progress ("..F.s [ 40%]"): says nothing about why a worker died.
_PROGRESS_LINE = re.compile(r"^[.sFExXp]+(\s+\[\s*\d+%\])?$")


def _tail(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    lines = [line for line in text.strip().splitlines() if line.strip() and not _PROGRESS_LINE.match(line.strip())]
    return " | ".join(lines[-4:])[-OUTPUT_TAIL_CHARS:]


def _crash_message(returncode: int, log: Path) -> str:
    tail = _tail(log)
    said = f": {tail}" if tail else " (it printed nothing: os._exit, or a signal with no message)"
    return f"the worker process {_describe_exit(returncode)} while running it{said}"


_MISSING_MODULE = re.compile(r"No module named '([^']+)'")


def explain_failure(log: Path, python: str) -> str:
    """The tail of a failed worker's output, led by the missing module when an import failed.

    A conftest importing a test-only dependency (hypothesis, say) that the
    worker's environment lacks is the usual cause; naming the module and the
    interpreter says what to install where.
    """
    tail = _tail(log)
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return tail
    missing = _MISSING_MODULE.search(text)
    if missing is None:
        return tail
    module = missing.group(1)
    return (
        f"the suite imports {module!r}, which is not installed in the workers' environment ({python}); "
        f"install it there (or let per-ref environments install the project's test dependencies): {tail}"
    )


# Workers of other threads (the instruction pass runs several at once) are children too: a
# worker's clean-up must not take them for strays.  Starting and sweeping hold the lock.
_LIVE: set[int] = set()
_LIVE_LOCK = threading.Lock()


def _sweep(process: subprocess.Popen, known: set[int]) -> None:
    with _LIVE_LOCK:
        _LIVE.discard(process.pid)
        reaper.reap_strays(known | _LIVE)


def _kill_group(process: subprocess.Popen, known: set[int]) -> None:
    """Kill the worker, its process group and every descendant that left the group (see reaper)."""
    reaper.kill_group(process.pid)
    process.wait()
    _sweep(process, known)


def _worker_environment(command: WorkerCommand) -> dict[str, str]:
    """The worker's environment: ``command.env`` (or this process's) with ``extra_env``, without pytest-xdist's.

    pytest-benchmark turns itself off where it sees ``PYTEST_XDIST_WORKER``, so
    a benchwatch run started from inside an xdist test session measured nothing.
    """
    base = os.environ if command.env is None else command.env
    env = {key: value for key, value in base.items() if not key.startswith("PYTEST_XDIST_")}
    env.update(dict(command.extra_env))
    return env


def _describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with code {returncode}"


def run_pass(
    *,
    command: WorkerCommand,
    mode: str,
    targets: Sequence[str],
    timeout: float,
    capture_dir: Path | None = None,
    keep_captures: bool = False,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    scratch_dir: Path | None = None,
) -> PassOutcome:
    """Run ``targets`` (pytest node ids or paths) in fresh workers until each has an outcome.

    ``timeout`` bounds each benchmark (its setup, measurement and teardown),
    not the pass.  In ``collect`` mode ``targets`` are suite paths.  The
    events and output files go to ``scratch_dir`` (the caller's, which it
    removes) or to a temporary directory.
    """
    outcome = PassOutcome()
    remaining = list(targets)
    own_scratch = (
        tempfile.TemporaryDirectory(prefix="benchwatch-worker-")
        if scratch_dir is None
        else contextlib.nullcontext(str(scratch_dir))
    )
    with reaper.subreaper(), own_scratch as scratch:
        attempt = 0
        while remaining:
            attempt += 1
            events = Path(scratch) / f"events-{attempt}.jsonl"
            log = Path(scratch) / f"output-{attempt}.log"
            progressed = _one_worker(
                command=command,
                mode=mode,
                targets=remaining,
                timeout=timeout,
                events=events,
                log=log,
                capture_dir=capture_dir,
                keep_captures=keep_captures,
                outcome=outcome,
                on_event=on_event,
            )
            if mode == "collect":
                break
            remaining = [name for name in remaining if name not in outcome.results]
            if remaining and not progressed:
                # The worker died before starting any benchmark (collection error,
                # broken conftest): every remaining benchmark fails with its output.
                outcome.worker_failure = (
                    outcome.stalled or explain_failure(log, command.python) or "the worker process produced no output"
                )
                for name in remaining:
                    outcome.results[name] = {
                        "event": "result",
                        "name": name,
                        "status": "error",
                        "error": f"worker failed before running it: {outcome.worker_failure}",
                    }
                remaining = []
    return outcome


def _decode_samples(event: dict[str, Any]) -> None:
    """The worker's samples (raw float64 bytes in base64, or a JSON list) as a read-only float64 array.

    An array, not a list of Python floats: 8 bytes a sample instead of 32, for
    every run of every benchmark the runner holds until the result is assembled.
    """
    encoded = event.pop("samples_f64", None)
    if encoded is not None:
        values = np.frombuffer(
            base64.b64decode(encoded), dtype=np.float64
        )  # the worker's own byte order, this machine's
        values.flags.writeable = False
        event["samples"] = values
    elif isinstance(event.get("samples"), list):
        event["samples"] = frozen_samples(event["samples"])


@dataclass
class _Watch:
    """What the watchdog knows of one worker: the benchmark running, since when idle, any progress."""

    current: tuple[str, float] | None = None
    # Time outside any benchmark (import, collection, between benchmarks) is bounded too.
    idle_since: float = field(default_factory=time.monotonic)
    progressed: bool = False
    finished: tuple[float, tuple[str, ...]] | None = None  # (when, the threads still alive) once pytest is done
    spawned: float = field(default_factory=time.monotonic)
    first_event: float | None = None  # when the first benchmark started: the end of start-up

    def take(self, event: dict[str, Any], outcome: PassOutcome) -> None:
        self.progressed = True
        if self.first_event is None and event["event"] in ("start", "session"):
            self.first_event = time.monotonic()
        if event["event"] == "start":
            self.current = (event["name"], time.monotonic())
        elif event["event"] == "result":
            _decode_samples(event)
            outcome.results[event["name"]] = event
            self.current = None
            self.idle_since = time.monotonic()
        elif event["event"] == "collected":
            outcome.collected.append(event)
        elif event["event"] == "session":
            outcome.session = event
        elif event["event"] == "finished":
            self.finished = (time.monotonic(), tuple(event.get("threads", ())))

    def overdue(self, timeout: float, mode: str, outcome: PassOutcome) -> dict[str, Any] | None:
        """The timeout result of the benchmark past its timeout (or a stall noted in ``outcome``); else None."""
        now = time.monotonic()
        # Under Callgrind the interpreter's own shutdown takes tens of times longer.
        grace = EXIT_GRACE_SECONDS * (10 if mode == "instructions" else 1)
        if self.finished is not None and now - self.finished[0] > grace:
            threads = ", ".join(repr(name) for name in self.finished[1]) or "none named"
            outcome.warnings.append(
                f"the {mode} worker finished its benchmarks but did not exit within {grace:g} s "
                f"and was ended; non-daemon thread(s) still running: {threads} "
                "(make them daemon threads, or stop and join them in the fixture's teardown)"
            )
            return {}
        # Not under Callgrind: its start-up alone runs tens of times slower than the timeout's scale.
        if self.current is None and mode != "instructions" and now - self.idle_since > timeout:
            where = "collecting benchmarks" if not self.progressed else "between benchmarks"
            outcome.stalled = (
                f"the worker hung {where} (import, collection or fixtures) past the timeout of {timeout:g} s "
                "and was killed"
            )
            if mode == "collect":
                outcome.worker_failure = outcome.stalled
            return {}
        if self.current is not None and now - self.current[1] > timeout:
            return {
                "event": "result",
                "name": self.current[0],
                "status": "timeout",
                "error": f"did not finish within its timeout of {timeout:g} s; the worker was killed",
            }
        return None

    def account(self, outcome: PassOutcome) -> None:
        """Add this worker's life and start-up to ``outcome`` (benchwatch.runner.cost)."""
        now = time.monotonic()
        outcome.workers += 1
        outcome.worker_seconds += now - self.spawned
        outcome.startup_seconds += (self.first_event or now) - self.spawned


def _one_worker(
    *,
    command: WorkerCommand,
    mode: str,
    targets: Sequence[str],
    timeout: float,
    events: Path,
    log: Path,
    capture_dir: Path | None,
    keep_captures: bool,
    outcome: PassOutcome,
    on_event: Callable[[dict[str, Any]], None] | None,
) -> bool:
    argv = command.argv(events=events, mode=mode, targets=targets, capture_dir=capture_dir, keep_captures=keep_captures)
    # Through the shim: it cleans up the worker's processes and this scratch directory even if
    # this process is killed with SIGKILL (benchwatch.runner.shim).
    shim = [command.python, "-m", "benchwatch.runner.shim", str(os.getpid()), str(events.parent), "--"]
    reader = _EventReader(events)
    known = reaper.children()
    with open(log, "wb") as log_stream:
        env = _worker_environment(command)
        with _LIVE_LOCK:
            process = subprocess.Popen(
                [*shim, *argv],
                cwd=command.cwd,
                env=env,
                stdout=log_stream,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            _LIVE.add(process.pid)
        watch = _Watch()
        try:
            while True:
                finished = process.poll() is not None
                for event in reader.read():
                    watch.take(event, outcome)
                    if on_event is not None:
                        on_event(event)
                if finished:
                    break
                overdue = watch.overdue(timeout, mode, outcome)
                if overdue is not None:
                    _kill_group(process, known)
                    watch.account(outcome)
                    if overdue:
                        outcome.results[overdue["name"]] = overdue
                        if on_event is not None:
                            on_event(overdue)
                    return watch.progressed or bool(overdue)
                time.sleep(POLL_SECONDS)
        except BaseException:
            _kill_group(process, known)
            raise
    watch.account(outcome)
    # The worker is gone; anything it started (same group or its own session) goes with it.
    reaper.kill_group(process.pid)
    _sweep(process, known)
    if watch.current is not None:
        name = watch.current[0]
        outcome.results[name] = {
            "event": "result",
            "name": name,
            "status": "crashed",
            "error": _crash_message(process.returncode, log),
        }
        if on_event is not None:
            on_event(outcome.results[name])
    elif mode == "collect" and process.returncode not in (0, 5):
        outcome.worker_failure = (
            f"collection {_describe_exit(process.returncode)}: {explain_failure(log, command.python)}"
        )
    return watch.progressed
