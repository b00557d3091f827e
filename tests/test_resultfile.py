"""benchwatch result files: migration, exact round trips, atomic writes, messages, the shipped schema."""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from benchwatch import resultfile
from benchwatch.errors import InputError
from benchwatch.model import BenchmarkResult, InstructionRun, MemoryProfile, ResultSet, Run
from benchwatch.output import OutputError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "results"
V1 = FIXTURES / "v1_result.json"
V2 = FIXTURES / "v2_result.json"
V3 = FIXTURES / "v3_result.json"
V4 = FIXTURES / "v4_many_samples_result.json"


def message(path: Path) -> str:
    with pytest.raises(InputError) as caught:
        resultfile.load_result(path)
    return str(caught.value)


def write_json(path: Path, document) -> Path:
    path.write_text(json.dumps(document))
    return path


def awkward_result() -> ResultSet:
    """Samples whose decimal forms are long: a lossy writer would change them."""
    rng = np.random.default_rng(20240601)
    samples = rng.lognormal(mean=-9.0, sigma=0.7, size=500)
    return ResultSet(
        benchmarks=(
            BenchmarkResult(
                name="tests/test_x.py::test_parse[size=10]",
                group="parse",
                params={"size": 10},
                runs=(
                    Run(samples=samples, iterations=3, memory=MemoryProfile(peak_bytes=4096, allocations=7)),
                    Run(
                        samples=np.array([0.1, 1e-300, 5e-324, 0.30000000000000004, 0.0]),
                        cpu_seconds=0.4,
                        wall_seconds=0.5,
                    ),
                    Run(samples=np.array([]), status="timeout", error="timed out after 60 s"),
                ),
            ),
        ),
        created_at="2025-06-01T12:00:00+00:00",
        settings={"runs": 3},
    )


# -- migration ----------------------------------------------------------------------


def test_v1_fixture_memory_moves_to_the_first_run():
    result = resultfile.load_result(V1)
    parse = result.by_name()["bench_parse"]
    assert parse.runs[0].memory == MemoryProfile(peak_bytes=1048576, allocations=2048, capture_path=None)
    assert parse.runs[1].memory is None
    assert result.by_name()["bench_sort"].runs[0].memory is None
    assert parse.runs[0].samples.tolist() == [0.00125, 0.0012, 0.0013, 0.00121]
    assert parse.runs[0].cpu_seconds is None  # v1 had no such figures
    assert result.by_name()["bench_sort"].runs[0].iterations == 10
    assert parse.statistic("peak_memory") == 1048576.0


def test_v1_fixture_saved_again_is_current(tmp_path):
    out = resultfile.save_result(resultfile.load_result(V1), tmp_path / "v3.json")
    document = json.loads(out.read_text())
    assert document["schema_version"] == resultfile.SCHEMA_VERSION
    assert "memory" not in document["benchmarks"][0]
    assert document["benchmarks"][0]["runs"][0]["memory"]["peak_bytes"] == 1048576
    # migration works on a copy: the fixture file itself is untouched
    assert json.loads(V1.read_text())["schema_version"] == 1


def test_v2_fixture_loads_with_failed_run():
    result = resultfile.load_result(V2)
    parse = result.by_name()["bench_parse"]
    assert [run.memory.peak_bytes for run in parse.runs] == [1048576, 1050000]
    assert parse.runs[0].runqueue_wait_seconds == 0.0001
    assert result.environment.load_average == (0.5, 0.4, 0.3)
    crash = result.by_name()["bench_crash"]
    assert crash.failed and crash.runs[0].status == "crashed"
    assert crash.runs[0].error == "killed by signal 9 (SIGKILL)"


# -- round trips ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["result.json", "result.json.gz"])
def test_round_trip_preserves_samples_exactly(tmp_path, name):
    original = awkward_result()
    path = resultfile.save_result(original, tmp_path / name)
    if name.endswith(".gz"):
        assert path.read_bytes()[:2] == b"\x1f\x8b"
    else:
        json.loads(path.read_text())
    loaded = resultfile.load_result(path)
    (benchmark,) = loaded.benchmarks
    (before,) = original.benchmarks
    for run_after, run_before in zip(benchmark.runs, before.runs, strict=False):
        assert run_after.samples.tobytes() == run_before.samples.tobytes()  # bit for bit
        assert run_after.iterations == run_before.iterations
        assert run_after.status == run_before.status
        assert run_after.memory == run_before.memory
    assert benchmark.runs[1].samples.tolist() == [0.1, 1e-300, 5e-324, 0.30000000000000004, 0.0]
    assert benchmark.runs[2].error == "timed out after 60 s"
    assert dict(benchmark.params) == {"size": 10}
    assert loaded.settings == {"runs": 3}
    assert resultfile.result_to_dict(loaded) == resultfile.result_to_dict(original)


def test_gzip_output_is_deterministic(tmp_path):
    a = resultfile.save_result(awkward_result(), tmp_path / "a.json.gz")
    b = resultfile.save_result(awkward_result(), tmp_path / "b.json.gz")
    assert a.read_bytes() == b.read_bytes()


# -- atomic writes ---------------------------------------------------------------------


def nan_result() -> ResultSet:
    return ResultSet(benchmarks=(BenchmarkResult(name="b", runs=(Run(samples=np.array([0.1, float("nan")])),)),))


def test_failed_save_leaves_existing_file_and_no_temp_files(tmp_path):
    target = tmp_path / "result.json"
    target.write_text("previous content")
    with pytest.raises(InputError) as caught:
        resultfile.save_result(nan_result(), target)
    assert str(caught.value) == f"{target}: benchmark 'b' run 1: sample 2 is nan (NaN or infinite)"
    assert target.read_text() == "previous content"
    assert sorted(os.listdir(tmp_path)) == ["result.json"]


def test_serialization_failure_past_validation_leaves_file_intact(tmp_path, monkeypatch):
    target = tmp_path / "result.json"
    target.write_text("previous content")
    monkeypatch.setattr(resultfile, "validate_result", lambda result, path: None)
    with pytest.raises(ValueError):  # json.dumps(allow_nan=False)
        resultfile.save_result(nan_result(), target)
    assert target.read_text() == "previous content"
    assert sorted(os.listdir(tmp_path)) == ["result.json"]


def test_failure_during_the_write_removes_the_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "result.json.gz"
    target.write_bytes(b"previous content")

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OutputError, match=r"result\.json\.gz: cannot write: no space left on device"):
        resultfile.save_result(awkward_result(), target)
    assert target.read_bytes() == b"previous content"
    assert sorted(os.listdir(tmp_path)) == ["result.json.gz"]


def test_successful_save_leaves_no_temp_files(tmp_path):
    resultfile.save_result(awkward_result(), tmp_path / "r.json")
    resultfile.save_result(awkward_result(), tmp_path / "r.json")  # replace
    assert sorted(os.listdir(tmp_path)) == ["r.json"]


# -- messages -------------------------------------------------------------------------


def v2_document() -> dict:
    return json.loads(V2.read_text())


def test_truncated_json_message(tmp_path):
    path = tmp_path / "cut.json"
    path.write_text(V2.read_text()[:300])
    assert message(path) == f"{path}: corrupt or truncated JSON at line 11 column 5: Unterminated string starting at"


def test_truncated_gzip_message(tmp_path):
    full = resultfile.save_result(awkward_result(), tmp_path / "full.json.gz")
    path = tmp_path / "cut.json.gz"
    path.write_bytes(full.read_bytes()[:100])
    assert message(path) == (
        f"{path}: corrupt or truncated gzip data (Compressed file ended before the end-of-stream marker was reached)"
    )


def test_unknown_schema_version_message(tmp_path):
    document = v2_document()
    document["schema_version"] = 99
    path = write_json(tmp_path / "future.json", document)
    assert message(path) == (
        f"{path}: unknown schema_version 99 (this benchwatch reads 1 to {resultfile.SCHEMA_VERSION}; "
        "a newer benchwatch may read it)"
    )


def test_nan_sample_message(tmp_path):
    document = v2_document()
    document["benchmarks"][0]["runs"][1]["samples"][2] = float("nan")
    path = write_json(tmp_path / "nan.json", document)  # json.dumps writes a bare NaN
    assert "NaN" in path.read_text()
    assert message(path) == f"{path}: benchmark 'bench_parse' run 2: sample 3 is nan (NaN or infinite)"


def test_empty_samples_message(tmp_path):
    document = v2_document()
    document["benchmarks"][0]["runs"][0]["samples"] = []
    path = write_json(tmp_path / "empty.json", document)
    assert message(path) == (
        f"{path}: benchmark 'bench_parse' run 1: empty samples (a successful run needs at least one)"
    )


def test_empty_benchmark_list_message(tmp_path):
    document = v2_document()
    document["benchmarks"] = []
    path = write_json(tmp_path / "none.json", document)
    assert message(path) == f"{path}: no benchmarks in the result (empty benchmark list)"


def test_not_a_result_message(tmp_path):
    path = write_json(tmp_path / "other.json", {"benchmarks": []})
    assert message(path) == f"{path}: not a benchwatch result (no schema_version field)"
    path = write_json(tmp_path / "list.json", [1, 2, 3])
    assert message(path) == f"{path}: not a benchwatch result (no schema_version field)"


def test_missing_file_message(tmp_path):
    path = tmp_path / "missing.json"
    assert message(path) == f"{path}: file not found"


def test_schema_mismatch_message(tmp_path):
    document = v2_document()
    document["benchmarks"][1]["runs"][0]["status"] = "exploded"
    path = write_json(tmp_path / "status.json", document)
    assert message(path) == (
        f"{path}: does not match the result schema at benchmarks/1/runs/0/status: "
        "'exploded' is not one of ['ok', 'error', 'crashed', 'timeout']"
    )


# -- the shipped JSON schema ------------------------------------------------------------


def test_shipped_schema_validates_saved_files(tmp_path):
    schema = resultfile.result_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    assert "items" in schema["$defs"]["run"]["properties"]["samples"]  # the full schema, sample items too
    for result in (awkward_result(), resultfile.load_result(V1), resultfile.load_result(V2)):
        saved = resultfile.save_result(result, tmp_path / "r.json.gz")
        validator.validate(json.loads(gzip.decompress(saved.read_bytes())))


def current_document() -> dict:
    return resultfile.migrate(v2_document(), V2)


def test_shipped_schema_rejects_bad_sample_items():
    validator = jsonschema.Draft202012Validator(resultfile.result_schema())
    document = current_document()
    document["benchmarks"][0]["runs"][0]["samples"][1] = -0.5
    errors = list(validator.iter_errors(document))
    assert [list(error.absolute_path) for error in errors] == [["benchmarks", 0, "runs", 0, "samples", 1]]
    document["benchmarks"][0]["runs"][0]["samples"][1] = "fast"
    assert not validator.is_valid(document)
    assert validator.is_valid(current_document())


def test_v2_fixture_loads_without_canary_and_saves_as_v3(tmp_path):
    result = resultfile.load_result(V2)
    assert all(
        run.canary_seconds is None and run.canary_version is None
        for benchmark in result.benchmarks
        for run in benchmark.runs
    )
    document = json.loads(resultfile.save_result(result, tmp_path / "v3.json").read_text())
    assert document["schema_version"] == resultfile.SCHEMA_VERSION
    assert document["benchmarks"][0]["runs"][0]["canary_seconds"] is None
    assert json.loads(V2.read_text())["schema_version"] == 2


def test_canary_timings_round_trip(tmp_path):
    result = resultfile.load_result(V2)
    first = result.benchmarks[0]
    runs = tuple(dataclasses.replace(run, canary_seconds=(0.0005, 0.00051), canary_version=1) for run in first.runs)
    changed = dataclasses.replace(result, benchmarks=(dataclasses.replace(first, runs=runs), *result.benchmarks[1:]))
    loaded = resultfile.load_result(resultfile.save_result(changed, tmp_path / "canary.json.gz"))
    assert loaded.benchmarks[0].runs[0].canary_seconds == (0.0005, 0.00051)
    assert loaded.benchmarks[0].runs[0].canary_version == 1


@pytest.mark.parametrize("bad", [[0.0005, -1.0], [0.0, 0.001], ["fast"]])
def test_bad_canary_timing_is_a_one_line_error(tmp_path, bad):
    document = v2_document()
    document["schema_version"] = 3
    document["benchmarks"][0]["runs"][0]["canary_seconds"] = bad
    path = write_json(tmp_path / "bad-canary.json", document)
    text = message(path)
    assert text.startswith(f"{path}: ") and "canary" in text and "\n" not in text


# -- schema 4: instruction counts, count fingerprint, resident-set peak ----------------


def test_v3_fixture_loads_without_instruction_counts_and_saves_as_current(tmp_path):
    result = resultfile.load_result(V3)
    assert all(benchmark.instruction_runs == () for benchmark in result.benchmarks)
    assert result.count_fingerprint == {}
    parse = result.by_name()["bench_parse"]
    assert parse.runs[0].canary_seconds == (0.00031, 0.00032)
    assert parse.runs[0].memory.rss_peak_bytes is None
    assert np.isnan(parse.statistic("instructions")) and np.isnan(parse.statistic("peak_rss"))
    document = json.loads(resultfile.save_result(result, tmp_path / "v4.json").read_text())
    assert document["schema_version"] == resultfile.SCHEMA_VERSION
    assert document["benchmarks"][0]["instruction_runs"] == []
    assert document["count_fingerprint"] is None
    assert json.loads(V3.read_text())["schema_version"] == 3


def test_instruction_runs_and_fingerprint_round_trip(tmp_path):
    result = resultfile.load_result(V3)
    first = result.benchmarks[0]
    counted = (
        InstructionRun(instructions=(68_135_331, 68_135_367, 68_135_340), estimated_cycles=(9.1e7, 9.2e7, 9.1e7)),
        InstructionRun(instructions=(68_135_350, 68_135_333, 68_135_360)),
        InstructionRun(status="crashed", error="the worker process killed by signal SIGSEGV under valgrind"),
    )
    runs = (dataclasses.replace(first.runs[0], memory=MemoryProfile(1, 2, None, rss_peak_bytes=5_000_000)),)
    fingerprint = {"machine": "x86_64", "python_version": "3.11.7", "valgrind": "valgrind-3.19.0"}
    changed = dataclasses.replace(
        result,
        benchmarks=(dataclasses.replace(first, runs=runs, instruction_runs=counted), *result.benchmarks[1:]),
        count_fingerprint=fingerprint,
    )
    path = resultfile.save_result(changed, tmp_path / "v4.json.gz")
    jsonschema.validate(resultfile.read_json_document(path), resultfile.result_schema())
    loaded = resultfile.load_result(path)
    again = loaded.benchmarks[0]
    assert [run.instructions for run in again.instruction_runs] == [run.instructions for run in counted]
    assert again.instruction_runs[0].estimated_cycles == (9.1e7, 9.2e7, 9.1e7)
    assert again.instruction_runs[1].estimated_cycles is None
    assert again.instruction_runs[2].status == "crashed" and not again.instruction_runs[2].ok
    assert again.per_run_statistics("instructions") == [68_135_340.0, 68_135_350.0]
    assert again.runs[0].statistic("peak_rss") == 5_000_000.0
    assert loaded.count_fingerprint == fingerprint


def test_negative_instruction_count_is_a_one_line_error(tmp_path):
    document = json.loads(V3.read_text())
    document["schema_version"] = 4
    document["benchmarks"][0]["instruction_runs"] = [{"status": "ok", "instructions": [10, -1]}]
    path = write_json(tmp_path / "bad-count.json", document)
    text = message(path)
    assert text.startswith(f"{path}: ") and "instruction_runs" in text and "\n" not in text


# -- schema 5: large runs' samples packed (benchwatch.sample_codec) ------------------


def test_v4_fixture_loads_every_sample_verbatim_and_saves_its_large_runs_packed(tmp_path):
    assert json.loads(V4.read_text())["schema_version"] == 4
    result = resultfile.load_result(V4)
    many = result.by_name()["bench_many_samples"]
    assert [run.samples.size for run in many.runs] == [1500, 1500] and many.runs[0].iterations == 9
    original = json.loads(V4.read_text())["benchmarks"][-1]["runs"][0]["samples"]
    assert many.runs[0].samples.tolist() == original  # read as written, in its order
    assert result.by_name()["bench_parse"].runs[0].canary_seconds == (0.00031, 0.00032)
    path = resultfile.save_result(result, tmp_path / "v5.json")
    document = json.loads(path.read_text())
    assert document["schema_version"] == resultfile.SCHEMA_VERSION
    saved = document["benchmarks"][-1]["runs"][0]
    assert saved["samples"] == [] and saved["packed_samples"]["count"] == 1500
    assert document["benchmarks"][0]["runs"][0]["samples"]  # small runs stay verbatim
    again = resultfile.load_result(path).by_name()["bench_many_samples"]
    for metric in ("p50", "p95", "p99"):
        assert again.per_run_statistics(metric) == many.per_run_statistics(metric)
    assert again.per_run_statistics("mean") == pytest.approx(many.per_run_statistics("mean"), rel=1e-7)
