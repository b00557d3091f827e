"""Which formats benchwatch can read, and detection of a file's format by content."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchwatch.errors import InputError
from benchwatch.model import ResultSet


@dataclass(frozen=True)
class Probe:
    """What detection looks at: the path, its (decompressed) bytes, and its JSON if it parses.

    For a directory (asv results) ``raw`` is empty and ``document`` is None.
    """

    path: Path
    raw: bytes
    document: Any


@dataclass(frozen=True)
class Format:
    """One importable format.

    ``sniff`` answers whether a probe looks like this format (cheap, content
    based); ``load`` turns it into a ResultSet or raises InputError naming
    the file and what was expected.
    """

    name: str
    description: str
    sniff: Callable[[Probe], bool]
    load: Callable[[Probe], ResultSet]


# Order matters only for speed: sniffers must be mutually exclusive.
FORMAT_MODULES = (
    "benchwatch.adapters.native",
    "benchwatch.adapters.pytest_benchmark",
    "benchwatch.adapters.pyperf",
    "benchwatch.adapters.gobench",
    "benchwatch.adapters.google_benchmark",
    "benchwatch.adapters.hyperfine",
    "benchwatch.adapters.asv",
)


def available_formats() -> tuple[Format, ...]:
    return tuple(importlib.import_module(name).FORMAT for name in FORMAT_MODULES)


def format_names() -> tuple[str, ...]:
    return tuple(fmt.name for fmt in available_formats())


def probe(path: Path) -> Probe:
    """Read ``path`` for detection: bytes (gunzipped) and parsed JSON when it is JSON.

    The bytes are read once, so ``-`` (standard input) and pipes work for
    every format, not only JSON ones.
    """
    from benchwatch.resultfile import parse_json_bytes, read_input_bytes

    path = Path(path)
    if str(path) != "-" and path.is_dir():
        return Probe(path=path, raw=b"", document=None)
    raw = read_input_bytes(path)
    if not raw.strip():
        raise InputError(path, "empty file, expected a result file")
    try:
        document = parse_json_bytes(raw, path)
    except InputError as error:
        if "JSON" not in error.problem:
            raise
        document = None
    return Probe(path=path, raw=raw if document is None else b"", document=document)


def detect_format(file_probe: Probe) -> Format:
    """The one format whose sniffer accepts the probe, or InputError listing what was expected."""
    for fmt in available_formats():
        if fmt.sniff(file_probe):
            return fmt
    expected = ", ".join(format_names())
    if file_probe.document is None and file_probe.raw.lstrip()[:1] in (b"{", b"["):
        # Looks like JSON but did not parse: say so rather than "unknown format".
        from benchwatch.resultfile import parse_json_bytes

        parse_json_bytes(file_probe.raw, file_probe.path)
    if file_probe.document is None and not file_probe.raw:
        raise InputError(file_probe.path, "is a directory but not an asv results directory (expected a result file)")
    raise InputError(file_probe.path, f"unrecognised format (expected one of: {expected})")


def format_by_name(name: str) -> Format:
    for fmt in available_formats():
        if fmt.name == name:
            return fmt
    raise InputError(name, f"unknown format name (known: {', '.join(format_names())})")


def load_any(path: Path, format_name: str | None = None) -> ResultSet:
    """Load a benchwatch result or any importable file, by content or forced format."""
    file_probe = probe(path)
    fmt = format_by_name(format_name) if format_name else detect_format(file_probe)
    return fmt.load(file_probe)


def merge_results(results: list[ResultSet], *, source: str | None = None) -> ResultSet:
    """Merge results of the same benchmarks: their runs are concatenated per benchmark.

    Used for ``benchwatch import a.json b.json``, where each file is one
    process run (pytest-benchmark) or brings its own runs (pyperf).  The
    environment of the first result is kept; the others' are listed in
    ``settings['merged_environments']``.
    """
    from benchwatch.model import BenchmarkResult

    if not results:
        raise ValueError("merge_results needs at least one result")
    order: list[str] = []
    runs: dict[str, list] = {}
    counted: dict[str, list] = {}  # instruction runs, concatenated like the timed runs
    executed: dict[str, dict[str, str] | None] = {}  # the packages their calls executed, united
    first: dict[str, BenchmarkResult] = {}
    raw: dict[str, bool] = {}
    for result in results:
        for benchmark in result.benchmarks:
            if benchmark.name not in first:
                order.append(benchmark.name)
                first[benchmark.name] = benchmark
                runs[benchmark.name] = []
                counted[benchmark.name] = []
                raw[benchmark.name] = True
                executed[benchmark.name] = None
            if benchmark.executed_packages is not None:
                executed[benchmark.name] = {**(executed[benchmark.name] or {}), **benchmark.executed_packages}
            runs[benchmark.name].extend(benchmark.runs)
            counted[benchmark.name].extend(benchmark.instruction_runs)
            raw[benchmark.name] = raw[benchmark.name] and benchmark.has_raw_samples
    merged = tuple(
        BenchmarkResult(
            name=name,
            runs=tuple(runs[name]),
            group=first[name].group,
            params=first[name].params,
            has_raw_samples=raw[name],
            unit=first[name].unit,
            instruction_runs=tuple(counted[name]),
            executed_packages=executed[name],
        )
        for name in order
    )
    settings = dict(results[0].settings)
    if len(results) > 1:
        settings["merged_from"] = len(results)
    return ResultSet(
        benchmarks=merged,
        environment=results[0].environment,
        source=source or results[0].source,
        created_at=results[0].created_at,
        settings=settings,
        count_fingerprint=results[0].count_fingerprint,
    )


def import_files(paths: list[Path], *, format_name: str | None = None) -> ResultSet:
    """Load several files (any known format) and merge them, each file adding its runs.

    The same content given twice is refused: its runs would count as
    independent process runs and narrow every confidence interval.
    """
    reject_duplicates([Path(path) for path in paths])
    return merge_results([load_any(Path(path), format_name) for path in paths])


def _fingerprint(path: Path) -> str | None:
    import hashlib

    if str(path) == "-":
        return None  # read once, later; nothing to compare it with
    try:
        if path.is_dir():
            return f"directory:{path.resolve()}"
        if not path.is_file():
            return None  # a pipe (/dev/fd/N) can be read only once: by its loader
        with open(path, "rb") as stream:
            return hashlib.file_digest(stream, "sha256").hexdigest()
    except OSError:
        return None  # the loader reports the file's problem with its own message


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size if str(path) != "-" and path.is_file() else None
    except OSError:
        return None


def reject_duplicates(paths: list[Path]) -> None:
    """InputError when two of ``paths`` have identical content (or are the same directory)."""
    sizes = [_size(path) for path in paths]
    seen: dict[str, Path] = {}
    for path, size in zip(paths, sizes, strict=True):
        if size is not None and sizes.count(size) == 1:
            continue  # a regular file of a size no other has: no twin, and no need to hash it
        fingerprint = _fingerprint(path)
        if fingerprint is None:
            continue
        if fingerprint in seen:
            first = seen[fingerprint]
            same = "is given twice" if first == path else f"has the same content as {first}"
            raise InputError(
                path, f"{same}: one run's file counted twice would pass for independent runs; give each file once"
            )
        seen[fingerprint] = path
