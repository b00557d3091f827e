"""The instruction pass with real valgrind: what it counts, and what happens when it cannot.

Skipped only where valgrind is not installed (CI installs it: scripts/system-deps.sh).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import textwrap
from pathlib import Path

import pytest

from benchwatch.cli import main
from benchwatch.errors import EXIT_BENCHMARK_FAILED, EXIT_OK
from benchwatch.resultfile import SCHEMA_VERSION
from benchwatch.runner.instructions import InstructionSettings
from benchwatch.runner.session import RunSettings, run_suites

pytestmark = pytest.mark.slow  # fresh workers under Callgrind
VALGRIND = shutil.which("valgrind")
needs_valgrind = pytest.mark.skipif(VALGRIND is None, reason="valgrind is not installed (scripts/system-deps.sh)")

SUITE = textwrap.dedent(
    """
    import os, signal, time
    import pytest

    UNDER_VALGRIND = "vgpreload" in os.environ.get("LD_PRELOAD", "")

    def work(n=20_000):
        table = {}
        for i in range(n):
            table[i % 97] = table.get(i % 97, 0) + i
        return sum(table.values())

    def test_one_call(benchmark):
        benchmark(work)

    def test_two_calls(benchmark):
        benchmark(lambda: (work(), work()))

    def test_pedantic_setup(benchmark):
        benchmark.pedantic(work, setup=lambda: ((10_000,), {}), rounds=3)

    @pytest.mark.benchmark
    def test_marker_form():
        work()

    def test_crashes_under_valgrind(benchmark):
        def call():
            if UNDER_VALGRIND:
                os.kill(os.getpid(), signal.SIGSEGV)
            return work(100)
        benchmark(call)

    def test_hangs_under_valgrind(benchmark):
        benchmark(lambda: time.sleep(600) if UNDER_VALGRIND else work(100))
    """
)

FAST = ("--benchmark-max-time=0.02", "--benchmark-min-rounds=3")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "test_counted.py").write_text(SUITE)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.benchwatch]\nsuites = ["benchmarks"]\nruns = 1\ntimeout = 30\n'
        'pytest_args = ["--benchmark-max-time=0.02", "--benchmark-min-rounds=3"]\nmemory = false\n'
    )
    return tmp_path


@needs_valgrind
def test_counts_only_the_benchmarked_calls_and_failures_do_not_stop_the_others(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A private temporary directory for the runner and (through the environment) for valgrind:
    # what a crash or a timeout kill leaves behind shows there.
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(private_tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    settings = RunSettings(
        runs=1,
        memory=False,
        timeout=30,
        pytest_args=FAST,
        # 20 s: the hanging benchmark waits it out once; the others' children take 1-3 s under Valgrind.
        instructions=InstructionSettings(valgrind=VALGRIND, runs=2, counted_calls=2, timeout=20),
    )
    result = run_suites(repo=project, settings=settings).by_name()
    one = result["benchmarks/test_counted.py::test_one_call"]
    two = result["benchmarks/test_counted.py::test_two_calls"]
    assert [len(run.instructions) for run in one.instruction_runs] == [2, 2]
    per_call = one.statistic("instructions")
    # Start-up alone is hundreds of millions of instructions; the counted region
    # holds only the calls: two calls count one call's worth more than one call.
    assert 1e6 < per_call < 1e8
    assert two.statistic("instructions") - per_call == pytest.approx(per_call, rel=0.02)
    # fresh processes with hash seed and ASLR fixed count the same, to 0.1%
    counts = [run.statistic("instructions") for run in one.instruction_runs]
    assert max(counts) / min(counts) - 1 < 0.001
    marker = result["benchmarks/test_counted.py::test_marker_form"]  # the whole test body is the call
    assert marker.statistic("instructions") == pytest.approx(per_call, rel=0.05)
    pedantic = result["benchmarks/test_counted.py::test_pedantic_setup"]
    assert pedantic.statistic("instructions") == pytest.approx(per_call / 2, rel=0.05)
    crashed = result["benchmarks/test_counted.py::test_crashes_under_valgrind"]
    assert [run.status for run in crashed.instruction_runs] == ["crashed", "crashed"]
    assert crashed.instruction_runs[0].error is not None
    assert "SIGSEGV" in crashed.instruction_runs[0].error
    assert crashed.ok_runs  # its timed run, outside valgrind, is fine
    hung = result["benchmarks/test_counted.py::test_hangs_under_valgrind"]
    assert [run.status for run in hung.instruction_runs] == ["timeout", "timeout"]
    first, second = (run.error or "" for run in hung.instruction_runs)
    assert "timeout of 20 s" in first and "child process was killed" in first
    # counted work is deterministic: the second run is not waited out again
    assert "not run: its run 1 did not finish" in second
    # Each benchmark ran in processes of its own: the crash and the hang cost no other benchmark a run,
    # and deterministic counts got no extra runs.
    assert [len(result[name].instruction_runs) for name in result] == [2] * len(result)
    # No gdb-server FIFOs (vgdb-pipe-*) and no scratch directories survive the crash and the kill.
    assert sorted(path.name for path in private_tmp.iterdir()) == []
    # Nor any process: the hung benchmark's valgrind is killed, although the other worker's pass
    # (run in a thread beside it) ended first and once switched the subreaper flag off under it.
    assert processes_mentioning(str(private_tmp)) == []


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live (not zombie) processes that contain ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if text in command and stat[stat.rfind(")") + 2] != "Z":
            found.append(command)
    return found


@needs_valgrind
def test_cli_writes_counts_and_the_fingerprint(project: Path, tmp_path: Path) -> None:
    output = tmp_path / "counted.json"
    config = str(project / "pyproject.toml")
    code = main(["run", "--config", config, "-k", "one_call", "--instructions", "--plain", "-o", str(output)])
    assert code == EXIT_OK
    document = json.loads(output.read_text())
    assert document["schema_version"] == SCHEMA_VERSION
    run_a, _ = document["benchmarks"][0]["instruction_runs"]
    assert run_a["status"] == "ok" and len(run_a["instructions"]) == 1  # one counted call after two warm-ups
    fingerprint = document["count_fingerprint"]
    assert fingerprint["valgrind"].startswith("valgrind-") and fingerprint["hash_seed"] == "0"
    assert {"machine", "python_implementation", "python_version", "python_build", "packages"} <= set(fingerprint)
    assert document["settings"]["instruction_pass"]["counted_calls"] == 1
    assert document["settings"]["instruction_pass"]["warmup_calls"] == 2


def test_valgrind_missing_skips_the_pass_with_one_note_and_the_timed_runs_still_run(project: Path) -> None:
    settings = RunSettings(
        runs=1,
        memory=False,
        timeout=30,
        pytest_args=FAST,
        keyword="one_call or two_calls",
        instructions=InstructionSettings(valgrind=None),
    )
    result = run_suites(repo=project, settings=settings)
    for benchmark in result.benchmarks:
        assert benchmark.ok_runs
        assert benchmark.instruction_runs == ()
    assert "valgrind not found on PATH" in result.settings["instruction_pass"]["skipped"]


def test_cli_without_valgrind_says_so_in_one_line_and_skips_the_pass(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    output = tmp_path / "plain.json"
    code = main(["run", "--config", str(project / "pyproject.toml"), "-k", "one_call", "-q", "-o", str(output)])
    assert code == EXIT_OK
    err = capsys.readouterr().err
    assert err.count("instruction pass skipped: valgrind not found on PATH") == 1
    document = json.loads(output.read_text())
    assert document["benchmarks"][0]["instruction_runs"] == []
    assert document["count_fingerprint"] is None


def test_cli_asked_for_counts_without_valgrind_fails_the_run_with_one_line(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    output = tmp_path / "asked.json"
    config = str(project / "pyproject.toml")
    code = main(["run", "--config", config, "-k", "one_call", "--instructions", "-q", "-o", str(output)])
    assert code == EXIT_BENCHMARK_FAILED
    err = capsys.readouterr().err
    assert err.count("instruction pass skipped: valgrind not found on PATH") == 1
    assert "FAILED" not in err
    assert json.loads(output.read_text())["benchmarks"][0]["instruction_runs"] == []


def _without_the_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers in which ``import valgrind`` fails, as in a default install without a C compiler."""
    shadow = tmp_path / "no-valgrind-module"
    shadow.mkdir()
    (shadow / "valgrind.py").write_text('raise ImportError("simulated: the valgrind module was never built")\n')
    monkeypatch.setenv("PYTHONPATH", str(shadow))


@needs_valgrind
def test_default_install_without_the_module_counts_through_machine_code(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's probe: ``pip install benchwatch`` (no compiler), then ``benchwatch run``: counts, exit 0."""
    _without_the_module(tmp_path, monkeypatch)
    output = tmp_path / "counted.json"
    config = str(project / "pyproject.toml")
    code = main(["run", "--config", config, "-k", "one_call or two_calls", "-q", "-o", str(output)])
    err = capsys.readouterr().err
    assert code == EXIT_OK, err
    assert "FAILED" not in err and "skipped" not in err
    document = json.loads(output.read_text())
    counts = {
        benchmark["name"].rsplit("::", 1)[-1]: [run["instructions"][0] for run in benchmark["instruction_runs"]]
        for benchmark in document["benchmarks"]
    }
    one, two = counts["test_one_call"], counts["test_two_calls"]
    assert len(one) >= 2 and len(two) >= 2
    # Counting only the call: two calls of work() cost about twice one call.
    assert 1.9 < min(two) / min(one) < 2.1
    assert document["count_fingerprint"]["client_requests"] == "machine code"


@needs_valgrind
def test_a_platform_without_any_way_skips_the_pass_with_the_install_command(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Where neither the module nor the machine code works: one note, the command, exit 0, no per-benchmark error."""
    _without_the_module(tmp_path, monkeypatch)
    # As on a machine other than x86-64: client_requests finds no built-in way.
    (tmp_path / "no-valgrind-module" / "sitecustomize.py").write_text(
        "import benchwatch.runner.client_requests as c\nc.machine_code_supported = lambda: False\n"
    )
    output = tmp_path / "plain.json"
    config = str(project / "pyproject.toml")
    code = main(["run", "--config", config, "-k", "one_call or two_calls", "-q", "-o", str(output)])
    err = capsys.readouterr().err
    assert code == EXIT_OK, err
    [note] = [line for line in err.splitlines() if "instruction" in line]
    assert note.startswith("instruction pass skipped: the 'valgrind' Python module")
    assert "-m pip install 'benchwatch[instructions]'" in note
    assert "FAILED" not in err
    document = json.loads(output.read_text())
    assert all(benchmark["instruction_runs"] == [] for benchmark in document["benchmarks"])
    assert all(benchmark["runs"][0]["status"] == "ok" for benchmark in document["benchmarks"])


@needs_valgrind
def test_compare_refs_decides_a_two_percent_change_by_instructions(tmp_path: Path, capsys) -> None:
    from test_compare_refs import LIBRARY, _git, init_project

    repo = tmp_path / "project"
    repo.mkdir()
    init_project(repo)
    (repo / "pyproject.toml").write_text(
        '[tool.benchwatch]\nsuites = ["benchmarks"]\ntimeout = 120\n'
        'pytest_args = ["--benchmark-min-rounds=5", "--benchmark-max-time=0.01"]\n'
        '[tool.benchwatch.compare]\ngate = ["instructions"]\n'
    )
    _git(repo, "commit", "-qam", "gate on instructions")
    _git(repo, "tag", "base")
    (repo / "mylib.py").write_text(LIBRARY.format(parse_size=20_400))  # +2% loop iterations
    _git(repo, "commit", "-qam", "2% more work in parse_rows")
    out = tmp_path / "out"
    args = [
        "compare-refs",
        "base",
        "HEAD",
        "--config",
        str(repo / "pyproject.toml"),
        "--looks",
        "2",
        "--memory-runs",
        "0",
    ]
    code = main([*args, "--plain", "--format", "json", "--output-dir", str(out)])
    report = json.loads(capsys.readouterr().out)
    rows = {(row["benchmark"].rsplit("::", 1)[-1], row["metric"]): row for row in report["comparisons"]}
    parse = rows[("test_parse_rows", "instructions")]
    assert parse["verdict"] == "regression" and parse["gated"]
    assert 1.015 < parse["ratio"] < 1.025
    assert rows[("test_aggregate", "instructions")]["verdict"] == "unchanged"
    assert code == 1


@needs_valgrind
def test_per_ref_environments_can_count_instructions(tmp_path: Path, capsys) -> None:
    """``--venv-per-ref`` builds environments that can run the instruction pass (the module only off x86-64)."""
    from test_compare_refs import _git, init_project

    repo = tmp_path / "project"
    repo.mkdir()
    init_project(repo)
    (repo / "pyproject.toml").write_text(
        '[tool.benchwatch]\nsuites = ["benchmarks"]\ntimeout = 120\ninstructions = true\n'
        'pytest_args = ["--benchmark-min-rounds=5", "--benchmark-max-time=0.01"]\n'
        # The fixture's integer loop counts in heap-layout steps 1.3% apart (17,356,842 / 17,580,302;
        # docs/instructions.md, "Why counts can differ"): a 3% band, as for our dedup benchmark.
        "[tool.benchwatch.compare]\nthresholds = { instructions = 0.03 }\n"
    )
    _git(repo, "commit", "-qam", "count instructions")
    cache = tmp_path / "cache"
    args = ["compare-refs", "HEAD", "HEAD", "--allow-same", "--venv-per-ref", "--config", str(repo / "pyproject.toml")]
    args += ["--cache-dir", str(cache), "--looks", "2", "--memory-runs", "0", "--plain", "--format", "json"]
    main([*args, "--output-dir", str(tmp_path / "out")])
    report = json.loads(capsys.readouterr().out)
    counted = [row for row in report["comparisons"] if row["metric"] == "instructions"]
    assert len(counted) == 2 and {row["verdict"] for row in counted} == {"unchanged"}
    [venv] = [path for path in (cache / "venvs").iterdir() if path.is_dir()]  # beside it: its lock file
    assert venv.name.endswith("-counts")
    # x86-64 needs no module in the environment: the client requests go through ctypes there.
    from benchwatch.resultfile import load_result
    from benchwatch.runner.client_requests import MACHINE_CODE, MODULE, machine_code_supported

    fingerprint = load_result(tmp_path / "out" / "head.json.gz").count_fingerprint
    assert fingerprint["client_requests"] == (MACHINE_CODE if machine_code_supported() else MODULE)


PACKAGES_SUITE = textwrap.dedent(
    """
    import duckdb, idna, numpy

    CONNECTION = duckdb.connect()

    def test_idna(benchmark):
        benchmark(lambda: idna.encode("bücher.example"))

    def test_duckdb(benchmark):
        benchmark(lambda: CONNECTION.execute("select sum(range) from range(1000)").fetchall())

    def test_pure_python(benchmark):
        benchmark(lambda: sorted(str(i) for i in range(2000)))
    """
)


@needs_valgrind
def test_each_benchmark_records_the_packages_its_call_executed(tmp_path: Path) -> None:
    # All three modules import duckdb, idna and numpy; each call executes one (or none) of them.
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "test_packages.py").write_text(PACKAGES_SUITE)
    settings = RunSettings(
        runs=1,
        memory=False,
        timeout=60,
        pytest_args=FAST,
        # One counted run: the pass traces the packages in one run per benchmark whatever the number of runs,
        # and a second run of three Callgrind workers importing DuckDB and numpy cost 24 s of the suite.
        instructions=InstructionSettings(valgrind=VALGRIND, runs=1, max_runs=1, timeout=300),
    )
    result = run_suites(repo=tmp_path, settings=settings)
    executed = {b.name.rsplit("::", 1)[1]: b.executed_packages for b in result.benchmarks}
    assert set(executed["test_idna"] or {}) == {"idna"}  # Python code: the traced call's code objects
    assert set(executed["test_duckdb"] or {}) == {"duckdb"}  # native code: Callgrind's objects
    assert executed["test_pure_python"] == {}  # the standard library is no distribution
    imported = result.count_fingerprint["packages"]  # the suite-wide record, for older readers
    assert {"duckdb", "idna", "numpy"} <= set(imported)
    assert executed["test_idna"] == {"idna": imported["idna"]}
    assert result.count_fingerprint["count_method"] >= 1
