"""Go benchmark text: the output of ``go test -bench`` (what benchstat reads).

Input looks like::

    goos: linux
    goarch: amd64
    pkg: example.com/demo
    cpu: AMD EPYC
    BenchmarkSort/size=10-8   	   69202	       345.4 ns/op	      24 B/op	       1 allocs/op
    --- FAIL: BenchmarkBroken
        fail_test.go:17: lookup table missing
    FAIL

How it maps onto the results model:

* Every result line is one **run** (each ``-count`` repetition is a fresh
  measurement), holding **one sample**: the ``ns/op`` figure converted to
  seconds, with ``iterations`` = the iteration column ``N``, because Go's
  figure is the mean of ``N`` calls.  Use ``-count 10`` (or more) to give
  benchwatch runs to compare.
* ``B/op`` and ``allocs/op`` (``-benchmem`` or ``b.ReportAllocs``) go into
  ``Run.memory``: ``allocations`` = allocs/op and ``peak_bytes`` = B/op.
  Go's B/op is the number of **bytes allocated per operation**, not a
  high-water mark; benchwatch stores it in ``peak_bytes`` so the memory
  verdicts still apply, and ``settings['memory_meaning']`` of the result says
  so.  Other units (MB/s, ``b.ReportMetric`` figures) are ignored.
* Names keep the full benchmark name including sub-benchmarks
  (``BenchmarkSort/size=10``).  The trailing ``-N`` that Go appends when
  GOMAXPROCS is not 1 is removed into ``params['gomaxprocs']``, as benchstat
  does by default, so results from machines with different CPU counts
  compare by name.  If one file holds the same benchmark at several
  GOMAXPROCS values (``go test -cpu 1,2,4``) the names are kept exactly as
  printed (``BenchmarkSum``, ``BenchmarkSum-2`` ...) so they stay distinct.
  Like benchstat, a sub-benchmark name that itself ends in ``-<digits>`` is
  ambiguous and is read as a GOMAXPROCS suffix.
* Configuration lines ``key: value`` before the results go into the
  environment: ``cpu`` becomes ``cpu_model``; ``goos``, ``goarch``, ``pkg``
  and any other key go into ``environment.extra``.  When the file holds more
  than one package (``go test -bench . ./...``), benchmark names are prefixed
  with their package (``example.com/demo.BenchmarkSort/size=10``) so equal
  names in different packages stay apart; with a single package they are not.
* ``--- FAIL: BenchmarkX`` blocks record a run of ``BenchmarkX`` with status
  ``error`` and the indented messages as its error.  ``PASS``, ``FAIL``,
  ``ok  pkg 1.2s``, ``exit status 1``, ``--- BENCH:``/``--- SKIP:`` blocks and
  bare benchmark-name lines (``-v``) are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from benchwatch.adapters.registry import Format, Probe
from benchwatch.errors import InputError
from benchwatch.model import RUN_ERROR, BenchmarkResult, Environment, MemoryProfile, ResultSet, Run, frozen_samples

SNIFF = re.compile(rb"^Benchmark\S+\s+\d+\s+[\d.]+ ns/op", re.MULTILINE)
CONFIG = re.compile(r"^([a-z][^\s:]*):\s*(.*?)\s*$")
GOMAXPROCS = re.compile(r"^(.+)-(\d+)$")
STATUS_HEADER = re.compile(r"^(\s*)--- (FAIL|BENCH|SKIP|PASS): (\S+)")
EXPECTED_LINE = "'BenchmarkName  N  <value> ns/op  [<value> <unit> ...]'"
NANOSECOND = 1e-9


@dataclass
class _Entry:
    """What one file says about one printed benchmark name in one package."""

    pkg: str | None
    printed: str  # as printed, with any -N suffix
    base: str  # without the -N suffix
    gomaxprocs: int | None
    runs: list[Run] = field(default_factory=list)


def _sniff(probe: Probe) -> bool:
    return probe.document is None and bool(probe.raw) and SNIFF.search(probe.raw) is not None


def _split_procs(name: str) -> tuple[str, int | None]:
    match = GOMAXPROCS.match(name)
    if match and "/" not in match.group(2):
        return match.group(1), int(match.group(2))
    return name, None


def _parse_result_line(fields: list[str], line_number: int, line: str, path: Path) -> Run:
    def garbled(why: str) -> InputError:
        shown = line.strip()
        if len(shown) > 120:
            shown = shown[:117] + "..."
        return InputError(path, f"line {line_number}: {why} in Go benchmark line {shown!r} (expected {EXPECTED_LINE})")

    try:
        iterations = int(fields[1])
    except ValueError:
        raise garbled(f"iteration count {fields[1]!r} is not an integer") from None
    if iterations < 1:
        raise garbled(f"iteration count {iterations} is below 1")
    rest = fields[2:]
    if not rest or len(rest) % 2:
        raise garbled("value/unit pairs are incomplete")
    metrics: dict[str, float] = {}
    for value_text, unit in zip(rest[::2], rest[1::2], strict=False):
        try:
            metrics[unit] = float(value_text)
        except ValueError:
            raise garbled(f"value {value_text!r} for {unit} is not a number") from None
    if "ns/op" not in metrics:
        raise garbled("no ns/op figure")
    seconds = metrics["ns/op"] * NANOSECOND
    if not seconds >= 0 or seconds == float("inf"):
        raise garbled(f"ns/op {metrics['ns/op']!r} is not a finite non-negative number")
    memory = None
    if "B/op" in metrics or "allocs/op" in metrics:
        memory = MemoryProfile(
            peak_bytes=round(metrics.get("B/op", 0.0)),
            allocations=round(metrics.get("allocs/op", 0.0)),
        )
    return Run(samples=frozen_samples([seconds]), iterations=iterations, memory=memory)


@dataclass
class _Scan:
    """What a pass over the output found, before benchmarks are named and grouped."""

    config: dict[str, str] = field(default_factory=dict)
    packages: list[str] = field(default_factory=list)
    entries: dict[tuple[str | None, str], _Entry] = field(default_factory=dict)
    failures: list[tuple[str | None, str, str, list[str]]] = field(default_factory=list)  # pkg, name, indent, messages


def parse_go_bench(text: str, path: Path) -> ResultSet:
    """Parse ``go test -bench`` output into a ResultSet (see the module doc)."""
    scan = _scan(text, path)
    if not scan.entries and not scan.failures:
        raise InputError(path, f"no Go benchmark result lines (expected {EXPECTED_LINE} lines from go test -bench)")
    config, packages = scan.config, scan.packages
    extra: dict[str, str] = {key: value for key, value in config.items() if key != "cpu"}
    if packages:
        extra["pkg"] = packages[0] if len(packages) == 1 else ", ".join(packages)
    environment = Environment(cpu_model=config.get("cpu"), extra=extra)
    return ResultSet(
        benchmarks=tuple(
            BenchmarkResult(name=name, runs=tuple(runs), params=params)
            for name, (runs, params) in _benchmarks(scan).items()
        ),
        environment=environment,
        source="go test -bench",
        settings={
            "memory_meaning": "peak_bytes holds Go's B/op (bytes allocated per op, not a peak); "
            "allocations holds allocs/op",
        },
    )


def _scan(text: str, path: Path) -> _Scan:
    """One pass over the lines: configuration, result lines per package, --- FAIL blocks."""
    scan = _Scan()
    pkg: str | None = None
    block: tuple[str, str, list[str]] | None = None  # (kind, indent, messages) of the open --- block
    for line_number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = STATUS_HEADER.match(line)
        if header:
            indent, kind, name = header.group(1), header.group(2), header.group(3)
            messages: list[str] = []
            block = (kind, indent, messages)
            if kind == "FAIL":
                scan.failures.append((pkg, name, indent, messages))
            continue
        if block is not None:
            kind, indent, messages = block
            if line.startswith((indent + " ", indent + "\t")):
                if stripped and not stripped.startswith("--- "):
                    messages.append(stripped)
                continue
            block = None
        if not stripped:
            continue
        if line.startswith("Benchmark"):
            fields = line.split()
            if len(fields) == 1:
                continue  # the bare name go test -v prints before running a benchmark
            run = _parse_result_line(fields, line_number, line, path)
            base, procs = _split_procs(fields[0])
            key = (pkg, fields[0])
            if key not in scan.entries:
                scan.entries[key] = _Entry(pkg=pkg, printed=fields[0], base=base, gomaxprocs=procs)
            scan.entries[key].runs.append(run)
            continue
        config_match = CONFIG.match(line)
        if config_match and not line.startswith(("ok ", "ok\t")):
            key_name, value = config_match.group(1), config_match.group(2)
            if key_name == "pkg":
                pkg = value
                if value not in scan.packages:
                    scan.packages.append(value)
            else:
                scan.config.setdefault(key_name, value)
            continue
        # PASS, FAIL, "ok  pkg 1.2s", "exit status 1", test log output: not results.
    return scan


def _benchmarks(scan: _Scan) -> dict[str, tuple[list[Run], dict]]:
    """Display name -> (runs, params): results and failures grouped per benchmark."""
    # Which bases appear at several GOMAXPROCS values in one package: keep printed names there.
    procs_of_base: dict[tuple[str | None, str], set[int | None]] = {}
    for entry in scan.entries.values():
        procs_of_base.setdefault((entry.pkg, entry.base), set()).add(entry.gomaxprocs)
    prefix_packages = len(scan.packages) > 1

    def display_name(entry_pkg: str | None, name: str) -> str:
        return f"{entry_pkg}.{name}" if prefix_packages and entry_pkg else name

    benchmarks: dict[str, tuple[list[Run], dict]] = {}
    for entry in scan.entries.values():
        several = len(procs_of_base[(entry.pkg, entry.base)]) > 1
        name = display_name(entry.pkg, entry.printed if several else entry.base)
        params = {"gomaxprocs": entry.gomaxprocs} if entry.gomaxprocs is not None else {}
        runs, _ = benchmarks.setdefault(name, ([], params))
        runs.extend(entry.runs)

    # A failing parent (BenchmarkX) whose sub-benchmark failed has no message of its own.
    failed_names = [(fail_pkg, name) for fail_pkg, name, _, _ in scan.failures]
    for fail_pkg, name, _, messages in scan.failures:
        has_failing_child = any(
            other_pkg == fail_pkg and other.startswith(name + "/") for other_pkg, other in failed_names
        )
        if has_failing_child and not messages:
            continue
        base, _ = _split_procs(name)
        several = len(procs_of_base.get((fail_pkg, base), set())) > 1
        target = name if several else base
        error = f"--- FAIL: {name}" + (": " + " | ".join(messages) if messages else "")
        run = Run(samples=frozen_samples(()), status=RUN_ERROR, error=error)
        runs, _ = benchmarks.setdefault(display_name(fail_pkg, target), ([], {}))
        runs.append(run)
    return benchmarks


def _load(probe: Probe) -> ResultSet:
    raw = probe.raw
    if not raw:
        if probe.path.is_dir():
            raise InputError(probe.path, "is a directory, expected go test -bench text output")
        if probe.document is not None:
            raise InputError(probe.path, "is JSON, expected go test -bench text output")
        raise InputError(probe.path, "empty file, expected go test -bench text output")
    text = raw.decode("utf-8", errors="replace")
    return parse_go_bench(text, probe.path)


FORMAT = Format(
    name="go",
    description="go test -bench text output (benchstat input)",
    sniff=_sniff,
    load=_load,
)
