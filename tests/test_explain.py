"""The explanation's parts: profiles in a worker, Callgrind's per-function dump, the diff, the reports."""

from __future__ import annotations

import cProfile
import json
import os
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from test_pr_comment import LABELS, MALICIOUS, synthetic

from benchwatch.cli import main
from benchwatch.errors import InputError
from benchwatch.explain.callgrind_functions import NO_SYMBOL, native_profile, read_function_costs
from benchwatch.explain.collect import profile_from_stats, short_path
from benchwatch.explain.diff import diff_profiles, explain_all, explain_from_results
from benchwatch.explain.passes import (
    ExplainSettings,
    explain_reserve,
    explain_targets,
    profile_sides,
    profiles_from_settings,
    profiles_to_settings,
)
from benchwatch.explain.records import Change, FunctionCost, Profile, SideProfiles, Tool
from benchwatch.model import BenchmarkResult, ResultSet, Run
from benchwatch.render.explain_report import PR_FUNCTIONS, markdown_section
from benchwatch.render.html_report import render_html_report
from benchwatch.render.json_report import render_json
from benchwatch.render.markdown_report import render_markdown
from benchwatch.render.pr_comment import render_pr_comment
from benchwatch.render.terminal import render_terminal
from benchwatch.resultfile import save_result
from benchwatch.runner.worker import WorkerCommand, run_pass

DUMP = textwrap.dedent(
    """\
    version: 1
    creator: callgrind-3.19.0
    positions: line
    events: Ir
    summary: 1010

    ob=(1) /usr/lib/libfoo.so.1
    fl=(1) ???
    fn=(1) main_loop
    0 100
    cob=(2) /opt/lib/libbar.so
    cfn=(2) bar_scan
    calls=5 0
    0 700
    +3 10

    ob=(2)
    fl=(1)
    fn=(2)
    0 650
    * 50
    fn=(3) 0x00000000004011a0
    -2 40
    fn=(4) 0x00000000004011f0
    0 20

    ob=(1)
    fn=(1)
    0 40
    totals: 910
    """
)


def _cost(name: str, own: float, calls: float = 1.0, file: str = "lib.py", line: int | None = 1) -> FunctionCost:
    return FunctionCost(name=name, file=file, line=line, calls=calls, own=own)


def _profile(*functions: FunctionCost, tool: Tool = Tool.CPROFILE) -> Profile:
    return Profile(tool=tool, benchmark_calls=1, total=sum(f.own for f in functions), functions=functions)


def test_callgrind_dump_own_cost_excludes_inclusive_call_costs(tmp_path: Path) -> None:
    path = tmp_path / "callgrind.out.1"
    path.write_text(DUMP)
    totals = read_function_costs(path)
    # main_loop: 100 + 10 + 40; the 700 after calls= is bar_scan's inclusive cost, not main_loop's own
    assert totals.own[("main_loop", "libfoo.so.1")] == 150
    assert totals.own[("bar_scan", "libbar.so")] == 700
    assert totals.calls[("bar_scan", "libbar.so")] == 5
    # functions without a symbol are pooled per library
    assert totals.own[(NO_SYMBOL, "libbar.so")] == 60
    profile = native_profile([path])
    assert profile.total == 910
    assert profile.libraries == {"libbar.so": 760.0, "libfoo.so.1": 150.0}
    assert profile.functions[0].key == ("bar_scan", "libbar.so")


def _leaf(n: int) -> int:
    return sum(range(n))


def _caller(times: int) -> int:
    return sum(_leaf(50) for _ in range(times))


def test_cprofile_calls_are_exact_per_benchmark_call() -> None:
    profiler = cProfile.Profile()
    for _ in range(3):
        profiler.enable()
        _caller(7)
        profiler.disable()
    profile = profile_from_stats(profiler.getstats(), calls=3, root=Path(__file__).parent, overhead=None)
    rows = {function.name: function for function in profile.functions}
    assert rows["_leaf"].calls == 7.0 and rows["_caller"].calls == 1.0
    assert rows["_leaf"].file == "test_explain.py" and rows["_leaf"].line is not None
    # the call graph: _caller's generator calls _leaf 7 times per benchmark call
    leaf_index = profile.functions.index(rows["_leaf"])
    assert any(index == leaf_index and calls == 7.0 for index, calls, _ in rows["_caller.<locals>.<genexpr>"].callees)
    assert not any("_lsprof" in name for name in rows)


def test_short_path_is_the_same_for_both_checkouts(tmp_path: Path) -> None:
    base, head = tmp_path / "base", tmp_path / "head"
    assert short_path(str(base / "pkg" / "mod.py"), base) == short_path(str(head / "pkg" / "mod.py"), head)
    assert short_path("/x/lib/python3.11/site-packages/duckdb/__init__.py", base) == "duckdb/__init__.py"
    assert short_path(os.__file__, base) == "<stdlib>/os.py"


def test_diff_ranks_by_change_in_own_cost_and_keeps_exact_call_changes() -> None:
    base = _profile(_cost("helper", 10.0, calls=300), _cost("steady", 50.0), _cost("noisy", 20.0), _cost("old", 5.0))
    head = _profile(_cost("helper", 30.0, calls=300), _cost("steady", 50.0), _cost("noisy", 20.5), _cost("new", 5.0))
    diff = diff_profiles(base, head)
    top = {change.name: change for change in diff.top}
    assert diff.top[0].name == "helper" and diff.top[0].delta == 20.0 and diff.top[0].ratio == 3.0
    assert top["old"].change == Change.REMOVED and top["new"].change == Change.ADDED
    assert "noisy" not in top  # 0.5 of ~85 is under the noise floor
    assert "steady" not in {change.name for change in diff.changes}
    # a different call count is reported however small the time
    calls = diff_profiles(
        _profile(_cost("a", 1.0, calls=2), _cost("big", 100.0)), _profile(_cost("a", 1.0, calls=3), _cost("big", 100.0))
    )
    assert [change.name for change in calls.top] == ["a"]


def test_profiles_round_trip_through_result_settings() -> None:
    side = SideProfiles(
        python=_profile(replace(_cost("f", 1.0), callees=((0, 2.0, 0.5),))),
        native=_profile(_cost("g", 9.0, file="libx.so", line=None), tool=Tool.CALLGRIND),
        errors=("native profile failed: timeout",),
    )
    data = json.loads(json.dumps(profiles_to_settings({"b": side})))
    assert profiles_from_settings({"profiles": data}) == {"b": side}
    assert profiles_from_settings({}) == {}


@pytest.mark.parametrize(
    "profiles",
    [
        [1, 2],
        {"b": {"python": {"tool": "gprof", "benchmark_calls": 1, "total": 1.0}}},
        {"b": {"python": {"tool": "cprofile", "benchmark_calls": 1, "total": 1.0, "functions": [["f", "x.py"]]}}},
        {
            "b": {
                "python": {
                    "tool": "cprofile",
                    "benchmark_calls": 1,
                    "total": 1,
                    "functions": [["f", "x", 1, 1, 1, [[7, 1, 1]]]],
                }
            }
        },
    ],
)
def test_malformed_profiles_in_a_result_file_are_one_input_error(profiles: object) -> None:
    with pytest.raises(InputError, match=r"^head\.json: settings\.profiles"):
        profiles_from_settings({"profiles": profiles}, "head.json")


def _explained(comparison, helper: str = "_pad_fields"):
    base = {"t::slow": SideProfiles(python=_profile(_cost(helper, 1e-3, calls=300), _cost("other", 1e-3)))}
    head = {"t::slow": SideProfiles(python=_profile(_cost(helper, 3e-3, calls=300), _cost("other", 1e-3)))}
    return replace(comparison, explanations=explain_all({"t::slow": "regression"}, base, head))


def test_targets_are_gated_changes_and_requested_names() -> None:
    comparison = synthetic(
        [("t::slow", "regression", 1.5), ("t::fast", "improvement", 0.5), ("t::same", "unchanged", 1.0)]
    )
    assert explain_targets(comparison, ExplainSettings()) == {"t::slow": "regression", "t::fast": "improvement"}
    assert explain_targets(comparison, ExplainSettings(requested=("same",)))["t::same"] == "requested"
    assert explain_targets(comparison, ExplainSettings(enabled=False)) == {}
    assert list(explain_targets(comparison, ExplainSettings(max_benchmarks=1))) == ["t::slow"]
    worse = synthetic([("t::a", "regression", 1.2), ("t::b", "regression", 3.0), ("t::c", "improvement", 0.1)])
    assert list(explain_targets(worse, ExplainSettings(max_benchmarks=2))) == ["t::b", "t::a"]


def test_the_looks_leave_time_for_explaining_the_changes_found() -> None:
    changed = synthetic([("t::slow", "regression", 1.5), ("t::fast", "improvement", 0.5)])
    quiet = synthetic([("t::same", "unchanged", 1.0)])
    assert explain_reserve(changed, ExplainSettings(), 900) == 60 + 2 * 20
    assert explain_reserve(changed, ExplainSettings(), 300) == 0.2 * 300  # never more than a fifth of the budget
    assert explain_reserve(quiet, ExplainSettings(), 900) == 0.0
    assert explain_reserve(changed, ExplainSettings(enabled=False), 900) == 0.0
    assert explain_reserve(changed, None, 900) == 0.0


def test_compare_explains_from_profiles_the_result_files_carry() -> None:
    comparison = synthetic([("t::slow", "regression", 1.5), ("t::same", "unchanged", 1.0)])
    base = {"t::slow": SideProfiles(python=_profile(_cost("h", 1.0)))}
    head = {"t::slow": SideProfiles(python=_profile(_cost("h", 2.0)))}
    explained = explain_from_results(
        comparison,
        {"profiles": profiles_to_settings(base)},
        {"profiles": profiles_to_settings(head)},
        ExplainSettings(),
    )
    assert [e.benchmark for e in explained.explanations] == ["t::slow"]
    assert explain_from_results(comparison, {}, {}, ExplainSettings()).explanations == ()
    off = explain_from_results(
        comparison,
        {"profiles": profiles_to_settings(base)},
        {"profiles": profiles_to_settings(head)},
        ExplainSettings(enabled=False),
    )
    assert off.explanations == ()


def test_every_report_names_the_helper_under_its_benchmark() -> None:
    comparison = _explained(synthetic([("t::slow", "regression", 1.5), ("t::same", "unchanged", 1.0)]))
    comment = render_pr_comment(comparison, **LABELS)
    section = markdown_section(comparison.explanations, PR_FUNCTIONS)
    assert section in comment
    assert "**t::slow** (regression)" in section and "t::same" not in section
    assert "+2 ms (3.00×) \\_pad_fields · lib.py:1 · calls/call 300 → 300" in section
    assert "_pad_fields" in render_markdown(comparison) and "_pad_fields" in render_terminal(comparison)
    document = json.loads(render_json(comparison))
    rows = document["explanations"][0]["python"]["functions"]
    assert rows[0]["name"] == "_pad_fields" and rows[0]["delta"] == pytest.approx(2e-3)


def test_hostile_function_names_are_escaped_everywhere() -> None:
    evil = "<img src=x onerror=alert(1)>@octocat\u202e`x`\n# h"
    comparison = _explained(synthetic([("t::slow", "regression", 1.5)]), helper=evil)
    comment = render_pr_comment(comparison, **LABELS)
    section = markdown_section(comparison.explanations, PR_FUNCTIONS)
    assert section in comment and "img src" in section
    assert "<img" not in section and "@octocat" not in section and "\u202e" not in section and "\n# h" not in section
    terminal = render_terminal(comparison)
    assert "\u202e" not in terminal and "\n# h" not in terminal
    html = render_html_report(comparison, ResultSet(benchmarks=()), ResultSet(benchmarks=()))
    assert "<img src=x" not in html and "&lt;img src=x" in html


def _many_explained(count: int):
    names = [f"benchmarks/test_{i:04d}.py::test_{'x' * 40}_{i}" for i in range(count)]
    comparison = synthetic([(name, "regression", 1.5) for name in names], warnings=MALICIOUS)
    helpers = [f"helper_{j}_{'y' * 60}" for j in range(8)]
    base = {
        name: SideProfiles(python=_profile(*(_cost(h, 1.0 + j, calls=j) for j, h in enumerate(helpers))))
        for name in names
    }
    head = {
        name: SideProfiles(python=_profile(*(_cost(h, 5.0 + j, calls=j + 1) for j, h in enumerate(helpers))))
        for name in names
    }
    return comparison, replace(comparison, explanations=explain_all(dict.fromkeys(names, "regression"), base, head))


def test_the_explanation_takes_only_what_is_left_of_the_comment() -> None:
    comparison, explained = _many_explained(4)
    plain = render_pr_comment(comparison, **LABELS)
    text = render_pr_comment(explained, **LABELS)
    assert text.count("helper_") == 4 * PR_FUNCTIONS  # five functions under each benchmark
    section = markdown_section(explained.explanations, PR_FUNCTIONS)
    assert text.replace(section + "\n\n", "") == plain


def test_the_explanation_is_cut_first_when_the_comment_is_too_long() -> None:
    comparison, explained = _many_explained(300)
    for limit in (60_000, 8_000):
        text = render_pr_comment(explained, **LABELS, max_chars=limit)
        assert len(text) <= limit
        assert text == render_pr_comment(comparison, **LABELS, max_chars=limit)  # cut whole, nothing else lost


PROJECT = textwrap.dedent(
    """
    import pytest

    def helper(n):
        return sum(range(n))

    def work():
        return [helper(100) for _ in range(7)]

    def test_fixture(benchmark):
        benchmark(work)

    def test_pedantic(benchmark):
        benchmark.pedantic(lambda items: [helper(10) for _ in items], setup=lambda: (([1, 2, 3],), {}), rounds=3)

    @pytest.mark.benchmark
    def test_marker():
        work()
    """
)


def test_profile_mode_profiles_each_form_of_benchmark(tmp_path: Path) -> None:
    (tmp_path / "test_forms.py").write_text(PROJECT)
    command = WorkerCommand(python=sys.executable, cwd=tmp_path)
    names = ["test_forms.py::test_fixture", "test_forms.py::test_pedantic", "test_forms.py::test_marker"]
    outcome = run_pass(command=command, mode="profile", targets=names, timeout=120)
    calls = {}
    for name in names:
        event = outcome.results[name]
        assert event["status"] == "ok", event
        profile = Profile.from_dict(event["profile"])
        calls[name] = {function.name: function.calls for function in profile.functions}
        assert profile.overhead is not None and profile.overhead > 0
    assert calls["test_forms.py::test_fixture"]["helper"] == 7.0
    assert calls["test_forms.py::test_pedantic"]["helper"] == 3.0
    assert calls["test_forms.py::test_marker"]["helper"] == 7.0


def _result_file(path: Path, level: float, profiles: dict, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    runs = tuple(Run(samples=level * np.exp(rng.normal(0, 0.01)) * rng.lognormal(0, 0.02, 200)) for _ in range(5))
    steady = tuple(Run(samples=1e-3 * rng.lognormal(0, 0.02, 200)) for _ in range(5))
    benchmarks = (BenchmarkResult(name="t::slow", runs=runs), BenchmarkResult(name="t::same", runs=steady))
    save_result(ResultSet(benchmarks=benchmarks, settings={"profiles": profiles}), path)
    return path


def test_compare_cli_renders_the_explanation_the_result_files_carry(tmp_path: Path, capsys) -> None:
    base_side = SideProfiles(python=_profile(_cost("_pad_fields", 1e-3, calls=300), _cost("other", 1e-3)))
    head_side = SideProfiles(python=_profile(_cost("_pad_fields", 3e-3, calls=300), _cost("other", 1e-3)))
    base = _result_file(tmp_path / "base.json", 1e-3, profiles_to_settings({"t::slow": base_side}), 1)
    head = _result_file(tmp_path / "head.json", 2e-3, profiles_to_settings({"t::slow": head_side}), 2)
    assert main(["compare", str(base), str(head), "--format", "markdown"]) == 1
    out = capsys.readouterr().out
    assert "#### Why" in out and "\\_pad_fields · lib.py:1 · calls/call 300 → 300" in out
    assert main(["compare", str(base), str(head), "--format", "markdown", "--no-explain"]) == 1
    assert "#### Why" not in capsys.readouterr().out
    bad = _result_file(tmp_path / "bad.json", 2e-3, {"t::slow": {"python": {"tool": "cprofile"}}}, 3)
    assert main(["compare", str(base), str(bad), "--format", "markdown"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.json: settings.profiles is malformed" in err[0]


def test_nothing_starts_without_enough_of_the_budget_left(tmp_path: Path) -> None:
    command = WorkerCommand(python=sys.executable, cwd=tmp_path)
    settings = ExplainSettings(valgrind="/nonexistent/valgrind")
    profiles = profile_sides(
        commands={"base": command, "head": command},
        names=["t::a", "t::b"],
        settings=settings,
        deadline=time.monotonic() + 5,
    )
    for side in ("base", "head"):
        for name in ("t::a", "t::b"):
            found = profiles[side][name]
            assert found.python is None and found.native is None
            assert any("Python profile skipped" in e for e in found.errors)
            assert any("native profile skipped: too little left" in e for e in found.errors)
    (explanation,) = explain_all({"t::a": "regression"}, profiles["base"], profiles["head"])
    assert explanation.python is None and "base: Python profile skipped" in explanation.notes[0]
