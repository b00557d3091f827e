"""Reading and writing benchwatch result files.

Format history (``schema_version``):
    1  first format: memory was one figure per benchmark (``memory`` beside
       ``runs``); runs had no CPU/wall/run-queue figures.
    2  memory moved into each run (each timed run has its own memory pass),
       runs gained ``cpu_seconds``, ``wall_seconds``, ``runqueue_wait_seconds``,
       ``load_average`` and ``started_at``.
    3  runs gained ``canary_seconds`` and ``canary_version`` (the machine-speed
       canary timed around each measurement; ``benchwatch.runner.canary``).
       Older runs have none, so compare() cannot check their machine speed.
    4  benchmarks gained ``instruction_runs`` (Callgrind instruction counts
       per counted call, optional estimated cycles; ``benchwatch.runner.
       instructions``), results gained ``count_fingerprint`` and memory gained
       ``rss_peak_bytes``.  Older files have no counts: they migrate to none.
    5  benchmarks gained ``executed_packages`` (name -> version of the
       installed distributions whose code the counted call executed;
       ``benchwatch.runner.executed``) and the count fingerprint
       ``count_method``.  Older files migrate to null: their counts are
       compared under the suite-wide package rule, and the report says so.
    6  a run of more than 1,000 samples may keep them in ``packed_samples``
       (``benchwatch.sample_codec``: exact count and quantiles, the rest on a
       1e-5 relative grid, order not kept) with ``samples`` empty.  Older
       files keep every sample verbatim: nothing to migrate.

Older versions are migrated on load; an unknown version is rejected.  Files
ending in ``.gz`` are gzip-compressed.  Writes are atomic: a reader (or a
crash) never sees a half-written file.
"""

from __future__ import annotations

import copy
import gzip
import json
import math
import zlib
from collections.abc import Callable, Iterator
from functools import lru_cache
from importlib import resources
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from benchwatch import fastjson
from benchwatch.errors import InputError
from benchwatch.model import BenchmarkResult, Environment, InstructionRun, MemoryProfile, ResultSet, Run
from benchwatch.output import write_output
from benchwatch.sample_codec import pack, unpack
from benchwatch.schema_check import SchemaViolation, compile_schema

SCHEMA_VERSION = 6
OLDEST_READABLE_VERSION = 1


# -- writing -----------------------------------------------------------------


def result_to_dict(result: ResultSet) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "source": result.source,
        "created_at": result.created_at,
        "settings": dict(result.settings),
        "environment": _environment_to_dict(result.environment),
        "benchmarks": [_benchmark_to_dict(benchmark) for benchmark in result.benchmarks],
        "count_fingerprint": dict(result.count_fingerprint) or None,
    }


def _environment_to_dict(environment: Environment) -> dict[str, Any]:
    data = dict(environment.__dict__)
    data["packages"] = dict(environment.packages)
    data["extra"] = dict(environment.extra)
    data["load_average"] = list(environment.load_average) if environment.load_average is not None else None
    return data


def _benchmark_to_dict(benchmark: BenchmarkResult) -> dict[str, Any]:
    return {
        "name": benchmark.name,
        "group": benchmark.group,
        "params": dict(benchmark.params),
        "has_raw_samples": benchmark.has_raw_samples,
        "unit": benchmark.unit,
        "runs": [_run_to_dict(run) for run in benchmark.runs],
        "instruction_runs": [
            {
                "status": run.status,
                "error": run.error,
                "instructions": list(run.instructions),
                "estimated_cycles": list(run.estimated_cycles) if run.estimated_cycles is not None else None,
            }
            for run in benchmark.instruction_runs
        ],
        "executed_packages": dict(benchmark.executed_packages) if benchmark.executed_packages is not None else None,
    }


def _run_to_dict(run: Run) -> dict[str, Any]:
    memory = None
    if run.memory is not None:
        memory = {
            "peak_bytes": run.memory.peak_bytes,
            "allocations": run.memory.allocations,
            "capture_path": run.memory.capture_path,
            "rss_peak_bytes": run.memory.rss_peak_bytes,
        }
    packed = pack(run.samples)
    return {
        "status": run.status,
        "error": run.error,
        "iterations": run.iterations,
        "samples": run.samples.tolist() if packed is None else [],
        **({"packed_samples": packed} if packed is not None else {}),
        "memory": memory,
        "wall_seconds": run.wall_seconds,
        "cpu_seconds": run.cpu_seconds,
        "runqueue_wait_seconds": run.runqueue_wait_seconds,
        "load_average": run.load_average,
        "started_at": run.started_at,
        "summary": dict(run.summary),
        "canary_seconds": list(run.canary_seconds) if run.canary_seconds is not None else None,
        "canary_version": run.canary_version,
    }


def encode_result(result: ResultSet, path: Path) -> bytes:
    """Validate ``result`` and encode it as the bytes of a result file at ``path`` (gzip when it ends in .gz)."""
    path = Path(path)
    validate_result(result, path)
    text = json.dumps(result_to_dict(result), allow_nan=False, separators=(",", ":"))
    payload = text.encode("utf-8")
    if path.suffix == ".gz":
        payload = gzip.compress(payload, compresslevel=6, mtime=0)
    return payload


def save_result(result: ResultSet, path: Path) -> Path:
    """Validate ``result`` and write it to ``path`` (gzip when it ends in .gz)."""
    write_output(Path(path), encode_result(result, path))
    return Path(path)


# -- reading -----------------------------------------------------------------


#: Decompressed gzip data is capped (checked while streaming, so a "gzip bomb"
#: is refused before it expands): never more than MAX_DECOMPRESSED_BYTES, and
#: beyond BOMB_CHECK_BYTES never more than MAX_EXPANSION times the compressed
#: bytes read so far (real result files expand 3-20 times; a bomb, ~1000).
MAX_DECOMPRESSED_BYTES = 1 << 30
BOMB_CHECK_BYTES = 64 << 20
MAX_EXPANSION = 100
_CHUNK = 1 << 16
_GZIP_TRUNCATED = "Compressed file ended before the end-of-stream marker was reached"


def read_input_bytes(path: Path) -> bytes:
    """The bytes of ``path`` (``-`` is standard input), gunzipped with a cap; every failure is one InputError."""
    path = Path(path)
    try:
        if str(path) == "-":
            import sys

            raw = sys.stdin.buffer.read()
        else:
            raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except IsADirectoryError:
        raise InputError(path, "is a directory, expected a result file") from None
    except OSError as error:
        raise InputError(path, f"cannot read: {error.strerror}") from None
    if raw[:2] == b"\x1f\x8b":
        raw = _gunzip_capped(raw, path)
    return raw


def _gunzip_capped(raw: bytes, path: Path) -> bytes:
    # Fed in small compressed chunks, so one chunk expands to at most ~1000
    # times its size before the cap is checked.
    parts: list[bytes] = []
    size = 0
    offset = 0
    view = memoryview(raw)
    try:
        while offset < len(raw):
            decompressor = zlib.decompressobj(wbits=31)
            position = offset
            while position < len(raw) and not decompressor.eof:
                chunk = decompressor.decompress(view[position : position + _CHUNK])
                position = min(position + _CHUNK, len(raw))
                parts.append(chunk)
                size += len(chunk)
                _check_expansion(size, position - len(decompressor.unused_data), path)
            if not decompressor.eof:
                # The same wording as gzip.decompress, which this replaces.
                raise InputError(path, f"corrupt or truncated gzip data ({_GZIP_TRUNCATED})")
            offset = position - len(decompressor.unused_data)
            if not raw[offset:].strip(b"\x00"):
                break  # trailing padding after the last member
    except zlib.error as error:
        raise InputError(path, f"corrupt or truncated gzip data ({error})") from None
    return b"".join(parts)


def _check_expansion(size: int, consumed: int, path: Path) -> None:
    if size > MAX_DECOMPRESSED_BYTES:
        raise InputError(path, f"gzip data expands beyond {MAX_DECOMPRESSED_BYTES >> 20} MiB; refusing to read it")
    if size > BOMB_CHECK_BYTES and size > MAX_EXPANSION * max(consumed, 1):
        raise InputError(
            path,
            f"gzip data expands more than {MAX_EXPANSION} times ({consumed} compressed bytes to over "
            f"{size >> 20} MiB so far): refusing a likely gzip bomb",
        )


def parse_json_bytes(raw: bytes, path: Path) -> Any:
    """Parse JSON bytes read from ``path``; every failure is one InputError line."""
    if not raw.strip():
        raise InputError(path, "empty file, expected JSON")
    try:
        return fastjson.loads(raw)
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text, expected JSON") from None
    except json.JSONDecodeError as error:
        raise InputError(
            path, f"corrupt or truncated JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None
    except RecursionError:
        raise InputError(path, "JSON nested too deeply to read (no result file nests like this)") from None


def read_json_document(path: Path) -> Any:
    """Parse a (possibly gzipped) JSON file; every failure is one InputError line."""
    return parse_json_bytes(read_input_bytes(path), Path(path))


def load_result(path: Path) -> ResultSet:
    """Load a benchwatch result file, migrating older schema versions."""
    document = read_json_document(path)
    return result_from_document(document, path)


def result_from_document(document: Any, path: Path) -> ResultSet:
    if not isinstance(document, dict) or "schema_version" not in document:
        raise InputError(path, "not a benchwatch result (no schema_version field)")
    document = migrate(document, path)
    _validate_structure(document, path)
    result = _result_from_dict(document, path)
    validate_result(result, path)
    return result


def _migrate_1_to_2(document: dict[str, Any]) -> dict[str, Any]:
    # v1 measured memory once per benchmark; it belongs to the first run.
    for benchmark in document.get("benchmarks", []):
        memory = benchmark.pop("memory", None)
        for index, run in enumerate(benchmark.get("runs", [])):
            run.setdefault("memory", memory if index == 0 else None)
    document["schema_version"] = 2
    return document


def _migrate_2_to_3(document: dict[str, Any]) -> dict[str, Any]:
    # v2 runs had no canary: null says "machine speed unknown".
    for benchmark in document.get("benchmarks", []):
        for run in benchmark.get("runs", []):
            run.setdefault("canary_seconds", None)
            run.setdefault("canary_version", None)
    document["schema_version"] = 3
    return document


def _migrate_3_to_4(document: dict[str, Any]) -> dict[str, Any]:
    # v3 had no instruction pass and no resident-set figure: none measured.
    for benchmark in document.get("benchmarks", []):
        benchmark.setdefault("instruction_runs", [])
    document.setdefault("count_fingerprint", None)
    document["schema_version"] = 4
    return document


def _migrate_4_to_5(document: dict[str, Any]) -> dict[str, Any]:
    # v4 recorded imported packages for the whole suite only: null says "not recorded".
    for benchmark in document.get("benchmarks", []):
        benchmark.setdefault("executed_packages", None)
    document["schema_version"] = 5
    return document


def _migrate_5_to_6(document: dict[str, Any]) -> dict[str, Any]:
    # v6 may pack large runs' samples; older runs hold them all verbatim, which v6 reads as they are.
    document["schema_version"] = 6
    return document


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    1: _migrate_1_to_2,
    2: _migrate_2_to_3,
    3: _migrate_3_to_4,
    4: _migrate_4_to_5,
    5: _migrate_5_to_6,
}


def migrate(document: dict[str, Any], path: Path) -> dict[str, Any]:
    version = document.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise InputError(path, f"schema_version must be an integer, got {version!r}")
    if version > SCHEMA_VERSION or version < OLDEST_READABLE_VERSION:
        raise InputError(
            path,
            f"unknown schema_version {version} (this benchwatch reads "
            f"{OLDEST_READABLE_VERSION} to {SCHEMA_VERSION}; a newer benchwatch may read it)",
        )
    document = copy.deepcopy(document) if version < SCHEMA_VERSION else document
    while document["schema_version"] < SCHEMA_VERSION:
        document = MIGRATIONS[document["schema_version"]](document)
    return document


@lru_cache(maxsize=1)
def result_schema() -> dict[str, Any]:
    """The JSON Schema shipped with the package (benchwatch/schemas/result.schema.json)."""
    text = resources.files("benchwatch").joinpath("schemas/result.schema.json").read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _schema_validator() -> Callable[[Any], SchemaViolation | None]:
    # Compiled from the shipped schema (sample items included): jsonschema
    # spent half of compare's time on large files; see benchwatch.schema_check.
    return compile_schema(result_schema())


def _validate_structure(document: dict[str, Any], path: Path) -> None:
    violation = _schema_validator()(document)
    if violation is not None:
        raise InputError(path, f"does not match the result schema at {violation.where()}: {violation.message}")


def _result_from_dict(document: dict[str, Any], path: Path) -> ResultSet:
    environment_data = dict(document.get("environment") or {})
    if environment_data.get("load_average") is not None:
        environment_data["load_average"] = tuple(environment_data["load_average"])
    known = set(Environment.__dataclass_fields__)
    environment = Environment(**{key: value for key, value in environment_data.items() if key in known})
    samples = _sample_arrays(document["benchmarks"], path)
    benchmarks = tuple(_benchmark_from_dict(data, path, samples) for data in document["benchmarks"])
    return ResultSet(
        benchmarks=benchmarks,
        environment=environment,
        source=document.get("source") or "unknown",
        created_at=document.get("created_at"),
        settings=document.get("settings") or {},
        count_fingerprint=document.get("count_fingerprint") or {},
    )


def _sample_arrays(benchmarks: list[dict[str, Any]], path: Path) -> Iterator[np.ndarray]:
    """Every run's samples, in document order, as read-only views of one array (one conversion for all)."""
    lists = [run["samples"] for data in benchmarks for run in data["runs"]]
    try:
        numbers = np.fromiter(chain.from_iterable(lists), dtype=np.float64, count=sum(map(len, lists)))
    except (TypeError, ValueError):
        for data in benchmarks:  # name the run, as the per-run conversion did
            for index, run in enumerate(data["runs"], start=1):
                try:
                    np.asarray(run["samples"], dtype=np.float64)
                except (TypeError, ValueError):
                    raise InputError(path, f"benchmark {data['name']!r} run {index}: samples must be numbers") from None
        raise
    numbers.flags.writeable = False
    arrays = np.split(numbers, np.cumsum([len(values) for values in lists])[:-1]) if lists else []
    position = 0
    for data in benchmarks:
        for index, run in enumerate(data["runs"], start=1):
            if run.get("packed_samples") is not None:
                arrays[position] = _unpacked(run, f"benchmark {data['name']!r} run {index}", path)
            position += 1
    return iter(arrays)


def _unpacked(run: dict[str, Any], where: str, path: Path) -> np.ndarray:
    if run["samples"]:
        raise InputError(path, f"{where}: has both samples and packed_samples")
    try:
        values = unpack(run["packed_samples"])
    except (ValueError, TypeError, KeyError, OverflowError) as error:
        raise InputError(path, f"{where}: packed_samples cannot be read ({error})") from None
    values.flags.writeable = False
    return values


def _benchmark_from_dict(data: dict[str, Any], path: Path, samples: Iterator[np.ndarray]) -> BenchmarkResult:
    runs = []
    for run in data["runs"]:
        memory = run.get("memory")
        runs.append(
            Run(
                samples=next(samples),
                iterations=run.get("iterations", 1),
                status=run.get("status", "ok"),
                error=run.get("error"),
                memory=MemoryProfile(**memory) if memory else None,
                wall_seconds=run.get("wall_seconds"),
                cpu_seconds=run.get("cpu_seconds"),
                runqueue_wait_seconds=run.get("runqueue_wait_seconds"),
                load_average=run.get("load_average"),
                started_at=run.get("started_at"),
                summary=run.get("summary") or {},
                canary_seconds=tuple(run["canary_seconds"]) if run.get("canary_seconds") else None,
                canary_version=run.get("canary_version"),
            )
        )
    instruction_runs = tuple(
        InstructionRun(
            instructions=tuple(int(value) for value in run.get("instructions") or ()),
            estimated_cycles=tuple(float(v) for v in run["estimated_cycles"]) if run.get("estimated_cycles") else None,
            status=run.get("status", "ok"),
            error=run.get("error"),
        )
        for run in data.get("instruction_runs") or ()
    )
    return BenchmarkResult(
        name=data["name"],
        runs=tuple(runs),
        instruction_runs=instruction_runs,
        executed_packages=data.get("executed_packages"),
        group=data.get("group"),
        params=data.get("params") or {},
        has_raw_samples=data.get("has_raw_samples", True),
        unit=data.get("unit", "seconds"),
    )


def validate_result(result: ResultSet, path: Path | str) -> None:
    """Reject results no statistic should be computed from.

    Raises InputError for: no benchmarks, a benchmark without runs, an ok run
    with no samples (when raw samples are claimed) or with NaN, infinite or
    negative samples, and duplicate benchmark names.
    """
    if not result.benchmarks:
        raise InputError(path, "no benchmarks in the result (empty benchmark list)")
    if _plainly_valid(result):
        return
    seen: set[str] = set()
    for benchmark in result.benchmarks:
        if benchmark.name in seen:
            raise InputError(path, f"benchmark {benchmark.name!r} appears twice")
        seen.add(benchmark.name)
        if not benchmark.runs:
            raise InputError(path, f"benchmark {benchmark.name!r} has no runs")
        for index, run in enumerate(benchmark.runs, start=1):
            _validate_run(run, benchmark, index, path)


def _plainly_valid(result: ResultSet) -> bool:
    """The common case checked in bulk: nothing below would raise (else the loop names the first problem)."""
    benchmarks = result.benchmarks
    if len({b.name for b in benchmarks}) != len(benchmarks) or not all(b.runs for b in benchmarks):
        return False
    runs = [run for benchmark in benchmarks for run in benchmark.runs]
    if any(run.iterations < 1 or run.summary for run in runs):
        return False  # summaries are rare enough to leave to the loop
    canaries = [value for run in runs if run.canary_seconds for value in run.canary_seconds]
    if not all(type(value) is float or type(value) is int for value in canaries):
        return False
    if canaries and not (np.isfinite(canaries).all() and (np.asarray(canaries) > 0).all()):
        return False
    samples = [run.samples for run in runs if run.ok]
    if not all(array.size for array in samples):
        return False
    joined = np.concatenate(samples) if samples else np.empty(0)
    return bool(np.isfinite(joined).all() and (joined >= 0).all())


def _validate_run(run: Run, benchmark: BenchmarkResult, index: int, path: Path | str) -> None:
    where = f"benchmark {benchmark.name!r} run {index}"
    if run.iterations < 1:
        raise InputError(path, f"{where}: iterations must be at least 1, got {run.iterations}")
    if not run.ok:
        return
    samples = run.samples
    if samples.size == 0:
        if benchmark.has_raw_samples:
            raise InputError(path, f"{where}: empty samples (a successful run needs at least one)")
        if not run.summary:
            raise InputError(path, f"{where}: neither samples nor summary statistics")
    bad = ~np.isfinite(samples)
    if bad.any():
        position = int(np.argmax(bad))
        raise InputError(path, f"{where}: sample {position + 1} is {float(samples[position])!r} (NaN or infinite)")
    if (samples < 0).any():
        position = int(np.argmax(samples < 0))
        raise InputError(path, f"{where}: sample {position + 1} is negative ({float(samples[position])!r})")
    for key, value in run.summary.items():
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InputError(path, f"{where}: summary {key!r} is {value!r}, expected a finite number")
    for value in run.canary_seconds or ():
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise InputError(path, f"{where}: canary timing {value!r} is not a positive finite number of seconds")
