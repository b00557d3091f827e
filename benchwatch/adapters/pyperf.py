"""pyperf / pyperformance JSON (format version "1.0", often gzipped).

Layout: ``{"version": "1.0", "metadata": {...}, "benchmarks": [{"metadata":
{...}, "runs": [{"metadata": {...}, "values": [...], "warmups": [...]}]}]}``.
pyperf hoists metadata shared by all runs of a benchmark into the
benchmark's ``metadata`` and metadata shared by all benchmarks into the
top-level ``metadata``; a run's effective metadata is top <- benchmark <- run
(pyperf ``_bench.py``), and it is resolved the same way here.

Each pyperf run is one worker process.  Its ``values`` are seconds per loop
iteration: the raw time divided by ``loops`` x ``inner_loops``, so the Run
records that product as ``iterations``.  Calibration runs (warmups only, no
values) carry no measurement and are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from benchwatch.adapters.json_values import is_finite_number, is_number
from benchwatch.adapters.registry import Format, Probe
from benchwatch.errors import InputError
from benchwatch.model import BenchmarkResult, Environment, ResultSet, Run, frozen_samples
from benchwatch.resultfile import read_json_document, validate_result

SOURCE = "pyperf"

# Top-level metadata mapped to Environment fields; everything else goes to ``extra``.
_ENVIRONMENT_KEYS = {
    "cpu_model_name": "cpu_model",
    "cpu_count": "cpu_count",
    "platform": "os",
    "python_version": "python_version",
    "python_implementation": "python_implementation",
    "hostname": "hostname",
    "commit_id": "git_commit",
    "commit_branch": "git_branch",
}
_GOVERNOR = re.compile(r"governor:([\w-]+)")


def looks_like_pyperf(document: Any) -> bool:
    """Whether a parsed JSON document is a pyperf file (also used to keep other sniffers off it).

    A "1.x" version string with a top-level ``metadata`` object is pyperf even
    when ``benchmarks`` is malformed, so that the load names what is wrong.
    """
    if not isinstance(document, dict) or "schema_version" in document or "benchmarks" not in document:
        return False
    version, entries = document.get("version"), document["benchmarks"]
    if isinstance(version, str) and version.startswith("1.") and isinstance(document.get("metadata"), dict):
        return True
    return (
        version is not None
        and isinstance(entries, list)
        and bool(entries)
        and all(isinstance(entry, dict) and "runs" in entry for entry in entries)
    )


def _sniff(probe: Probe) -> bool:
    return looks_like_pyperf(probe.document)


def _load(probe: Probe) -> ResultSet:
    path = probe.path
    document = probe.document if probe.document is not None else read_json_document(path)
    if not isinstance(document, dict):
        raise InputError(path, "expected a pyperf JSON object at the top level")
    version = document.get("version")
    if not (isinstance(version, str) and version.startswith("1.")):
        raise InputError(
            path, f"pyperf file format version {version!r} is not supported (expected '1.0', pyperf >= 1.0)"
        )
    top = document.get("metadata") or {}
    if not isinstance(top, dict):
        raise InputError(path, "'metadata' must be an object")
    entries = document.get("benchmarks")
    if not isinstance(entries, list):
        raise InputError(path, "'benchmarks' must be a list of pyperf benchmarks")
    benchmarks = tuple(_benchmark(entry, index, top, path) for index, entry in enumerate(entries, start=1))
    result = ResultSet(
        benchmarks=benchmarks,
        environment=_environment(top, entries),
        source=SOURCE,
        created_at=_first_date(entries),
        settings={"pyperf_format_version": version},
    )
    validate_result(result, path)
    return result


def _benchmark(entry: Any, index: int, top: Mapping[str, Any], path: Any) -> BenchmarkResult:
    if not isinstance(entry, dict):
        raise InputError(path, f"benchmark {index}: expected an object with 'metadata' and 'runs'")
    own = entry.get("metadata", {})
    if not isinstance(own, dict):
        raise InputError(path, f"benchmark {index}: 'metadata' must be an object")
    metadata = {**top, **own}
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        raise InputError(path, f"benchmark {index}: metadata has no string 'name'")
    where = f"benchmark {name!r}"
    run_entries = entry.get("runs")
    if not isinstance(run_entries, list):
        raise InputError(path, f"{where}: 'runs' must be a list of runs")
    runs = []
    for run_index, run_entry in enumerate(run_entries, start=1):
        run = _run(run_entry, metadata, f"{where} run {run_index}", path)
        if run is not None:
            runs.append(run)
    if not runs:
        raise InputError(path, f"{where}: no run has values (only calibration runs or none)")
    unit = metadata.get("unit", "second")
    if not isinstance(unit, str) or not unit:
        raise InputError(path, f"{where}: metadata 'unit' must be a string, got {unit!r}")
    return BenchmarkResult(name=name, runs=tuple(runs), unit="seconds" if unit == "second" else unit)


_NUMBER_TYPES = (int, float)


def _run(entry: Any, inherited: Mapping[str, Any], where: str, path: Any) -> Run | None:
    if not isinstance(entry, dict):
        raise InputError(path, f"{where}: expected an object with 'values'")
    own = entry.get("metadata", {})
    if not isinstance(own, dict):
        raise InputError(path, f"{where}: 'metadata' must be an object")

    # Four keys are read: looked up in the run's metadata, then the benchmark's (a merged copy of every
    # key per run was a third of a pyperf import's time).
    def setting(key: str, default: Any = None) -> Any:
        return own[key] if key in own else inherited.get(key, default)

    values = entry.get("values")
    if values is None or values == []:
        return None  # calibration run: warmups only
    # type() rather than isinstance: JSON true is a bool, never the number 1.
    if not isinstance(values, list) or not all(type(value) in _NUMBER_TYPES for value in values):
        raise InputError(path, f"{where}: values must be a list of numbers")
    samples = frozen_samples(values)
    if not np.isfinite(samples).all():
        position = int(np.flatnonzero(~np.isfinite(samples))[0])
        raise InputError(path, f"{where}: value {position + 1} is {values[position]!r}, expected a finite number")
    iterations = 1
    for key in ("loops", "inner_loops"):
        factor = setting(key, 1)
        if not isinstance(factor, int) or isinstance(factor, bool) or factor < 1:
            raise InputError(path, f"{where}: metadata {key!r} must be a positive integer, got {factor!r}")
        iterations *= factor
    load = setting("load_avg_1min")
    date = setting("date")
    return Run(
        samples=samples,
        iterations=iterations,
        load_average=float(load) if is_finite_number(load) else None,
        started_at=date if isinstance(date, str) else None,
    )


def _first_date(entries: list[Any]) -> str | None:
    """The earliest run date in the file ("YYYY-MM-DD HH:MM:SS.ffffff" sorts as text)."""
    dates = [
        run["metadata"]["date"]
        for entry in entries
        if isinstance(entry, dict) and isinstance(entry.get("runs"), list)
        for run in entry["runs"]
        if isinstance(run, dict)
        and isinstance(run.get("metadata"), dict)
        and isinstance(run["metadata"].get("date"), str)
    ]
    return min(dates) if dates else None


def _shared_by_benchmarks(entries: list[Any], key: str) -> Any:
    """A benchmark-level metadata value every benchmark that states it agrees on, else None.

    pyperformance suites keep ``python_version`` per benchmark because a few
    benchmarks (run as commands) do not report it.
    """
    values = {
        repr(entry["metadata"][key]): entry["metadata"][key]
        for entry in entries
        if isinstance(entry, dict) and isinstance(entry.get("metadata"), dict) and key in entry["metadata"]
    }
    return next(iter(values.values())) if len(values) == 1 else None


def _environment(top: Mapping[str, Any], entries: list[Any]) -> Environment:
    fields: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in top.items():
        if key in _ENVIRONMENT_KEYS:
            fields[_ENVIRONMENT_KEYS[key]] = value
        elif isinstance(value, str) or is_number(value):
            extra[key] = value
    for key in ("python_version", "python_implementation"):
        if key not in top:
            shared = _shared_by_benchmarks(entries, key)
            if shared is not None:
                fields[_ENVIRONMENT_KEYS[key]] = shared
    for key, value in list(fields.items()):
        wanted = int if key == "cpu_count" else str
        if not isinstance(value, wanted) or isinstance(value, bool):
            extra[key] = value if isinstance(value, str) or is_number(value) else repr(value)
            del fields[key]
    governors = set(_GOVERNOR.findall(str(top.get("cpu_config", ""))))
    if len(governors) == 1:
        fields["cpu_governor"] = governors.pop()
    return Environment(**fields, collected_at=_first_date(entries), extra=extra)


FORMAT = Format(
    name="pyperf",
    description="pyperf / pyperformance JSON (version 1.0, .json or .json.gz)",
    sniff=_sniff,
    load=_load,
)
