"""airspeed velocity (asv) results.

Accepted inputs:

* an asv **results directory** (``.asv/results`` by default: it holds
  ``benchmarks.json`` and one folder per machine with ``machine.json`` and
  ``<commit>-<env>.json`` result files), or a project directory whose
  ``.asv/results`` is one;
* a single asv **result file** (``"version": 2`` with ``result_columns``
  and ``results``).  ``machine.json`` beside it and ``benchmarks.json`` one
  level up are read when present.

Only result files of asv's current format (version 2, asv 0.5 and later)
are read; ``asv update`` converts older ones.

:func:`load_asv_results` returns every commit of a directory, oldest first,
for history use.  Through the registry (``benchwatch import``/``compare``) a
directory gives **the newest commit's** results (newest by asv's commit
date); to compare two commits, pass their two result files.  Result files of
one commit from several machines or environments are merged: each file adds
one run per benchmark.

How one result file maps onto the results model:

* Each benchmark is one **run** (asv pools its ``processes`` into one
  result).  Parameterised benchmarks are expanded into one benchmark per
  parameter combination, named the way ``asv compare`` prints them:
  ``bench_demo.TimeSuite.time_join(10, 'a')`` -- the parameter values are
  asv's stored ``repr`` strings joined by ``", "``.  ``params`` maps the
  parameter names (from ``benchmarks.json``, else ``param1``...) to those
  strings.
* ``time_`` benchmarks: with ``asv run --record-samples`` the ``samples``
  column gives the run's samples (seconds per call, each the mean of
  ``number`` calls, so ``iterations`` = ``number``).  Without it the
  benchmark is summary-only (``has_raw_samples`` False): ``median`` is
  asv's ``result`` and ``ci_99_a``, ``ci_99_b``, ``q_25``, ``q_75``,
  ``number`` and ``repeat`` are kept in the run summary when recorded.
* ``peakmem_`` and ``mem_`` benchmarks are memory figures (unit
  ``bytes``): ``Run.memory.peak_bytes`` holds the value (for ``mem_`` that
  is the object's size, not a peak) and ``allocations`` is 0, which asv does
  not measure; the run is summary-only with ``{"value": bytes}``.
* ``track_`` benchmarks keep their value as the summary ``median`` with the
  unit from ``benchmarks.json`` (``"unit"`` when unknown).
* A missing value (``null``: the benchmark failed; ``NaN``: it was
  skipped) gives a run with status ``error``: "no value recorded (failed or
  skipped in asv)".
* ``machine.json`` (or the result's ``params``) gives the environment:
  ``cpu`` -> cpu_model, ``num_cpu`` -> cpu_count, ``os``, ``machine`` ->
  hostname; ``arch``, ``ram``, the asv environment name and python go into
  ``extra``; the commit hash into ``git_commit``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchwatch.adapters.json_values import is_finite_number, is_number, json_object
from benchwatch.adapters.registry import Format, Probe, merge_results
from benchwatch.errors import InputError
from benchwatch.model import RUN_ERROR, BenchmarkResult, Environment, MemoryProfile, ResultSet, Run, frozen_samples

MISSING = "no value recorded (failed or skipped in asv)"
EXPECTED_FILE = "an asv result file with version 2, result_columns and results"
STAT_COLUMNS = ("ci_99_a", "ci_99_b", "q_25", "q_75", "number", "repeat")


# -- detection ---------------------------------------------------------------


def _results_dir(path: Path) -> Path | None:
    for candidate in (path, path / ".asv" / "results", path / "results"):
        if (candidate / "benchmarks.json").is_file() and any(candidate.glob("*/machine.json")):
            return candidate
    return None


def _is_result_document(document: Any) -> bool:
    return (
        isinstance(document, dict)
        and isinstance(document.get("results"), dict)
        and ("result_columns" in document or ("commit_hash" in document and "env_name" in document))
        and "schema_version" not in document
    )


def _sniff(probe: Probe) -> bool:
    if probe.document is None and not probe.raw and probe.path.is_dir():
        return _results_dir(probe.path) is not None
    return _is_result_document(probe.document)


# -- reading -----------------------------------------------------------------


def _read_json(path: Path) -> Any:
    from benchwatch.resultfile import read_json_document

    return read_json_document(path)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _iso_from_ms(value: Any) -> str | None:
    if is_finite_number(value):
        return datetime.fromtimestamp(value / 1000.0, tz=UTC).isoformat()
    return None


def _kind(name: str, meta: dict[str, Any]) -> str:
    kind = meta.get("type")
    if kind in ("time", "memory", "peakmemory", "track"):
        return kind
    last = name.rsplit(".", 1)[-1]
    for prefix, prefix_kind in (
        ("timeraw_", "time"),
        ("time_", "time"),
        ("peakmem_", "peakmemory"),
        ("mem_", "memory"),
        ("track_", "track"),
    ):
        if last.startswith(prefix):
            return prefix_kind
    return "track"


def environment_of(document: dict[str, Any], machine: dict[str, Any]) -> Environment:
    info = dict(document.get("params") or {})
    info.update({key: value for key, value in machine.items() if key != "version"})
    num_cpu = info.get("num_cpu")
    try:
        cpu_count = int(num_cpu) if num_cpu not in (None, "") else None
    except (TypeError, ValueError):
        cpu_count = None
    extra: dict[str, Any] = {}
    for key in ("arch", "ram"):
        if info.get(key) not in (None, ""):
            extra[key] = info[key]
    if document.get("env_name"):
        extra["asv_env_name"] = document["env_name"]
    if document.get("python"):
        extra["asv_python"] = document["python"]
    return Environment(
        cpu_model=info.get("cpu") or None,
        cpu_count=cpu_count,
        os=info.get("os") or None,
        hostname=info.get("machine") or None,
        git_commit=document.get("commit_hash"),
        collected_at=None,
        extra=extra,
    )


def _column(row: dict[str, Any], key: str, index: int) -> Any:
    values = row.get(key)
    if isinstance(values, list) and index < len(values):
        return values[index]
    return None


def check_result_document(document: Any, path: Path) -> None:
    """InputError unless ``document`` is an asv result file of the version this adapter reads."""
    if not _is_result_document(document):
        raise InputError(path, f"not an asv result file (expected {EXPECTED_FILE})")
    version = document.get("version")
    if version != 2 or not isinstance(document.get("result_columns"), list):
        raise InputError(
            path,
            f"asv result file version {version!r} is not supported (expected version 2; run `asv update` to convert)",
        )
    if "result" not in document["result_columns"]:
        raise InputError(path, f"result_columns has no 'result' column (expected {EXPECTED_FILE})")


def samples_were_recorded(document: dict[str, Any]) -> bool:
    """The file was written by ``asv run --record-samples`` (some benchmark has a samples column)."""
    columns = document["result_columns"]
    return "samples" in columns and any(
        isinstance(values, list)
        and len(values) > columns.index("samples")
        and values[columns.index("samples")] is not None
        for values in document["results"].values()
    )


def result_rows(document: dict[str, Any], path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(benchmark, {column: value})`` of each benchmark of a checked result document."""
    columns = document["result_columns"]
    for bench_name, values in document["results"].items():
        if not isinstance(values, list):
            raise InputError(path, f"results[{bench_name!r}] is not a list of columns (expected {EXPECTED_FILE})")
        yield bench_name, dict(zip(columns, values, strict=False))


def result_from_asv_document(
    document: Any, path: Path, benchmarks_meta: dict[str, Any] | None = None, machine: dict[str, Any] | None = None
) -> ResultSet:
    """One asv result file's document as a ResultSet (see the module doc)."""
    check_result_document(document, path)
    benchmarks_meta = benchmarks_meta or {}
    benchmarks: list[BenchmarkResult] = []
    samples_recorded = samples_were_recorded(document)
    for bench_name, row in result_rows(document, path):
        meta = json_object(benchmarks_meta.get(bench_name))
        benchmarks.extend(_benchmarks_of(path, bench_name, row, meta, samples_recorded=samples_recorded))
    if not benchmarks:
        raise InputError(path, "no benchmarks in the asv result file")
    return ResultSet(
        benchmarks=tuple(benchmarks),
        environment=environment_of(document, machine or {}),
        source="asv",
        created_at=_iso_from_ms(document.get("date")),
        settings={"asv_commit": document.get("commit_hash"), "asv_env_name": document.get("env_name")},
    )


@dataclass(frozen=True)
class Expanded:
    """One benchmark of a result file, checked: kind, unit, and a name and value per parameter combination."""

    kind: str
    unit: str
    combos: list[tuple[Any, ...]]
    names: list[str]
    values: list[Any]
    param_names: list[str]


def expand_benchmark(path: Path, bench_name: str, row: dict[str, Any], meta: dict[str, Any]) -> Expanded:
    """Check one benchmark's row of a result file and expand its parameter combinations (InputError if malformed)."""
    params = row.get("params")
    if params is None:
        params = meta.get("params") or []
    if not isinstance(params, list) or not all(isinstance(p, list) for p in params):
        raise InputError(path, f"results[{bench_name!r}]: params is not a list of value lists")
    param_names = meta.get("param_names") or [f"param{i + 1}" for i in range(len(params))]
    combos = list(itertools.product(*params)) if params else [()]
    result = row.get("result")
    if result is None:
        result = [None] * len(combos)
    if not isinstance(result, list):
        result = [result]
    if len(result) != len(combos):
        raise InputError(
            path,
            f"results[{bench_name!r}]: {len(result)} values for {len(combos)} parameter combinations",
        )
    kind = _kind(bench_name, meta)
    unit = {"time": "seconds", "memory": "bytes", "peakmemory": "bytes"}.get(kind) or meta.get("unit") or "unit"
    names = [f"{bench_name}({', '.join(str(value) for value in combo)})" if combo else bench_name for combo in combos]
    return Expanded(kind, unit, combos, names, result, param_names)


def check_value(path: Path, name: str, value: Any) -> None:
    """A recorded value must be a number (missing values are None or NaN)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(path, f"{name}: result {value!r} is not a number")


def _benchmarks_of(
    path: Path, bench_name: str, row: dict[str, Any], meta: dict[str, Any], *, samples_recorded: bool
) -> list[BenchmarkResult]:
    """One asv benchmark's results: one BenchmarkResult per parameter combination."""
    expanded = expand_benchmark(path, bench_name, row, meta)
    started_at = _iso_from_ms(row.get("started_at"))
    found = []
    for index, (name, combo) in enumerate(zip(expanded.names, expanded.combos, strict=True)):
        run, has_raw_samples = _run_of_value(
            path,
            name,
            expanded.values[index],
            kind=expanded.kind,
            row=row,
            index=index,
            started_at=started_at,
            recorded=samples_recorded,
        )
        found.append(
            BenchmarkResult(
                name=name,
                runs=(run,),
                params={str(key): value for key, value in zip(expanded.param_names, combo, strict=False)},
                has_raw_samples=has_raw_samples,
                unit=expanded.unit,
            )
        )
    return found


def _run_of_value(
    path: Path,
    name: str,
    value: Any,
    *,
    kind: str,
    row: dict[str, Any],
    index: int,
    started_at: str | None,
    recorded: bool,
) -> tuple[Run, bool]:
    """The run of one parameter combination, and whether its benchmark has raw samples.

    ``recorded``: the file was written with ``--record-samples``, so a failed
    timing benchmark would have had them.
    """
    if _is_missing(value):
        run = Run(samples=frozen_samples(()), status=RUN_ERROR, error=MISSING, started_at=started_at)
        return run, recorded and kind == "time"
    check_value(path, name, value)
    if kind in ("memory", "peakmemory"):
        memory = MemoryProfile(peak_bytes=int(value), allocations=0)
        run = Run(samples=frozen_samples(()), memory=memory, summary={"value": float(value)}, started_at=started_at)
        return run, False
    if kind == "track":
        return Run(samples=frozen_samples(()), summary={"median": float(value)}, started_at=started_at), False
    summary = {"median": float(value)}
    for stat in STAT_COLUMNS:
        stat_value = _column(row, f"stats_{stat}", index)
        if is_finite_number(stat_value):
            summary[stat] = float(stat_value)
    number = summary.get("number")
    samples = _column(row, "samples", index)
    has_samples = kind == "time" and isinstance(samples, list) and len(samples) > 0
    run = Run(
        samples=frozen_samples(samples if has_samples else ()),
        iterations=int(number) if number and number >= 1 else 1,
        summary=summary,
        started_at=started_at,
    )
    return run, has_samples


def _optional_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    document = _read_json(path)
    return document if isinstance(document, dict) else {}


def load_asv_result_file(path: Path) -> ResultSet:
    """One asv result file, with ``machine.json`` beside it and ``benchmarks.json`` above when present."""
    path = Path(path)
    document = _read_json(path)
    return result_from_asv_document(
        document,
        path,
        benchmarks_meta=_optional_json(path.parent.parent / "benchmarks.json"),
        machine=_optional_json(path.parent / "machine.json"),
    )


def load_asv_results(directory: Path) -> list[tuple[str, datetime | None, ResultSet]]:
    """Every commit in an asv results directory: ``(commit_hash, commit date (UTC), results)``, oldest first.

    Files of one commit (several machines or environments) are merged, each
    adding a run per benchmark.  Commits without a date sort first.
    """
    history = list(iter_asv_results(directory))
    history.sort(key=lambda item: (item[1] is not None, item[1] or datetime.min.replace(tzinfo=UTC)))
    return history


def iter_asv_results(directory: Path) -> Iterator[tuple[str, datetime | None, ResultSet]]:
    """Like :func:`load_asv_results`, one commit at a time and in no particular order.

    Holds one commit's files in memory at once (an importer of a large
    history writes each commit before reading the next).
    """
    for commit, date, files, benchmarks_meta in iter_asv_documents(directory):
        merged = merge_results(
            [
                result_from_asv_document(document, file, benchmarks_meta=benchmarks_meta, machine=machine)
                for file, document, machine in files
            ],
            source="asv",
        )
        yield commit, date, merged


AsvFile = tuple[Path, dict[str, Any], dict[str, Any]]  # (result file, its document, its machine.json)


def iter_asv_documents(directory: Path) -> Iterator[tuple[str, datetime | None, list[AsvFile], dict[str, Any]]]:
    """``(commit, date, files, benchmarks.json)`` per commit of a results directory, one commit's files at a time.

    Files are grouped by the commit prefix asv puts in their names, then by
    their ``commit_hash``; the date is the latest of the files' dates.
    """
    directory = Path(directory)
    results_dir = _results_dir(directory)
    if results_dir is None:
        raise InputError(
            directory, "not an asv results directory (expected benchmarks.json and <machine>/machine.json)"
        )
    benchmarks_meta = _optional_json(results_dir / "benchmarks.json")
    groups: dict[str, list[tuple[Path, dict[str, Any]]]] = {}
    machines: dict[Path, dict[str, Any]] = {}
    for machine_dir in sorted(p for p in results_dir.iterdir() if p.is_dir()):
        machines[machine_dir] = _optional_json(machine_dir / "machine.json")
        for file in sorted(machine_dir.glob("*.json")):
            if file.name != "machine.json":
                groups.setdefault(file.name.split("-", 1)[0], []).append((file, machines[machine_dir]))
    found = False
    for files in groups.values():
        by_commit: dict[str, list[tuple[float | None, AsvFile]]] = {}
        for file, machine in files:
            document = _read_json(file)
            if not _is_result_document(document):
                continue
            check_result_document(document, file)
            date = document.get("date")
            date = float(date) if is_number(date) else None
            by_commit.setdefault(str(document.get("commit_hash")), []).append((date, (file, document, machine)))
        for commit, entries in by_commit.items():
            found = True
            dates = [date for date, _ in entries if date is not None]
            date = max(dates) if dates else None
            when = datetime.fromtimestamp(date / 1000.0, tz=UTC) if date is not None else None
            yield commit, when, [item for _, item in entries], benchmarks_meta
    if not found:
        raise InputError(results_dir, "asv results directory holds no <machine>/<commit>-<env>.json result files")


def _load(probe: Probe) -> ResultSet:
    if probe.path.is_dir():
        history = load_asv_results(probe.path)
        return history[-1][2]
    document = probe.document if probe.document is not None else _read_json(probe.path)
    return result_from_asv_document(
        document,
        probe.path,
        benchmarks_meta=_optional_json(probe.path.parent.parent / "benchmarks.json"),
        machine=_optional_json(probe.path.parent / "machine.json"),
    )


FORMAT = Format(
    name="asv",
    description="airspeed velocity results directory or result file",
    sniff=_sniff,
    load=_load,
)
