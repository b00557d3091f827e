"""Adapters for pytest-benchmark and pyperf files, on real files the tools wrote (tests/fixtures/python).

The values asserted here were read from those committed files; tests/fixtures/README.md says how
each file was made. test_adapters_shared_data.py runs the same kind of checks on older files from
../shared/data when it is present.
"""

from __future__ import annotations

import gzip
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from benchwatch.adapters import registry
from benchwatch.errors import InputError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "python"
PB_RAW = FIXTURES / "pytest-benchmark-raw.json"
PB_SUMMARY_1 = FIXTURES / "pytest-benchmark-summary-1.json"
PB_SUMMARY_2 = FIXTURES / "pytest-benchmark-summary-2.json"
PYPERF = FIXTURES / "pyperf.json.gz"
PYPERF_HISTORY = sorted((FIXTURES / "pyperf-history").glob("*.json.gz"))
SMALL = "test_wl.py::test_small"


def detected(path: Path) -> str:
    return registry.detect_format(registry.probe(path)).name


def read_pyperf(path: Path) -> dict:
    return json.loads(gzip.decompress(path.read_bytes()))


def write_pyperf(path: Path, document: dict) -> Path:
    path.write_bytes(gzip.compress(json.dumps(document).encode()))
    return path


# -- detection -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "name"),
    [
        (PB_RAW, "pytest-benchmark"),
        (PB_SUMMARY_1, "pytest-benchmark"),
        (PB_SUMMARY_2, "pytest-benchmark"),
        (PYPERF, "pyperf"),
        *[(path, "pyperf") for path in PYPERF_HISTORY],
    ],
    ids=lambda value: value.name if isinstance(value, Path) else value,
)
def test_each_real_file_is_detected_by_exactly_one_format(path, name):
    file_probe = registry.probe(path)
    assert [fmt.name for fmt in registry.available_formats() if fmt.sniff(file_probe)] == [name]


def test_the_fixture_set_is_complete():
    assert len(PYPERF_HISTORY) == 3


@pytest.mark.parametrize(("source", "name"), [(PB_RAW, "pytest-benchmark"), (PYPERF, "pyperf")])
def test_detection_is_by_content_not_by_file_name(tmp_path, source, name):
    misleading = tmp_path / "data.txt"  # a gzipped pyperf file without .gz is still found
    shutil.copyfile(source, misleading)
    assert detected(misleading) == name
    assert registry.load_any(misleading).source == name


# -- pytest-benchmark 5.3 (raw samples) ---------------------------------------------


def test_pytest_benchmark_raw_samples_become_one_run_per_benchmark():
    result = registry.load_any(PB_RAW)
    assert result.source == "pytest-benchmark"
    assert [b.name for b in result.benchmarks] == [SMALL, "test_wl.py::test_json_sort", "test_wl.py::test_alloc"]
    small = result.by_name()[SMALL]
    assert small.has_raw_samples and small.group is None and dict(small.params) == {}
    assert len(small.runs) == 1
    run = small.runs[0]
    assert run.iterations == 10  # pytest-benchmark calibrated 10 calls per round for sum(range(100))
    assert run.samples.size == 1639
    assert run.samples[:3].tolist() == [5.373000021791085e-07, 5.256000008557749e-07, 5.209000050854229e-07]
    assert run.samples[-1] == 5.16499994773767e-07
    assert not run.samples.flags.writeable
    assert [b.runs[0].samples.size for b in result.benchmarks] == [1639, 42, 35]
    assert [b.runs[0].iterations for b in result.benchmarks] == [10, 1, 1]
    json_sort = result.by_name()["test_wl.py::test_json_sort"].runs[0]
    assert json_sort.samples[1] == 0.004387589000089065  # an outlier round stays a sample
    assert json_sort.summary == {}  # raw runs are described by their samples


def test_pytest_benchmark_samples_reproduce_the_files_own_statistics():
    stats = {entry["fullname"]: entry["stats"] for entry in json.loads(PB_RAW.read_text())["benchmarks"]}
    result = registry.load_any(PB_RAW)
    for benchmark in result.benchmarks:
        own = stats[benchmark.name]
        assert abs(benchmark.statistic("p50") - own["median"]) <= 1e-12
        assert abs(benchmark.statistic("mean") - own["mean"]) <= 1e-12
        assert benchmark.runs[0].samples.min() == own["min"]
        assert benchmark.runs[0].samples.max() == own["max"]
        assert benchmark.runs[0].samples.size == own["rounds"]


def test_pytest_benchmark_environment():
    environment = registry.load_any(PB_RAW).environment
    assert environment.cpu_model == "Intel(R) Xeon(R) Processor"
    assert environment.cpu_count == 2
    assert environment.python_version == "3.11.7"
    assert environment.python_implementation == "CPython"
    assert environment.python_build == "main, May  9 2026 07:35:25"  # a list in the file, joined
    assert environment.hostname == "vm"
    assert environment.os == "Linux 6.18.44-fc-v669"
    assert environment.git_commit == "c2eb946f0d5bca5f470c63a8b7f937e67029de97"
    assert environment.git_branch == "main"
    assert environment.git_dirty is False
    assert environment.collected_at == "2026-12-01T17:43:11.950371+00:00"
    assert environment.extra["pytest_benchmark_version"] == "5.3.1"
    assert environment.extra["python_compiler"] == "GCC 12.2.0"
    assert environment.extra["commit_project"] == "tmp.UAb6VneUYE"


# -- pytest-benchmark summary only (--benchmark-autosave without --benchmark-save-data) -----


def test_pytest_benchmark_summary_only_file():
    result = registry.load_any(PB_SUMMARY_1)
    small = result.by_name()[SMALL]
    assert small.has_raw_samples is False
    (run,) = small.runs
    assert run.samples.size == 0
    assert run.iterations == 10
    assert run.summary["median"] == 5.136000027050614e-07
    assert run.summary["mean"] == 1.278630239945148e-06
    assert run.summary["rounds"] == 1584
    assert "outliers" not in run.summary  # "2;167" is not a number
    assert all(isinstance(value, (int, float)) and math.isfinite(value) for value in run.summary.values())
    assert small.statistic("p50") == 5.136000027050614e-07
    assert math.isnan(small.statistic("p99"))  # tails are unknown without samples
    assert result.environment.git_dirty is False
    assert result.environment.collected_at == "2026-12-01T17:43:12.944951+00:00"
    # the second file was written from a working tree with an uncommitted change
    assert registry.load_any(PB_SUMMARY_2).environment.git_dirty is True


def test_merging_pytest_benchmark_files_makes_each_file_one_run():
    result = registry.import_files([PB_SUMMARY_1, PB_SUMMARY_2])
    assert len(result.benchmarks) == 3
    small = result.by_name()[SMALL]
    assert [run.iterations for run in small.runs] == [10, 10]
    assert [run.summary["median"] for run in small.runs] == [5.136000027050614e-07, 5.144000056134246e-07]
    assert [run.summary["rounds"] for run in small.runs] == [1584, 1568]
    assert small.has_raw_samples is False
    assert result.settings["merged_from"] == 2


def test_merging_the_raw_file_twice_gives_two_runs_with_identical_samples():
    result = registry.import_files([PB_RAW, PB_RAW])
    assert len(result.benchmarks) == 3
    for benchmark in result.benchmarks:
        first, second = benchmark.runs
        assert np.array_equal(first.samples, second.samples)


# -- pyperf ------------------------------------------------------------------------


def test_pyperf_file_runs_values_and_iterations():
    result = registry.load_any(PYPERF)
    assert result.source == "pyperf"
    assert [b.name for b in result.benchmarks] == ["sort_small", "json_dumps", "unpack_sequence", "python_startup"]
    # 6 pyperf runs per benchmark: the first is calibration only and is skipped.
    assert {len(b.runs) for b in result.benchmarks} == {5}
    by_name = result.by_name()
    sort_small = by_name["sort_small"]
    assert sort_small.unit == "seconds" and sort_small.has_raw_samples
    assert sort_small.runs[0].samples.tolist() == [1.5751828613130847e-06, 1.2059851074441852e-06, 8.51641113269741e-07]
    assert sort_small.runs[0].iterations == 4096
    assert sort_small.runs[0].load_average == 5.69
    assert sort_small.runs[0].started_at == "2026-12-01 17:43:14.552960"
    assert by_name["json_dumps"].runs[0].iterations == 64
    assert by_name["unpack_sequence"].runs[0].iterations == 16384 * 10  # loops x inner_loops
    assert by_name["unpack_sequence"].runs[0].samples[0] == 3.879307250917452e-08  # per inner loop
    assert by_name["python_startup"].runs[0].iterations == 1  # a command: one process per value
    # pyperf hoists a value all runs share into the benchmark's metadata.
    assert {run.load_average for run in by_name["json_dumps"].runs} == {5.8}


def test_pyperf_environment_from_common_metadata():
    environment = registry.load_any(PYPERF).environment
    assert environment.cpu_model == "Intel(R) Xeon(R) Processor"
    assert environment.cpu_count == 2
    assert environment.hostname == "vm"
    assert environment.os == "Linux-6.18.44-fc-v669-x86_64-with-glibc2.36"
    assert environment.git_commit is None  # pyperf itself records no commit
    # stated per benchmark (the command benchmark does not report it)
    assert environment.python_version == "3.11.7 (64-bit)"
    assert environment.extra["perf_version"] == "2.11.0"
    assert environment.extra["aslr"] == "Full randomization"


def test_pyperf_commit_metadata_added_by_pyperf_convert():
    environment = registry.load_any(PYPERF_HISTORY[0]).environment
    assert environment.git_commit == "2fa311995f9646696e56adb0e3377e2f53918d5f"
    assert environment.git_branch == "main"


def test_merging_three_pyperf_files():
    result = registry.import_files(PYPERF_HISTORY)
    assert len(result.benchmarks) == 4
    by_name = result.by_name()
    assert len(by_name["sort_small"].runs) == 15
    # loops were calibrated per file
    assert {run.iterations for run in by_name["python_startup"].runs} == {1}
    assert sum(len(b.runs) for b in result.benchmarks) == 3 * 4 * 5


def test_pyperf_unit_other_than_seconds_is_kept(tmp_path):
    document = read_pyperf(PYPERF)
    document["benchmarks"][0]["metadata"]["unit"] = "byte"
    result = registry.load_any(write_pyperf(tmp_path / "mem.json.gz", document))
    assert result.benchmarks[0].unit == "byte"
    assert result.benchmarks[1].unit == "seconds"


# -- wrong shapes ------------------------------------------------------------------


def raw_with(tmp_path: Path, change) -> Path:
    document = json.loads(PB_RAW.read_text())
    change(document)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    return path


def _set_sample(document, value):
    document["benchmarks"][0]["stats"]["data"][2] = value


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: _set_sample(d, "fast"), f"benchmark '{SMALL}': stats.data must be a list of numbers"),
        (
            lambda d: _set_sample(d, float("nan")),
            f"benchmark '{SMALL}': stats.data item 3 is nan, expected a finite number",
        ),
        (lambda d: _set_sample(d, -1.0), f"benchmark '{SMALL}' run 1: sample 3 is negative (-1.0)"),
        (
            lambda d: d["benchmarks"][0]["stats"].update(data={"a": 1}),
            f"benchmark '{SMALL}': stats.data must be a list of numbers",
        ),
        (
            lambda d: d["benchmarks"][1].pop("stats"),
            "benchmark 'test_wl.py::test_json_sort': expected a 'stats' object",
        ),
        (lambda d: d.update(benchmarks={"x": 1}), "'benchmarks' must be a list of pytest-benchmark entries"),
        (lambda d: d["benchmarks"].append(d["benchmarks"][0]), f"benchmark '{SMALL}' appears twice"),
        (lambda d: d.update(benchmarks=[]), "no benchmarks in the result (empty benchmark list)"),
        (
            lambda d: d["benchmarks"][0]["stats"].update(iterations=0),
            f"benchmark '{SMALL}': stats.iterations must be a positive integer, got 0",
        ),
    ],
)
def test_wrong_shape_pytest_benchmark_file(tmp_path, change, problem):
    path = raw_with(tmp_path, change)
    assert detected(path) == "pytest-benchmark"
    with pytest.raises(InputError) as caught:
        registry.load_any(path)
    assert str(caught.value) == f"{path}: {problem}"


def test_summary_only_entry_without_median_or_mean_is_rejected(tmp_path):
    document = json.loads(PB_SUMMARY_1.read_text())
    stats = document["benchmarks"][0]["stats"]
    stats["median"] = stats["mean"] = None
    path = tmp_path / "old.json"
    path.write_text(json.dumps(document))
    with pytest.raises(InputError) as caught:
        registry.load_any(path)
    assert str(caught.value) == (
        f"{path}: benchmark '{SMALL}': stats has neither 'data' (raw samples) nor a finite 'median' or 'mean'"
    )


def pyperf_with(tmp_path: Path, change) -> Path:
    document = read_pyperf(PYPERF)
    change(document)
    return write_pyperf(tmp_path / "bad.json.gz", document)


def _strip_values(document, index):
    for run in document["benchmarks"][index]["runs"]:
        run.pop("values", None)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            lambda d: _strip_values(d, 1),
            "benchmark 'json_dumps': no run has values (only calibration runs or none)",
        ),
        (
            lambda d: d["benchmarks"][0]["runs"][1]["values"].__setitem__(0, "slow"),
            "benchmark 'sort_small' run 2: values must be a list of numbers",
        ),
        (
            lambda d: d["benchmarks"][0]["runs"][3]["values"].__setitem__(1, float("inf")),
            "benchmark 'sort_small' run 4: value 2 is inf, expected a finite number",
        ),
        (lambda d: d["benchmarks"][2].pop("runs"), "benchmark 'unpack_sequence': 'runs' must be a list of runs"),
        (lambda d: d["benchmarks"][2]["metadata"].pop("name"), "benchmark 3: metadata has no string 'name'"),
        (lambda d: d.update(benchmarks="all"), "'benchmarks' must be a list of pyperf benchmarks"),
        (
            lambda d: d["benchmarks"][0]["metadata"].update(loops=0),
            "benchmark 'sort_small' run 2: metadata 'loops' must be a positive integer, got 0",
        ),
    ],
)
def test_wrong_shape_pyperf_file(tmp_path, change, problem):
    path = pyperf_with(tmp_path, change)
    assert detected(path) == "pyperf"
    with pytest.raises(InputError) as caught:
        registry.load_any(path)
    assert str(caught.value) == f"{path}: {problem}"


def test_old_pyperf_format_version_is_rejected_by_name(tmp_path):
    document = read_pyperf(PYPERF)
    document["version"] = 6
    path = write_pyperf(tmp_path / "old.json.gz", document)
    assert detected(path) == "pyperf"
    with pytest.raises(InputError) as caught:
        registry.load_any(path)
    assert str(caught.value) == f"{path}: pyperf file format version 6 is not supported (expected '1.0', pyperf >= 1.0)"


def test_forcing_the_wrong_format_names_what_was_expected():
    with pytest.raises(InputError) as caught:
        registry.load_any(PYPERF, format_name="pytest-benchmark")
    assert str(caught.value) == f"{PYPERF}: benchmark 1: expected a string 'fullname' or 'name'"
    with pytest.raises(InputError) as caught:
        registry.load_any(PB_RAW, format_name="pyperf")
    assert (
        str(caught.value)
        == f"{PB_RAW}: pyperf file format version '5.3.1' is not supported (expected '1.0', pyperf >= 1.0)"
    )


def test_forced_format_on_truncated_json_reports_the_parse_error(tmp_path):
    path = tmp_path / "cut.json"
    path.write_bytes(PB_RAW.read_bytes()[:200])
    for name in ("pytest-benchmark", "pyperf"):
        with pytest.raises(InputError) as caught:
            registry.load_any(path, format_name=name)
        assert str(caught.value).startswith(f"{path}: corrupt or truncated JSON at line ")


def test_json_matching_no_format(tmp_path):
    path = tmp_path / "other.json"
    path.write_text('{"benchmarks": [], "results": {}}')
    with pytest.raises(InputError) as caught:
        registry.load_any(path)
    assert str(caught.value) == f"{path}: unrecognised format (expected one of: {', '.join(registry.format_names())})"
