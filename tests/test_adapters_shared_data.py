"""Adapters on the real third-party files in ../shared/data, when that directory is beside the clone.

An extra source: older formats than the committed fixtures (pytest-benchmark 2.5 from 2015, pyperf
1.6 files from speed.python.org). test_adapters.py covers the same behaviour on the committed
fixtures, so a clone without ../shared loses no coverage of benchwatch itself; these skips are in
the CI allow-list (tests/conftest.py).
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

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PYTEST_BENCHMARK = DATA / "pytest-benchmark"
PB_2015_FIRST = (
    PYTEST_BENCHMARK / "0001_b87b9aae14ff14a7887a6bbaa9731b9a8760555d_20150814_190343_uncommitted-changes.json"
)
PB_2015_LAST = (
    PYTEST_BENCHMARK / "0030_5b78858eb718649a31fb93d8dc96ca2cee41a4cd_20150815_030419_uncommitted-changes.json"
)
PB_RAW = PYTEST_BENCHMARK / "pytest-benchmark-5.3.1-raw-samples.json"
PYPERF = DATA / "pyperf"
PYPERF_38 = PYPERF / "2019-12-16_12-42-3.8-8d0f36940e72.json.gz"
PYPERF_MASTER_2019 = PYPERF / "2019-12-16_21-50-master-f501db2b93a9.json.gz"
PYPERF_MASTER_2020 = PYPERF / "2020-02-05_00-15-master-95f60010219e.json.gz"
OLD_NAME = "tests/test_normal.py::test_xfast_parametrized[0]"

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared data directory {DATA} is missing")


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
        (PB_2015_FIRST, "pytest-benchmark"),
        (PB_2015_LAST, "pytest-benchmark"),
        (PB_RAW, "pytest-benchmark"),
        (PYPERF_38, "pyperf"),
        (PYPERF_MASTER_2019, "pyperf"),
        (PYPERF_MASTER_2020, "pyperf"),
    ],
)
def test_each_real_file_is_detected_by_exactly_one_format(path, name):
    file_probe = registry.probe(path)
    assert [fmt.name for fmt in registry.available_formats() if fmt.sniff(file_probe)] == [name]


@pytest.mark.parametrize(("source", "name"), [(PB_RAW, "pytest-benchmark"), (PYPERF_38, "pyperf")])
def test_detection_is_by_content_not_by_file_name(tmp_path, source, name):
    misleading = tmp_path / "data.txt"  # a gzipped pyperf file without .gz is still found
    shutil.copyfile(source, misleading)
    assert detected(misleading) == name
    assert registry.load_any(misleading).source == name


# -- pytest-benchmark 5.3.1 (raw samples) -------------------------------------------


def test_pytest_benchmark_raw_samples_become_one_run_per_benchmark():
    result = registry.load_any(PB_RAW)
    assert result.source == "pytest-benchmark"
    assert [b.name for b in result.benchmarks] == [
        "test_wl.py::test_small",
        "test_wl.py::test_json_sort",
        "test_wl.py::test_alloc",
    ]
    small = result.by_name()["test_wl.py::test_small"]
    assert small.has_raw_samples and small.group is None and dict(small.params) == {}
    assert len(small.runs) == 1
    run = small.runs[0]
    assert run.iterations == 1
    assert run.samples.size == 673
    assert run.samples[:3].tolist() == [7.136700003229635e-05, 7.06450000507175e-05, 7.11459999820363e-05]
    assert run.samples[-1] == 7.053599995288096e-05
    assert not run.samples.flags.writeable
    assert [b.runs[0].samples.size for b in result.benchmarks] == [673, 18, 69]
    json_sort = result.by_name()["test_wl.py::test_json_sort"].runs[0]
    assert json_sort.samples[0] == 0.0018885970000610541
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
    assert environment.cpu_model == "AMD EPYC"
    assert environment.cpu_count == 2
    assert environment.python_version == "3.11.7"
    assert environment.python_implementation == "CPython"
    assert environment.python_build == "main, May  9 2026 07:35:25"
    assert environment.hostname == "vm"
    assert environment.os == "Linux 6.18.44-fc-v657"
    assert environment.git_commit is None  # the file says "unversioned"
    assert environment.git_branch is None  # the file says "(unknown)"
    assert environment.git_dirty is False
    assert environment.collected_at == "2026-11-25T17:17:52.075511+00:00"
    assert environment.extra["pytest_benchmark_version"] == "5.3.1"
    assert environment.extra["python_compiler"] == "GCC 12.2.0"


# -- pytest-benchmark 2.5 (2015, summary only) ----------------------------------------


def test_pytest_benchmark_2015_summary_only_file():
    result = registry.load_any(PB_2015_FIRST)
    (benchmark,) = result.benchmarks
    assert benchmark.name == OLD_NAME  # "fullname", not "name"
    assert benchmark.has_raw_samples is False
    (run,) = benchmark.runs
    assert run.samples.size == 0
    assert run.iterations == 418
    assert run.summary["median"] == 2.2016643907464864e-07
    assert run.summary["mean"] == 2.622408132654948e-07
    assert run.summary["rounds"] == 9987
    assert "outliers" not in run.summary  # "90;1878" is not a number
    assert all(isinstance(value, (int, float)) and math.isfinite(value) for value in run.summary.values())
    assert benchmark.statistic("p50") == 2.2016643907464864e-07
    assert math.isnan(benchmark.statistic("p99"))  # tails are unknown without samples
    environment = result.environment
    assert environment.python_version == "2.7.3"
    assert environment.hostname == "minibox"
    assert environment.cpu_model is None
    # The content names commit 5b78858 although the file name says b87b9aae.
    assert environment.git_commit == "5b78858eb718649a31fb93d8dc96ca2cee41a4cd"
    assert environment.git_dirty is True
    assert environment.collected_at == "2015-08-15T00:01:46.250433+00:00"


def test_merging_pytest_benchmark_files_makes_each_file_one_run():
    result = registry.import_files([PB_2015_FIRST, PB_2015_LAST])
    (benchmark,) = result.benchmarks
    assert benchmark.name == OLD_NAME
    assert [run.iterations for run in benchmark.runs] == [418, 431]
    assert [run.summary["median"] for run in benchmark.runs] == [2.2016643907464864e-07, 2.2016379230260297e-07]
    assert benchmark.has_raw_samples is False
    assert result.settings["merged_from"] == 2


def test_merging_the_raw_file_twice_gives_two_runs_with_identical_samples():
    result = registry.import_files([PB_RAW, PB_RAW])
    assert len(result.benchmarks) == 3
    for benchmark in result.benchmarks:
        first, second = benchmark.runs
        assert np.array_equal(first.samples, second.samples)


# -- pyperf ------------------------------------------------------------------------


def test_pyperf_file_runs_values_and_iterations():
    result = registry.load_any(PYPERF_38)
    assert result.source == "pyperf"
    assert len(result.benchmarks) == 60
    assert result.benchmarks[0].name == "2to3"
    assert result.benchmarks[-1].name == "xml_etree_process"
    # 21 pyperf runs per benchmark: the first is calibration only and is skipped.
    assert {len(b.runs) for b in result.benchmarks} == {20}
    by_name = result.by_name()
    to3 = by_name["2to3"]
    assert to3.unit == "seconds" and to3.has_raw_samples
    assert to3.runs[0].samples.tolist() == [0.6228012591600418, 0.6225720942020416, 0.6193592250347137]
    assert to3.runs[0].iterations == 1
    assert to3.runs[0].load_average == 3.21
    assert to3.runs[0].started_at == "2019-12-16 23:40:09.453709"
    assert by_name["chameleon"].runs[0].iterations == 8
    assert by_name["chameleon"].runs[0].samples[0] == 0.02273189090192318
    assert by_name["json_loads"].runs[0].iterations == 128 * 20  # loops x inner_loops
    assert by_name["unpack_sequence"].runs[0].iterations == 2048 * 400
    # pyperf hoists a value all runs share into the benchmark's metadata.
    assert {run.load_average for run in by_name["richards"].runs} == {1.0}


def test_pyperf_environment_from_common_metadata():
    environment = registry.load_any(PYPERF_38).environment
    assert environment.cpu_model == "Intel(R) Xeon(R) CPU           X5680  @ 3.33GHz"
    assert environment.cpu_count == 24
    assert environment.cpu_governor == "ondemand"
    assert environment.hostname == "speed-python"
    assert environment.os == "Linux-4.4.0-47-generic-x86_64-with-glibc2.17"
    assert environment.git_commit == "8d0f36940e728989822c3789025b0813a8fe249a"
    assert environment.git_branch == "3.8"
    # stated per benchmark (three command benchmarks do not report it)
    assert environment.python_version == "3.8.1rc1+ (64-bit) revision 8d0f369"
    assert environment.extra["perf_version"] == "1.6.1"
    assert environment.extra["aslr"] == "Full randomization"


def test_merging_three_pyperf_files():
    result = registry.import_files([PYPERF_38, PYPERF_MASTER_2019, PYPERF_MASTER_2020])
    assert len(result.benchmarks) == 61
    by_name = result.by_name()
    assert len(by_name["2to3"].runs) == 60
    assert len(by_name["hg_startup"].runs) == 20  # only in the 2020 file
    assert by_name["hg_startup"].runs[0].samples.size == 25
    assert by_name["hg_startup"].runs[0].samples[0] == 0.16450726240873337
    # loops were calibrated per file: 32768 in 2019 (3.8), 65536 in 2019 (master)
    assert {run.iterations for run in by_name["logging_silent"].runs} == {32768 * 10, 65536 * 10}
    assert sum(len(b.runs) for b in result.benchmarks) == 1200 + 1200 + 1220


def test_pyperf_unit_other_than_seconds_is_kept(tmp_path):
    document = read_pyperf(PYPERF_38)
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
        (lambda d: _set_sample(d, "fast"), "benchmark 'test_wl.py::test_small': stats.data must be a list of numbers"),
        (
            lambda d: _set_sample(d, float("nan")),
            "benchmark 'test_wl.py::test_small': stats.data item 3 is nan, expected a finite number",
        ),
        (
            lambda d: _set_sample(d, -1.0),
            "benchmark 'test_wl.py::test_small' run 1: sample 3 is negative (-1.0)",
        ),
        (
            lambda d: d["benchmarks"][0]["stats"].update(data={"a": 1}),
            "benchmark 'test_wl.py::test_small': stats.data must be a list of numbers",
        ),
        (
            lambda d: d["benchmarks"][1].pop("stats"),
            "benchmark 'test_wl.py::test_json_sort': expected a 'stats' object",
        ),
        (lambda d: d.update(benchmarks={"x": 1}), "'benchmarks' must be a list of pytest-benchmark entries"),
        (lambda d: d["benchmarks"].append(d["benchmarks"][0]), "benchmark 'test_wl.py::test_small' appears twice"),
        (lambda d: d.update(benchmarks=[]), "no benchmarks in the result (empty benchmark list)"),
        (
            lambda d: d["benchmarks"][0]["stats"].update(iterations=0),
            "benchmark 'test_wl.py::test_small': stats.iterations must be a positive integer, got 0",
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
    document = json.loads(PB_2015_FIRST.read_text())
    stats = document["benchmarks"][0]["stats"]
    stats["median"] = stats["mean"] = None
    path = tmp_path / "old.json"
    path.write_text(json.dumps(document))
    with pytest.raises(InputError) as caught:
        registry.load_any(path)
    assert str(caught.value) == (
        f"{path}: benchmark '{OLD_NAME}': stats has neither 'data' (raw samples) nor a finite 'median' or 'mean'"
    )


def pyperf_with(tmp_path: Path, change) -> Path:
    document = read_pyperf(PYPERF_38)
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
            "benchmark 'chameleon': no run has values (only calibration runs or none)",
        ),
        (
            lambda d: d["benchmarks"][0]["runs"][1]["values"].__setitem__(0, "slow"),
            "benchmark '2to3' run 2: values must be a list of numbers",
        ),
        (
            lambda d: d["benchmarks"][0]["runs"][3]["values"].__setitem__(1, float("inf")),
            "benchmark '2to3' run 4: value 2 is inf, expected a finite number",
        ),
        (lambda d: d["benchmarks"][2].pop("runs"), "benchmark 'chaos': 'runs' must be a list of runs"),
        (lambda d: d["benchmarks"][2]["metadata"].pop("name"), "benchmark 3: metadata has no string 'name'"),
        (lambda d: d.update(benchmarks="all"), "'benchmarks' must be a list of pyperf benchmarks"),
        (
            lambda d: d["benchmarks"][0]["metadata"].update(loops=0),
            "benchmark '2to3' run 2: metadata 'loops' must be a positive integer, got 0",
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
    document = read_pyperf(PYPERF_38)
    document["version"] = 6
    path = write_pyperf(tmp_path / "old.json.gz", document)
    assert detected(path) == "pyperf"
    with pytest.raises(InputError) as caught:
        registry.load_any(path)
    assert str(caught.value) == f"{path}: pyperf file format version 6 is not supported (expected '1.0', pyperf >= 1.0)"


def test_forcing_the_wrong_format_names_what_was_expected():
    with pytest.raises(InputError) as caught:
        registry.load_any(PYPERF_38, format_name="pytest-benchmark")
    assert str(caught.value) == f"{PYPERF_38}: benchmark 1: expected a string 'fullname' or 'name'"
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
