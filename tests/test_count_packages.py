"""Instruction counts across machines: what must match, and the packages each benchmark's call executed.

The case from issue 23: a fresh machine installs idna 3.21 where the stored
baseline had 3.20.  The DuckDB queries never execute idna, so their counts
must still be compared; the HTTP benchmark does execute it, so its row is
judged and names the versions; ``strict_packages`` refuses it instead.
"""

from __future__ import annotations

import dataclasses
import json
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchwatch import resultfile
from benchwatch.compare import compare
from benchwatch.compare.instructions import fingerprint_mismatches
from benchwatch.compare.settings import CompareSettings
from benchwatch.config import compare_settings, load_config
from benchwatch.model import BenchmarkResult, Environment, InstructionRun, MemoryProfile, ResultSet, Run
from benchwatch.render.markdown_report import render_markdown
from benchwatch.render.terminal import render_terminal
from benchwatch.runner.callgrind import COUNT_METHOD_VERSION, TOOLING_DISTRIBUTIONS
from benchwatch.runner.executed import CallTrace, dump_objects, executed_distributions

FIXTURES = Path(__file__).parent / "fixtures" / "results"
FINGERPRINT: dict[str, Any] = {
    "machine": "x86_64",
    "python_implementation": "CPython",
    "python_version": "3.11.7",
    "python_build": "main May 9 2026 [GCC 12.2.0]",
    "hash_seed": "0",
    "count_method": 1,
    "valgrind": "valgrind-3.19.0",
    "packages": {"duckdb": "1.1.0", "idna": "3.20", "requests": "2.32.3"},
}
QUERIES = [f"benchmarks/test_analytics.py::test_query_{i}" for i in range(8)]
SYNC = "benchmarks/test_sync.py::test_fetch_pages"
DUCKDB = {"duckdb": "1.1.0"}
HTTP = {"idna": "3.20", "requests": "2.32.3"}


def suite(
    *,
    idna: str = "3.20",
    fingerprint: dict | None = None,
    cpu_model: str = "AMD EPYC 7763",
    executed: bool = True,
    planted: dict[str, float] | None = None,
    seed: int = 0,
) -> ResultSet:
    """The 9 benchmarks of one side: counts per run, latency, memory; ``planted`` scales a benchmark's counts."""
    rng = np.random.default_rng(seed)
    benchmarks = []
    for index, name in enumerate([*QUERIES, SYNC]):
        base_count = 5_000_000 + 250_000 * index
        count = round(base_count * (planted or {}).get(name, 1.0))
        packages = {**HTTP, "idna": idna} if name == SYNC else dict(DUCKDB)
        runs = tuple(
            Run(
                samples=1e-3 * (1 + index / 10) * rng.lognormal(0, 0.02, 100),
                memory=MemoryProfile(peak_bytes=4 * 2**20, allocations=900, rss_peak_bytes=9 * 2**20),
            )
            for _ in range(3)
        )
        counted = tuple(InstructionRun(instructions=(count + run, count + run)) for run in range(2))
        benchmarks.append(
            BenchmarkResult(
                name=name, runs=runs, instruction_runs=counted, executed_packages=packages if executed else None
            )
        )
    print_ = {**FINGERPRINT, "packages": {**FINGERPRINT["packages"], "idna": idna}, **(fingerprint or {})}
    environment = Environment(cpu_model=cpu_model, cpu_count=2, python_version=print_["python_version"])
    return ResultSet(benchmarks=tuple(benchmarks), environment=environment, count_fingerprint=print_)


def instruction_rows(comparison):
    return {m.benchmark: m for m in comparison.metric_comparisons() if m.metric == "instructions"}


def test_a_release_of_a_package_no_call_executes_is_not_mentioned():
    # idna moves in the suite-wide record only (the sync call executed requests, not idna).
    base = suite(seed=1)
    base = dataclasses.replace(
        base,
        benchmarks=tuple(
            dataclasses.replace(b, executed_packages={"requests": "2.32.3"}) if b.name == SYNC else b
            for b in base.benchmarks
        ),
    )
    head = dataclasses.replace(suite(seed=2), benchmarks=base.benchmarks)
    head = dataclasses.replace(head, count_fingerprint={**head.count_fingerprint, "packages": {"idna": "3.21"}})
    comparison = compare(base, head)
    rows = instruction_rows(comparison)
    assert len(rows) == 9 and all(row.gated and row.verdict == "unchanged" for row in rows.values())
    assert not any("idna" in row.reason for row in rows.values())
    assert "idna" not in comparison.headline and not any("idna" in w for w in comparison.warnings)


def test_a_fresh_machine_with_a_newer_idna_judges_every_row_and_names_it_where_executed():
    base, head = suite(seed=1), suite(idna="3.21", cpu_model="Intel Xeon", seed=2)
    comparison = compare(base, head)
    rows = instruction_rows(comparison)
    assert all(row.judged and row.verdict == "unchanged" for row in rows.values())
    assert all("idna" not in rows[name].reason for name in QUERIES)
    assert "compared across idna 3.20 → 3.21: part of this change may be the dependency's" in rows[SYNC].reason
    # Latency is another machine's; counts and memray's figures decide, and the headline says so.
    assert comparison.verdict == "unchanged" and comparison.exit_code() == 0
    assert (  # after the findings ("9 unchanged — "), what decided
        "no gated regression: latency not comparable (another machine) · instructions: 9 unchanged · "
        "memory: 9 unchanged"
    ) in comparison.headline
    assert comparison.headline.startswith("9 unchanged — ")
    assert "instructions of 1 benchmark(s) compared across idna 3.20 → 3.21" in comparison.headline
    assert comparison.diagnostics.instruction_counts["packages_across"] == {"idna": ["3.20", "3.21"]}
    for text in (render_terminal(comparison), render_markdown(comparison)):
        assert "instructions: 9 unchanged" in text and "idna 3.20 → 3.21" in text


def test_strict_packages_refuses_the_rows_whose_call_executed_the_changed_package():
    settings = CompareSettings(strict_packages=True)
    comparison = compare(suite(seed=1), suite(idna="3.21", seed=2), settings)
    rows = instruction_rows(comparison)
    assert not rows[SYNC].gated and rows[SYNC].reason_code == "not-comparable-machine"
    assert "idna 3.20 → 3.21 (strict_packages)" in rows[SYNC].reason
    assert all(rows[name].verdict == "unchanged" for name in QUERIES)
    assert "instructions: 8 unchanged" in comparison.headline


def test_strict_packages_is_read_from_the_compare_table(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.benchwatch.compare]\nstrict_packages = true\n")
    assert compare_settings(load_config(path), path).strict_packages is True
    path.write_text('[tool.benchwatch.compare]\nstrict_packages = "yes"\n')
    with pytest.raises(Exception, match="strict_packages must be true or false"):
        compare_settings(load_config(path), path)


def test_a_planted_three_percent_in_one_query_is_a_regression_across_an_unexecuted_release():
    planted = {QUERIES[3]: 1.03}
    comparison = compare(suite(seed=1), suite(idna="3.21", cpu_model="Intel Xeon", planted=planted, seed=2))
    rows = instruction_rows(comparison)
    assert rows[QUERIES[3]].verdict == "regression" and rows[QUERIES[3]].change == pytest.approx(0.03, abs=1e-4)
    assert "idna" not in rows[QUERIES[3]].reason
    assert comparison.verdict == "regression" and comparison.exit_code() == 1
    found = "1 regression (+3%) · 8 unchanged — "
    assert comparison.headline.startswith(f"{found}1 gated regression(s), worst {QUERIES[3]}")
    assert "instructions: 1 regressed, 8 unchanged" in comparison.headline


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("python_implementation", "PyPy"),
        ("python_build", "main Jan 1 2027 [GCC 14.1.0]"),
        ("machine", "aarch64"),
        ("valgrind", "valgrind-3.22.0"),
        ("hash_seed", "1"),
        ("count_method", 2),
        ("count_workers", "warm"),
    ],
)
def test_what_must_match_makes_counts_not_comparable_and_the_headline_names_the_field(field, value):
    comparison = compare(suite(seed=1), suite(fingerprint={field: value}, seed=2))
    rows = instruction_rows(comparison)
    assert all(not row.gated and row.reason_code == "not-comparable-machine" for row in rows.values())
    assert all(field in row.reason for row in rows.values())
    assert f"instructions not comparable ({field} " in comparison.headline
    # Counts that are not comparable do not gate: latency and memory, measured on one machine, decide.
    assert comparison.verdict == "unchanged" and "latency: 18 unchanged" in comparison.headline  # p50 and p95


def test_another_python_minor_says_which_field_differs():
    comparison = compare(suite(seed=1), suite(fingerprint={"python_version": "3.12.1"}, seed=2))
    assert "instructions not comparable (python_version '3.11.7' vs '3.12.1')" in comparison.headline
    assert comparison.verdict == "inconclusive"


def test_counting_method_of_files_that_did_not_record_it_is_the_first():
    old = {key: value for key, value in FINGERPRINT.items() if key != "count_method"}
    assert fingerprint_mismatches(old, FINGERPRINT) == []
    assert fingerprint_mismatches(old, {**FINGERPRINT, "count_method": 2}) == ["count_method 1 vs 2"]
    # Method 3 (each run forked from a warm parent) is refused against method 2 the same way.
    assert COUNT_METHOD_VERSION == 3
    method_two = {**FINGERPRINT, "count_method": 2}
    method_three = {**FINGERPRINT, "count_method": 3, "count_workers": "warm"}
    expected = ["count_method 2 vs 3", "count_workers 'fresh' vs 'warm'"]
    assert fingerprint_mismatches(method_two, method_three) == expected
    # --no-warm-instructions counts by method 3 from another starting state: not compared with warm counts either.
    fresh_three = {**method_three, "count_workers": "fresh"}
    assert fingerprint_mismatches(fresh_three, method_three) == ["count_workers 'fresh' vs 'warm'"]


def test_an_older_file_without_per_benchmark_packages_falls_back_to_the_suite_wide_rule_and_says_so():
    base = suite(executed=False, seed=1)
    comparison = compare(base, suite(idna="3.21", seed=2))
    rows = instruction_rows(comparison)
    assert all(not row.gated and row.reason_code == "not-comparable-machine" for row in rows.values())
    assert all("base has no record of the packages this benchmark executed" in r.reason for r in rows.values())
    assert all("idna 3.20 vs 3.21" in row.reason for row in rows.values())
    assert any("written before schema 5" in warning for warning in comparison.warnings)
    assert "older file's suite-wide package rule" in comparison.headline
    # Without a suite-wide difference an older file's counts are compared as before.
    same = compare(base, suite(seed=2))
    assert all(row.verdict == "unchanged" for row in instruction_rows(same).values())


def test_the_v4_fixture_loads_without_per_benchmark_packages_and_compares_under_the_old_rule(tmp_path):
    old = resultfile.load_result(FIXTURES / "v4_result.json")
    assert [b.executed_packages for b in old.benchmarks] == [None, None]
    assert old.count_fingerprint["packages"] == {"idna": "3.10", "numpy": "1.26.4"}
    parse = old.by_name()["bench_parse"]
    head_parse = dataclasses.replace(parse, executed_packages={"numpy": "1.26.4"})
    head = dataclasses.replace(
        old,
        benchmarks=(head_parse, *old.benchmarks[1:]),
        count_fingerprint={**old.count_fingerprint, "packages": {"idna": "3.11", "numpy": "1.26.4"}, "count_method": 1},
    )
    row = instruction_rows(compare(old, head))["bench_parse"]
    assert row.reason_code == "not-comparable-machine" and "suite-wide rule" in row.reason
    document = json.loads(resultfile.save_result(head, tmp_path / "v5.json").read_text())
    assert document["schema_version"] == resultfile.SCHEMA_VERSION
    assert [b["executed_packages"] for b in document["benchmarks"]] == [{"numpy": "1.26.4"}, None]
    assert resultfile.load_result(tmp_path / "v5.json").by_name()["bench_parse"].executed_packages == {
        "numpy": "1.26.4"
    }


def test_a_non_string_package_version_is_refused_in_one_line(tmp_path):
    document = json.loads((FIXTURES / "v4_result.json").read_text())
    document["schema_version"] = resultfile.SCHEMA_VERSION
    document["benchmarks"][0]["executed_packages"] = {"numpy": 1.26}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    with pytest.raises(Exception, match="executed_packages"):
        resultfile.load_result(path)


# -- the worker's side: what a call executed --------------------------------------------


def test_callgrind_objects_are_those_with_costs_in_the_dump():
    dump = [
        "events: Ir\n",
        "ob=(1) /usr/bin/python3.11\n",
        "fn=(1) _PyEval_EvalFrameDefault\n",
        "5 100\n",
        "cob=(2) /venv/lib/python3.11/site-packages/_duckdb.cpython-311-x86_64-linux-gnu.so\n",
        "cfn=(2) duckdb::Query\n",
        "calls=1 0\n",
        "5 900\n",
        "ob=(2)\n",
        "fn=(2)\n",
        "7 900\n",
        "cob=(3) /usr/lib/libnever.so\n",
        "totals: 1000\n",
    ]
    assert dump_objects(dump) == {
        "/usr/bin/python3.11",
        "/venv/lib/python3.11/site-packages/_duckdb.cpython-311-x86_64-linux-gnu.so",
    }


def test_a_traced_call_maps_its_code_to_the_distributions_it_executed():
    import idna
    import numpy

    ignore = TOOLING_DISTRIBUTIONS
    idna.encode("warm.example")  # the worker traces after the warm-up calls, past first-call imports
    trace = CallTrace()
    assert trace.run(lambda: idna.encode("bücher.example")) == b"xn--bcher-kva.example"
    assert executed_distributions(files=trace.files, modules=trace.modules, ignore=ignore) == {
        "idna": importlib_metadata.version("idna")
    }
    trace = CallTrace()
    trace.run(lambda: numpy.add.reduce(numpy.arange(100)))
    assert set(executed_distributions(files=trace.files, modules=trace.modules, ignore=ignore)) == {"numpy"}
    trace = CallTrace()
    trace.run(lambda: json.dumps({"a": [1, 2]}))  # the standard library is no distribution
    assert executed_distributions(files=trace.files, modules=trace.modules, ignore=ignore) == {}
    # a native object under a sys.path entry maps through its top-level name
    extension = Path(numpy.__file__).parent / "_core" / "_multiarray_umath.so"
    assert set(executed_distributions(files={str(extension)}, modules=(), ignore=ignore)) == {"numpy"}


def test_the_compare_command_keeps_each_benchmarks_packages(tmp_path, capsys):
    from benchwatch.cli import main

    base = resultfile.save_result(suite(seed=1), tmp_path / "base.json.gz")
    head_result = suite(idna="3.21", cpu_model="Intel Xeon", planted={QUERIES[3]: 1.03}, seed=2)
    head = resultfile.save_result(head_result, tmp_path / "head.json.gz")
    code = main(["compare", str(base), str(head), "--format", "markdown"])
    out = capsys.readouterr().out
    assert code == 1
    assert "instructions: 1 regressed, 8 unchanged" in out
    assert "compared across idna 3.20 → 3.21" in out  # only the sync benchmark executed idna
    assert "older file" not in out
