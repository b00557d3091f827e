"""Adapters for Go, Google Benchmark, hyperfine and asv output.

The fixtures under tests/fixtures/ecosystems/ are real tool output (see
tests/fixtures/ecosystems/src/README.md for the exact commands); the tests
at the end re-run the real tools when they are installed.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchwatch.adapters.asv import load_asv_results
from benchwatch.adapters.registry import detect_format, import_files, load_any, probe
from benchwatch.errors import InputError
from benchwatch.model import RUN_ERROR
from benchwatch.resultfile import validate_result

FIXTURES = Path(__file__).parent / "fixtures" / "ecosystems"
SRC = FIXTURES / "src"
# asv comes with the test extra, into the interpreter's own environment (often not on PATH).
ASV = shutil.which("asv", path=str(Path(sys.executable).parent)) or shutil.which("asv")
ASV_FILE_1 = FIXTURES / "asv-results" / "ci-box" / "3bd5fa61-existing-py_tmp_asvenv_bin_python3.json"
ASV_FILE_2 = FIXTURES / "asv-results" / "ci-box" / "bcc69d57-existing-py_tmp_asvenv_bin_python3.json"
ASV_NOSAMPLES = FIXTURES / "asv-nosamples" / "bcc69d57-existing-py_tmp_asvenv_bin_python3.json"


def load(path: Path, format_name: str | None = None):
    result = load_any(path, format_name)
    validate_result(result, path)
    return result


# -- Go ----------------------------------------------------------------------


def test_go_names_runs_and_gomaxprocs_suffix():
    result = load(FIXTURES / "go-bench.txt")
    assert result.source == "go test -bench"
    names = [benchmark.name for benchmark in result.benchmarks]
    assert names == ["BenchmarkSum", "BenchmarkSort/size=10", "BenchmarkSort/size=100", "BenchmarkJoin"]
    for benchmark in result.benchmarks:
        assert len(benchmark.runs) == 5  # -count 5: one run per repetition
        assert benchmark.params == {"gomaxprocs": 2}
        assert all(run.ok and run.samples.size == 1 for run in benchmark.runs)


def test_go_sample_conversion_and_memory():
    by_name = load(FIXTURES / "go-bench.txt").by_name()
    # First line: "BenchmarkSum-2  50073  516.6 ns/op  8 B/op  1 allocs/op"
    first = by_name["BenchmarkSum"].runs[0]
    assert first.samples[0] == pytest.approx(516.6e-9)
    assert first.iterations == 50073
    assert first.memory.peak_bytes == 8 and first.memory.allocations == 1
    join = by_name["BenchmarkJoin"].runs[0]
    assert (join.memory.peak_bytes, join.memory.allocations) == (87, 4)


def test_go_environment():
    result = load(FIXTURES / "go-bench.txt")
    assert result.environment.cpu_model == "AMD EPYC"
    assert result.environment.extra == {"goos": "linux", "goarch": "amd64", "pkg": "example.com/benchwatchdemo"}
    assert "B/op" in result.settings["memory_meaning"]


def test_go_failed_benchmark_is_an_error_run():
    by_name = load(FIXTURES / "go-failing.txt").by_name()
    assert set(by_name) == {"BenchmarkFine", "BenchmarkBroken"}
    assert len(by_name["BenchmarkFine"].ok_runs) == 5
    (broken,) = by_name["BenchmarkBroken"].runs
    assert broken.status == RUN_ERROR
    assert "lookup table missing: cannot benchmark" in broken.error
    assert "BenchmarkBroken" in broken.error


def test_go_several_packages_prefix_names():
    result = load(FIXTURES / "go-multi-pkg-failing.txt")
    names = [benchmark.name for benchmark in result.benchmarks]
    assert "example.com/benchwatchdemo.BenchmarkSort/size=100" in names
    assert "example.com/benchwatchdemo/failing.BenchmarkFine" in names
    assert result.by_name()["example.com/benchwatchdemo/failing.BenchmarkBroken"].failed
    assert all(len(result.by_name()[name].runs) == 3 for name in names if "Broken" not in name)


def test_go_cpu_list_keeps_printed_names():
    by_name = load(FIXTURES / "go-cpu-list.txt").by_name()
    assert set(by_name) == {"BenchmarkSum", "BenchmarkSum-2", "BenchmarkJoin", "BenchmarkJoin-2"}
    assert by_name["BenchmarkSum-2"].params == {"gomaxprocs": 2}
    assert by_name["BenchmarkSum"].params == {}
    assert by_name["BenchmarkSum"].runs[0].memory is None  # no -benchmem, no ReportAllocs


def test_go_runs_of_different_machines_merge_by_name(tmp_path):
    text = (FIXTURES / "go-bench.txt").read_text()
    other = tmp_path / "eight-cpus.txt"
    other.write_text(text.replace("-2 ", "-8 "))
    merged = import_files([FIXTURES / "go-bench.txt", other])
    assert len(merged.by_name()["BenchmarkSort/size=10"].runs) == 10


def test_go_garbled_line_is_one_clear_error(tmp_path):
    lines = (FIXTURES / "go-bench.txt").read_text().splitlines()
    lines[6] = "BenchmarkSum-2    \t   66189\t       3x5.3 ns/op\t       8 B/op"
    bad = tmp_path / "garbled.txt"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as caught:
        load(bad)
    message = str(caught.value)
    assert message.startswith(f"{bad}: line 7:")
    assert "3x5.3" in message and "ns/op" in message and "expected" in message
    assert "\n" not in message


# -- Google Benchmark --------------------------------------------------------


def test_google_benchmark_repetitions_are_runs_and_aggregates_are_not_samples():
    result = load(FIXTURES / "google-benchmark.json")
    assert result.source == "google-benchmark"
    names = [benchmark.name for benchmark in result.benchmarks]
    assert names == ["BM_Accumulate/64", "BM_Accumulate/512", "BM_StringConcat", "BM_NeedsDevice"]
    accumulate = result.by_name()["BM_Accumulate/64"]
    assert len(accumulate.runs) == 5  # 5 repetitions; mean/median/stddev/cv rows not counted
    assert all(run.samples.size == 1 for run in accumulate.runs)
    assert accumulate.pooled_samples().size == 5
    assert accumulate.runs[0].samples[0] == pytest.approx(19.756189225434468e-9)
    assert accumulate.runs[0].iterations == 732523


def test_google_benchmark_time_unit_conversion():
    concat = load(FIXTURES / "google-benchmark.json").by_name()["BM_StringConcat"]
    # time_unit "us": 0.021914405024910866 us
    assert concat.runs[0].samples[0] == pytest.approx(0.021914405024910866e-6)


def test_google_benchmark_error_rows():
    device = load(FIXTURES / "google-benchmark.json").by_name()["BM_NeedsDevice"]
    assert len(device.runs) == 5
    assert all(run.status == RUN_ERROR for run in device.runs)
    assert device.runs[0].error == "device /dev/fake0 not available"


def test_google_benchmark_context():
    environment = load(FIXTURES / "google-benchmark.json").environment
    assert environment.hostname == "vm"
    assert environment.cpu_count == 2
    assert environment.extra["mhz_per_cpu"] == 2596
    assert environment.extra["library_build_type"] == "debug"
    assert "L1 Data 32 KiB" in environment.extra["caches"]
    assert environment.collected_at.startswith("2026-")


def test_google_benchmark_aggregates_only_is_summary_only():
    result = load(FIXTURES / "google-benchmark-aggregates-only.json")
    benchmark = result.by_name()["BM_Accumulate/64"]
    assert not benchmark.has_raw_samples
    (run,) = benchmark.runs
    assert run.samples.size == 0
    assert run.summary["median"] == pytest.approx(25.82069841919632e-9)
    assert run.statistic("p50") == pytest.approx(25.82069841919632e-9)
    assert math.isnan(run.statistic("p99"))


def test_google_benchmark_missing_real_time(tmp_path):
    document = json.loads((FIXTURES / "google-benchmark.json").read_text())
    del document["benchmarks"][2]["real_time"]
    bad = tmp_path / "no-real-time.json"
    bad.write_text(json.dumps(document))
    with pytest.raises(InputError) as caught:
        load(bad)
    message = str(caught.value)
    assert message.startswith(f"{bad}: benchmarks[2] ('BM_Accumulate/64'): real_time")
    assert "expected a non-negative number" in message and "\n" not in message


# -- hyperfine ---------------------------------------------------------------


def test_hyperfine_commands_are_benchmarks_with_one_run():
    result = load(FIXTURES / "hyperfine.json")
    assert result.source == "hyperfine"
    assert [benchmark.name for benchmark in result.benchmarks] == ["sleep 0.01", "sleep 0.02"]
    sleep = result.by_name()["sleep 0.01"]
    (run,) = sleep.runs
    assert run.samples.size == 5 and run.iterations == 1
    assert run.samples[0] == pytest.approx(0.01109787408)
    assert run.memory is None


def test_hyperfine_failing_command(tmp_path):
    by_name = load(FIXTURES / "hyperfine-failing.json").by_name()
    assert by_name["sleep 0.01"].runs[0].ok
    (run,) = by_name['sh -c "sleep 0.01; exit 3"'].runs
    assert run.status == RUN_ERROR
    assert "exit codes: 3, 3, 3, 3, 3" in run.error


def test_hyperfine_parameters_are_appended():
    by_name = load(FIXTURES / "hyperfine-params.json").by_name()
    assert set(by_name) == {"sleep 0.01 [delay=0.01]", "sleep 0.02 [delay=0.02]"}
    assert by_name["sleep 0.02 [delay=0.02]"].params == {"delay": "0.02"}


def test_hyperfine_memory_peak():
    run = load(FIXTURES / "hyperfine-memory-hand-derived.json").by_name()["sleep 0.01"].runs[0]
    assert run.memory.peak_bytes == 1855488  # max(memory_usage_byte)
    assert run.memory.allocations == 0


def test_hyperfine_exports_merge_into_runs(tmp_path):
    copy = tmp_path / "second.json"
    shutil.copy(FIXTURES / "hyperfine.json", copy)
    merged = import_files([FIXTURES / "hyperfine.json", copy])
    assert len(merged.by_name()["sleep 0.02"].runs) == 2


def test_hyperfine_missing_times(tmp_path):
    document = json.loads((FIXTURES / "hyperfine.json").read_text())
    del document["results"][1]["times"]
    bad = tmp_path / "old.json"
    bad.write_text(json.dumps(document))
    with pytest.raises(InputError, match=r"results\[1\] \('sleep 0.02'\): 'times' is missing"):
        load(bad)


# -- asv ---------------------------------------------------------------------


def test_asv_directory_history():
    history = load_asv_results(FIXTURES / "asv-results")
    assert [commit[:8] for commit, _, _ in history] == ["3bd5fa61", "bcc69d57"]
    assert history[0][1] < history[1][1]
    assert history[1][2].environment.git_commit == "bcc69d578ab98934af7b834f34dba74f45186c26"


def test_asv_directory_load_gives_newest_commit():
    result = load(FIXTURES / "asv-results")
    assert result.source == "asv"
    assert result.environment.git_commit.startswith("bcc69d57")
    assert result.environment.cpu_model == "AMD EPYC"
    assert result.environment.cpu_count == 2
    assert result.environment.hostname == "ci-box"
    assert result.environment.extra["arch"] == "x86_64"


def test_asv_parameter_expansion_and_samples():
    by_name = load(ASV_FILE_2).by_name()
    names = [name for name in by_name if name.startswith("bench_demo.TimeSuite.time_join")]
    assert names == [
        "bench_demo.TimeSuite.time_join(10, 'a')",
        "bench_demo.TimeSuite.time_join(10, 'b')",
        "bench_demo.TimeSuite.time_join(100, 'a')",
        "bench_demo.TimeSuite.time_join(100, 'b')",
    ]
    join = by_name["bench_demo.TimeSuite.time_join(100, 'b')"]
    assert join.params == {"n": "100", "letter": "'b'"}
    assert join.has_raw_samples
    (run,) = join.runs
    assert run.samples.size == 5
    assert run.samples[0] == pytest.approx(1.2819999710700358e-06)
    assert run.summary["median"] == pytest.approx(1.3719999856220966e-06)
    total = by_name["bench_demo.time_sum"].runs[0]
    assert total.iterations == 8436  # asv's "number": calls per sample


def test_asv_missing_value_is_error():
    by_name = load(ASV_FILE_2).by_name()
    (run,) = by_name["bench_demo.time_sometimes_fails"].runs
    assert run.status == RUN_ERROR
    assert run.error == "no value recorded (failed or skipped in asv)"
    assert load(ASV_FILE_1).by_name()["bench_demo.time_sometimes_fails"].runs[0].ok


def test_asv_memory_and_track_benchmarks():
    by_name = load(ASV_FILE_2).by_name()
    peak = by_name["bench_demo.peakmem_list"]
    assert peak.unit == "bytes"
    assert peak.runs[0].memory.peak_bytes == 24653824
    assert peak.statistic("peak_memory") == 24653824
    assert math.isnan(peak.statistic("p50"))  # not a latency
    assert by_name["bench_demo.mem_list"].runs[0].memory.peak_bytes == 8056
    track = by_name["bench_demo.track_answer"]
    assert track.unit == "answers"
    assert track.runs[0].summary["median"] == 42


def test_asv_without_record_samples_is_summary_only(tmp_path):
    # Alone, without benchmarks.json or machine.json next to it.
    lonely = tmp_path / "result.json"
    shutil.copy(ASV_NOSAMPLES, lonely)
    by_name = load(lonely).by_name()
    time_sum = by_name["bench_demo.time_sum"]
    assert not time_sum.has_raw_samples
    run = time_sum.runs[0]
    assert run.samples.size == 0
    assert set(run.summary) == {"median", "ci_99_a", "ci_99_b", "q_25", "q_75", "number", "repeat"}
    assert run.statistic("p50") == pytest.approx(1.0247527283712033e-06)
    assert "bench_demo.TimeSuite.time_join(10, 'a')" in by_name
    assert by_name["bench_demo.track_answer"].unit == "unit"  # benchmarks.json not available


def test_asv_old_version_rejected(tmp_path):
    document = json.loads(ASV_FILE_1.read_text())
    document["version"] = 1
    old = tmp_path / "old.json"
    old.write_text(json.dumps(document))
    with pytest.raises(InputError, match="asv update"):
        load(old)


# -- detection ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("go-bench.txt", "go"),
        ("go-failing.txt", "go"),
        ("google-benchmark.json", "google-benchmark"),
        ("google-benchmark-aggregates-only.json", "google-benchmark"),
        ("hyperfine.json", "hyperfine"),
        ("hyperfine-failing.json", "hyperfine"),
        ("asv-results/ci-box/bcc69d57-existing-py_tmp_asvenv_bin_python3.json", "asv"),
        ("asv-results", "asv"),
    ],
)
def test_detection_by_content_not_name(tmp_path, fixture, expected):
    source = FIXTURES / fixture
    if source.is_dir():
        misleading = tmp_path / "results.txt"
        shutil.copytree(source, misleading)
    else:
        misleading = tmp_path / ("pytest-benchmark.json" if expected == "go" else "bench.txt")
        shutil.copy(source, misleading)
    assert detect_format(probe(misleading)).name == expected
    validate_result(load_any(misleading), misleading)


def test_gzipped_go_output_is_detected(tmp_path):
    import gzip

    packed = tmp_path / "go.txt.gz"
    packed.write_bytes(gzip.compress((FIXTURES / "go-bench.txt").read_bytes()))
    assert len(load(packed).benchmarks) == 4


def test_forced_format(tmp_path):
    assert len(load(FIXTURES / "go-bench.txt", "go").benchmarks) == 4
    assert load(FIXTURES / "hyperfine.json", "hyperfine").source == "hyperfine"
    with pytest.raises(InputError) as caught:
        load_any(FIXTURES / "hyperfine.json", "google-benchmark")
    assert str(caught.value).startswith(str(FIXTURES / "hyperfine.json") + ": ")
    with pytest.raises(InputError, match="expected go test -bench text output"):
        load_any(FIXTURES / "google-benchmark.json", "go")
    with pytest.raises(InputError, match="no Go benchmark result lines"):
        notes = tmp_path / "notes.txt"
        notes.write_text("PASS\nok  \texample.com/x\t0.1s\n")
        load_any(notes, "go")


def test_file_matching_no_format(tmp_path):
    stray = tmp_path / "bench.txt"
    stray.write_text("BenchmarkFoo is fast, trust me\n")
    with pytest.raises(InputError) as caught:
        load_any(stray)
    message = str(caught.value)
    assert message.startswith(f"{stray}: unrecognised format")
    for name in ("go", "google-benchmark", "hyperfine", "asv"):
        assert name in message


def test_sniffers_are_mutually_exclusive():
    from benchwatch.adapters.registry import available_formats

    paths = [path for path in FIXTURES.glob("*") if path.name not in ("src", "asv-nosamples")] + [
        ASV_FILE_1,
        ASV_NOSAMPLES,
    ]
    for path in paths:
        file_probe = probe(path)
        accepted = [fmt.name for fmt in available_formats() if fmt.sniff(file_probe)]
        assert len(accepted) == 1, (path.name, accepted)


# -- the real tools ----------------------------------------------------------


def _run(command, cwd, env=None, timeout=120):
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("go") is None, reason="go not installed (apt-get install golang-go)")
def test_real_go_bench(tmp_path):
    work = tmp_path / "go"
    shutil.copytree(SRC / "go", work)
    env = dict(os.environ, GOCACHE=str(tmp_path / "gocache"), GOPATH=str(tmp_path / "gopath"), GOFLAGS="-mod=mod")
    completed = _run(
        ["go", "test", "-run", "^$", "-bench", ".", "-benchmem", "-count", "3", "-benchtime", "2ms", "./..."], work, env
    )
    assert completed.returncode == 1, completed.stderr  # the failing package fails
    output = tmp_path / "out.txt"
    output.write_text(completed.stdout)
    result = load(output)
    by_name = result.by_name()
    assert len(by_name["example.com/benchwatchdemo.BenchmarkSort/size=10"].runs) == 3
    assert by_name["example.com/benchwatchdemo.BenchmarkJoin"].runs[0].memory.allocations >= 1
    assert by_name["example.com/benchwatchdemo/failing.BenchmarkBroken"].failed


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("g++") is None or not Path("/usr/include/benchmark/benchmark.h").exists(),
    reason="g++ or libbenchmark-dev not installed",
)
def test_real_google_benchmark(tmp_path):
    binary = tmp_path / "demo_benchmark"
    compiled = _run(
        [
            "g++",
            "-O1",
            "-std=c++17",
            str(SRC / "cpp" / "demo_benchmark.cc"),
            "-o",
            str(binary),
            "-lbenchmark",
            "-lpthread",
        ],
        tmp_path,
    )
    assert compiled.returncode == 0, compiled.stderr
    output = tmp_path / "out.json"
    ran = _run(
        [
            str(binary),
            "--benchmark_repetitions=3",
            "--benchmark_min_time=0.001",
            f"--benchmark_out={output}",
            "--benchmark_out_format=json",
        ],
        tmp_path,
    )
    assert ran.returncode == 0, ran.stderr
    result = load(output)
    assert [benchmark.name for benchmark in result.benchmarks] == [
        "BM_Accumulate/64",
        "BM_Accumulate/512",
        "BM_StringConcat",
        "BM_NeedsDevice",
    ]
    assert all(len(benchmark.runs) == 3 for benchmark in result.benchmarks)
    assert result.by_name()["BM_NeedsDevice"].failed
    assert result.by_name()["BM_StringConcat"].ok_runs[0].samples[0] > 0


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("hyperfine") is None, reason="hyperfine not installed")
def test_real_hyperfine(tmp_path):
    output = tmp_path / "out.json"
    ran = _run(
        ["hyperfine", "--runs", "3", "-i", "--style", "none", "--export-json", str(output), "true", "sh -c 'exit 2'"],
        tmp_path,
    )
    assert ran.returncode == 0, ran.stderr
    by_name = load(output).by_name()
    assert by_name["true"].runs[0].ok and by_name["true"].runs[0].samples.size == 3
    assert by_name["sh -c 'exit 2'"].failed


@pytest.mark.slow
@pytest.mark.skipif(ASV is None or shutil.which("git") is None, reason="asv or git not installed")
def test_real_asv(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(SRC / "asv", repo)
    env = dict(
        os.environ,
        HOME=str(tmp_path),
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.invalid",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.invalid",
    )
    for command in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"], ["git", "commit", "-qm", "x"]):
        assert _run(command, repo, env).returncode == 0
    commit = _run(["git", "rev-parse", "HEAD"], repo, env).stdout.strip()
    assert _run([ASV, "machine", "--yes", "--machine", "testbox"], repo, env).returncode == 0
    ran = _run(
        [
            ASV,
            "run",
            "--python=same",
            "--set-commit-hash",
            commit,
            "--record-samples",
            "--machine",
            "testbox",
            "-a",
            "repeat=3",
            "-a",
            "processes=1",
        ],
        repo,
        env,
        timeout=180,
    )
    assert ran.returncode in (0, 2), ran.stdout + ran.stderr
    (history,) = load_asv_results(repo)
    assert history[0] == commit
    result = history[2]
    validate_result(result, repo)
    assert result.by_name()["bench_demo.TimeSuite.time_join(100, 'b')"].has_raw_samples
    assert result.by_name()["bench_demo.peakmem_list"].runs[0].memory.peak_bytes > 0


def test_forced_json_format_on_truncated_file_reports_the_parse_error(tmp_path):
    cut = tmp_path / "cut.json"
    cut.write_bytes((FIXTURES / "google-benchmark.json").read_bytes()[:300])
    for name in ("google-benchmark", "hyperfine", "asv"):
        with pytest.raises(InputError) as caught:
            load_any(cut, name)
        assert str(caught.value).startswith(f"{cut}: corrupt or truncated JSON at line ")


def test_cli_import_with_forced_format_and_compare(tmp_path, capsys):
    from benchwatch.cli import main
    from benchwatch.resultfile import load_result

    out = tmp_path / "go.json"
    assert main(["import", str(FIXTURES / "go-bench.txt"), "--format", "go", "-o", str(out)]) == 0
    assert len(load_result(out).by_name()["BenchmarkJoin"].runs) == 5
    assert (
        main(["import", str(FIXTURES / "go-bench.txt"), "--format", "hyperfine", "-o", str(tmp_path / "x.json")]) == 2
    )
    assert "go-bench.txt: " in capsys.readouterr().err
    # A verdict straight from the tools' files, no import step.
    code = main(
        ["compare", str(FIXTURES / "google-benchmark.json"), str(FIXTURES / "google-benchmark.json"), "--no-color"]
    )
    assert code == 0
