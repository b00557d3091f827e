"""pytest-benchmark JSON (``--benchmark-json`` / ``--benchmark-autosave``).

One file is one pytest session, so one process run: each entry of
``benchmarks`` becomes a BenchmarkResult with a single Run.

Since pytest-benchmark 3.0 ``stats.data`` holds every round's time divided
by that round's ``iterations`` (calibrated loops per round), so the samples
are round means when ``iterations`` > 1; the Run records that count.  Older
files (2.x, 2015) store only summary statistics: they become a Run without
samples whose ``summary`` holds the file's finite numeric figures, and the
benchmark is marked ``has_raw_samples=False``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from benchwatch.adapters.json_values import is_number, json_object
from benchwatch.adapters.pyperf import looks_like_pyperf
from benchwatch.adapters.registry import Format, Probe
from benchwatch.errors import InputError
from benchwatch.model import BenchmarkResult, Environment, ResultSet, Run, frozen_samples
from benchwatch.resultfile import read_json_document, validate_result

SOURCE = "pytest-benchmark"

# pytest-benchmark writes these when it knows nothing better.
_NO_COMMIT = {"unversioned", ""}
_NO_BRANCH = {"(unknown)", ""}


def _sniff(probe: Probe) -> bool:
    # ``machine_info`` is pytest-benchmark's own key: with it, a malformed
    # ``benchmarks`` is still detected so that the load names what is wrong.
    document = probe.document
    if not isinstance(document, dict) or "schema_version" in document or "benchmarks" not in document:
        return False
    if looks_like_pyperf(document):
        return False
    return "machine_info" in document or (
        isinstance(document["benchmarks"], list) and ("version" in document or "datetime" in document)
    )


def _load(probe: Probe) -> ResultSet:
    path = probe.path
    document = probe.document if probe.document is not None else read_json_document(path)
    if not isinstance(document, dict):
        raise InputError(path, "expected a pytest-benchmark JSON object at the top level")
    entries = document.get("benchmarks")
    if not isinstance(entries, list):
        raise InputError(path, "'benchmarks' must be a list of pytest-benchmark entries")
    started_at = document.get("datetime") if isinstance(document.get("datetime"), str) else None
    benchmarks = tuple(_benchmark(entry, index, started_at, path) for index, entry in enumerate(entries, start=1))
    settings: dict[str, Any] = {}
    if isinstance(document.get("version"), str):
        settings["pytest_benchmark_version"] = document["version"]
    result = ResultSet(
        benchmarks=benchmarks,
        environment=_environment(document),
        source=SOURCE,
        created_at=started_at,
        settings=settings,
    )
    validate_result(result, path)
    return result


def _benchmark(entry: Any, index: int, started_at: str | None, path: Any) -> BenchmarkResult:
    if not isinstance(entry, dict):
        raise InputError(path, f"benchmark {index}: expected an object with 'name' and 'stats'")
    name = entry.get("fullname") or entry.get("name")
    if not isinstance(name, str) or not name:
        raise InputError(path, f"benchmark {index}: expected a string 'fullname' or 'name'")
    where = f"benchmark {name!r}"
    stats = entry.get("stats")
    if not isinstance(stats, dict):
        raise InputError(path, f"{where}: expected a 'stats' object")
    iterations = stats.get("iterations", 1)
    if not isinstance(iterations, int) or isinstance(iterations, bool) or iterations < 1:
        raise InputError(path, f"{where}: stats.iterations must be a positive integer, got {iterations!r}")
    group = entry.get("group")
    if group is not None and not isinstance(group, str):
        raise InputError(path, f"{where}: group must be a string or null, got {group!r}")
    params = entry.get("params")
    if params is not None and not isinstance(params, dict):
        raise InputError(path, f"{where}: params must be an object or null")

    if "data" in stats:
        data = stats["data"]
        if not isinstance(data, list) or not all(is_number(value) for value in data):
            raise InputError(path, f"{where}: stats.data must be a list of numbers")
        for position, value in enumerate(data, start=1):
            if not math.isfinite(value):
                raise InputError(path, f"{where}: stats.data item {position} is {value!r}, expected a finite number")
        run = Run(samples=frozen_samples(data), iterations=iterations, started_at=started_at)
        has_raw_samples = True
    else:
        summary = _summary(stats)
        if "median" not in summary and "mean" not in summary:
            raise InputError(path, f"{where}: stats has neither 'data' (raw samples) nor a finite 'median' or 'mean'")
        run = Run(samples=frozen_samples(()), iterations=iterations, started_at=started_at, summary=summary)
        has_raw_samples = False
    return BenchmarkResult(
        name=name,
        runs=(run,),
        group=group,
        params=params or {},
        has_raw_samples=has_raw_samples,
    )


def _summary(stats: Mapping[str, Any]) -> dict[str, float]:
    """The finite numeric figures of a summary-only ``stats`` (min, max, mean, median, rounds ...)."""
    return {
        key: value
        for key, value in stats.items()
        if key not in ("data", "iterations") and is_number(value) and math.isfinite(value)
    }


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _environment(document: Mapping[str, Any]) -> Environment:
    machine = json_object(document.get("machine_info"))
    commit = json_object(document.get("commit_info"))
    cpu = json_object(machine.get("cpu"))

    build = machine.get("python_build")
    if isinstance(build, list):
        build = ", ".join(str(part) for part in build)
    system, release = _text(machine.get("system")), _text(machine.get("release"))
    commit_id = _text(commit.get("id"))
    branch = _text(commit.get("branch"))
    dirty = commit.get("dirty")
    count = cpu.get("count")

    used = {"cpu", "python_build", "python_version", "python_implementation", "node", "system", "release"}
    extra: dict[str, Any] = {
        key: value for key, value in machine.items() if key not in used and (isinstance(value, str) or is_number(value))
    }
    for key in ("hz_actual_friendly", "arch"):
        if isinstance(cpu.get(key), str):
            extra[f"cpu_{key}"] = cpu[key]
    for key, value in commit.items():
        if key not in ("id", "branch", "dirty") and (isinstance(value, str) or is_number(value)):
            extra[f"commit_{key}"] = value
    if isinstance(document.get("version"), str):
        extra["pytest_benchmark_version"] = document["version"]

    return Environment(
        cpu_model=_text(cpu.get("brand_raw")) or _text(cpu.get("brand")),
        cpu_count=count if isinstance(count, int) and not isinstance(count, bool) else None,
        os=" ".join(part for part in (system, release) if part) or None,
        python_version=_text(machine.get("python_version")),
        python_implementation=_text(machine.get("python_implementation")),
        python_build=_text(build),
        hostname=_text(machine.get("node")),
        git_commit=commit_id if commit_id not in _NO_COMMIT else None,
        git_branch=branch if branch not in _NO_BRANCH else None,
        git_dirty=dirty if isinstance(dirty, bool) else None,
        collected_at=_text(document.get("datetime")),
        extra=extra,
    )


FORMAT = Format(
    name="pytest-benchmark",
    description="pytest-benchmark JSON (--benchmark-json / autosave)",
    sniff=_sniff,
    load=_load,
)
