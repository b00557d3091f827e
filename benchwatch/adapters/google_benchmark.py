"""Google Benchmark JSON (``--benchmark_format=json`` / ``--benchmark_out=FILE``).

The file has a ``context`` object (machine, library build) and a
``benchmarks`` list.  With ``--benchmark_repetitions=N`` every repetition
appears as a row with ``"run_type": "iteration"`` and a
``repetition_index``, followed by aggregate rows (``_mean``, ``_median``,
``_stddev``, ``_cv``, and ``BigO``/``RMS`` for complexity fits) with
``"run_type": "aggregate"``.

How it maps onto the results model:

* A benchmark is identified by ``run_name`` (the name without an aggregate
  suffix, e.g. ``BM_Accumulate/64``), in first-appearance order.
* Each iteration row is one **run** with **one sample**: ``real_time``
  converted from ``time_unit`` (ns/us/ms/s) to seconds, with ``iterations``
  = the row's ``iterations`` (Google Benchmark's figure is the mean over
  them).  Run with ``--benchmark_repetitions=10`` or so to give benchwatch
  runs to compare.
* Aggregate rows are **not** samples: they are ignored when iteration rows
  exist.  When the file holds only aggregates
  (``--benchmark_report_aggregates_only=true``), the benchmark gets one
  summary-only run (``median``/``mean``/``stddev`` in seconds) and
  ``has_raw_samples`` False.
* Rows with ``"error_occurred": true`` (``state.SkipWithError``) become runs
  with status ``error`` and the ``error_message``; rows skipped with a
  message (newer library versions: ``"skipped"``) likewise, prefixed
  ``skipped:``.
* ``context`` goes into the environment: ``host_name`` -> hostname,
  ``num_cpus`` -> cpu_count, ``date`` -> collected_at, ``load_avg`` ->
  load_average; ``mhz_per_cpu``, ``library_build_type`` (the build of the
  benchmark *library*, not of the code measured), ``cpu_scaling_enabled``,
  ``executable`` and a one-line description of ``caches`` go into
  ``environment.extra``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from benchwatch.adapters.json_values import json_object
from benchwatch.adapters.registry import Format, Probe
from benchwatch.errors import InputError
from benchwatch.model import RUN_ERROR, BenchmarkResult, Environment, ResultSet, Run, frozen_samples

TIME_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
EXPECTED = "Google Benchmark JSON rows with run_name, run_type, iterations, real_time and time_unit"


def _sniff(probe: Probe) -> bool:
    document = probe.document
    return (
        isinstance(document, dict)
        and isinstance(document.get("context"), dict)
        and isinstance(document.get("benchmarks"), list)
        and "schema_version" not in document
        and "machine_info" not in document
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _factor(row: dict[str, Any], where: str, path: Path) -> float:
    unit = row.get("time_unit", "ns")
    if unit not in TIME_UNITS:
        raise InputError(path, f"{where}: unknown time_unit {unit!r} (expected one of ns, us, ms, s)")
    return TIME_UNITS[unit]


def _caches_text(caches: Any) -> str | None:
    if not isinstance(caches, list):
        return None
    parts = []
    for cache in caches:
        if not isinstance(cache, dict):
            continue
        size = cache.get("size")
        size_text = f"{size // 1024} KiB" if isinstance(size, int) and size >= 1024 else str(size)
        parts.append(f"L{cache.get('level')} {cache.get('type')} {size_text} (x{cache.get('num_sharing')})")
    return ", ".join(parts) or None


def _environment(context: dict[str, Any]) -> Environment:
    extra: dict[str, Any] = {}
    for key in ("mhz_per_cpu", "library_build_type", "cpu_scaling_enabled", "executable"):
        value = context.get(key)
        if isinstance(value, (str, int, float)):
            extra[key] = value
    caches = _caches_text(context.get("caches"))
    if caches:
        extra["caches"] = caches
    load = context.get("load_avg")
    load_average = None
    if isinstance(load, list) and load and all(_number(value) is not None for value in load):
        load_average = tuple(float(value) for value in load)
    num_cpus = context.get("num_cpus")
    return Environment(
        hostname=context.get("host_name") if isinstance(context.get("host_name"), str) else None,
        cpu_count=num_cpus if isinstance(num_cpus, int) and not isinstance(num_cpus, bool) else None,
        collected_at=context.get("date") if isinstance(context.get("date"), str) else None,
        load_average=load_average,
        extra=extra,
    )


def _load(probe: Probe) -> ResultSet:
    path = probe.path
    document = probe.document
    if document is None and not path.is_dir():
        from benchwatch.resultfile import read_json_document

        document = read_json_document(path)  # not JSON: its parse error is the clearest message
    if not isinstance(document, dict) or not isinstance(document.get("benchmarks"), list):
        raise InputError(path, "not Google Benchmark JSON (expected an object with 'context' and 'benchmarks')")
    order: list[str] = []
    runs: dict[str, list[Run]] = {}
    aggregates: dict[str, dict[str, float]] = {}
    for index, row in enumerate(document["benchmarks"]):
        if not isinstance(row, dict):
            raise InputError(path, f"benchmarks[{index}] is not an object ({EXPECTED})")
        name = row.get("run_name") or row.get("name")
        if not isinstance(name, str) or not name:
            raise InputError(path, f"benchmarks[{index}] has no name or run_name ({EXPECTED})")
        where = f"benchmarks[{index}] ({name!r})"
        run_type = row.get("run_type", "aggregate" if "aggregate_name" in row else "iteration")
        if name not in runs:
            order.append(name)
            runs[name] = []
        if run_type == "aggregate":
            aggregate = row.get("aggregate_name")
            value = _number(row.get("real_time"))
            is_time = row.get("aggregate_unit", "time") == "time"
            if aggregate in ("mean", "median", "stddev") and is_time and value is not None:
                aggregates.setdefault(name, {})[aggregate] = value * _factor(row, where, path)
            continue
        if run_type != "iteration":
            raise InputError(path, f"{where}: unknown run_type {run_type!r} (expected 'iteration' or 'aggregate')")
        if row.get("error_occurred"):
            message = row.get("error_message") or "error_occurred without a message"
            runs[name].append(Run(samples=frozen_samples(()), status=RUN_ERROR, error=str(message)))
            continue
        if row.get("skipped"):
            message = row.get("skip_message") or row.get("error_message") or "skipped"
            runs[name].append(Run(samples=frozen_samples(()), status=RUN_ERROR, error=f"skipped: {message}"))
            continue
        real_time = _number(row.get("real_time"))
        if real_time is None or real_time < 0:
            raise InputError(
                path,
                f"{where}: real_time is {row.get('real_time')!r}, expected a non-negative number "
                f"in time_unit ({EXPECTED})",
            )
        iterations = row.get("iterations")
        if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
            raise InputError(path, f"{where}: iterations is {iterations!r}, expected a positive integer")
        runs[name].append(Run(samples=frozen_samples([real_time * _factor(row, where, path)]), iterations=iterations))

    benchmarks = []
    for name in order:
        if runs[name]:
            benchmarks.append(BenchmarkResult(name=name, runs=tuple(runs[name])))
        elif aggregates.get(name):
            summary = aggregates[name]
            benchmarks.append(
                BenchmarkResult(
                    name=name, runs=(Run(samples=frozen_samples(()), summary=summary),), has_raw_samples=False
                )
            )
        # A name with only cv/BigO/RMS rows carries nothing comparable: left out.
    if not benchmarks:
        raise InputError(path, f"no benchmark rows in Google Benchmark JSON ({EXPECTED})")
    context = json_object(document.get("context"))
    return ResultSet(
        benchmarks=tuple(benchmarks),
        environment=_environment(context),
        source="google-benchmark",
        created_at=context.get("date") if isinstance(context.get("date"), str) else None,
    )


FORMAT = Format(
    name="google-benchmark",
    description="Google Benchmark JSON (--benchmark_format=json)",
    sniff=_sniff,
    load=_load,
)
