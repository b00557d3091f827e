"""``benchwatch compare`` through benchwatch.cli.main: exit codes, formats, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchwatch.cli import main
from benchwatch.model import BenchmarkResult, Environment, ResultSet, Run
from benchwatch.render.json_report import COMPARISON_KEYS
from benchwatch.resultfile import save_result

HOSTILE = "x|<script>@octocat"


def write_side(path, level, *, runs=5, seed=0, names=("alpha", HOSTILE)):
    rng = np.random.default_rng(seed)
    benchmarks = tuple(
        BenchmarkResult(
            name=name,
            runs=tuple(
                Run(samples=level * np.exp(rng.normal(0, 0.01)) * rng.lognormal(0, 0.02, 200)) for _ in range(runs)
            ),
        )
        for name in names
    )
    return save_result(ResultSet(benchmarks=benchmarks, environment=Environment(cpu_count=2)), path)


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./pyproject.toml: defaults apply
    return {
        "base": write_side(tmp_path / "base.json", 1e-3, seed=1),
        "same": write_side(tmp_path / "same.json", 1e-3, seed=2),
        "slow": write_side(tmp_path / "slow.json", 1.5e-3, seed=3),
    }


def test_unchanged_exits_zero(files, capsys):
    assert main(["compare", str(files["base"]), str(files["same"]), "--no-color"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("benchwatch: UNCHANGED") and "\x1b[" not in out


def test_regression_exits_one(files, capsys):
    assert main(["compare", str(files["base"]), str(files["slow"])]) == 1
    assert "REGRESSION" in capsys.readouterr().out


def test_json_format_keys_are_stable(files, capsys):
    assert main(["compare", str(files["base"]), str(files["slow"]), "--format", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["format"] == "benchwatch-comparison" and document["version"] == 1
    assert document["verdict"] == "regression" and document["exit_code"] == 1
    assert list(document)[:5] == ["format", "version", "verdict", "exit_code", "comparisons"]
    assert all(tuple(row) == COMPARISON_KEYS for row in document["comparisons"])
    assert {b["status"] for b in document["benchmarks"]} == {"compared"}


def test_markdown_escapes_malicious_name(files, capsys):
    main(["compare", str(files["base"]), str(files["slow"]), "--format", "markdown"])
    out = capsys.readouterr().out
    assert "<script>" not in out and "@octocat" not in out
    assert "x\\|&lt;script&gt;@\u200doctocat" in out


def test_missing_file_exits_two_with_one_line(files, tmp_path, capsys):
    assert main(["compare", str(files["base"]), str(tmp_path / "nope.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "nope.json" in err and "not found" in err


def test_missing_side_is_usage_error(files, capsys):
    assert main(["compare", "--base", str(files["base"])]) == 2
    assert "no head results" in capsys.readouterr().err


def test_several_files_per_side_are_runs(tmp_path, files, capsys):
    base = [write_side(tmp_path / f"b{i}.json", 1e-3, runs=1, seed=10 + i) for i in range(3)]
    head = [write_side(tmp_path / f"h{i}.json", 1.5e-3, runs=1, seed=20 + i) for i in range(3)]
    argv = ["compare", "--format", "json"]
    for path in base:
        argv += ["--base", str(path)]
    for path in head:
        argv += ["--head", str(path)]
    assert main(argv) == 1
    rows = json.loads(capsys.readouterr().out)["comparisons"]
    assert {row["n_runs_base"] for row in rows} == {3}


def test_threshold_flag_and_output_file(files, tmp_path, capsys):
    out_file = tmp_path / "report" / "cmp.json"
    code = main(
        [
            "compare",
            str(files["base"]),
            str(files["slow"]),
            "--threshold",
            "0.9",
            "--format",
            "json",
            "--output",
            str(out_file),
        ]
    )
    assert code == 0  # +50% is below a 90% threshold
    assert capsys.readouterr().out == ""
    document = json.loads(out_file.read_text("utf-8"))
    assert document["settings"]["threshold"] == 0.9
    assert main(["compare", str(files["base"]), str(files["slow"]), "--threshold", "-1"]) == 2


def test_fail_on_inconclusive(tmp_path, files, capsys):
    one_base = write_side(tmp_path / "one_b.json", 1e-3, runs=1, seed=5)
    one_head = write_side(tmp_path / "one_h.json", 1e-3, runs=1, seed=6)
    # one run per side: no gated metric can be judged -> the distinct exit code 4, never a silent pass
    assert main(["compare", str(one_base), str(one_head)]) == 4
    assert main(["compare", str(one_base), str(one_head), "--fail-on-inconclusive"]) == 4
    assert "needs ≥2 process runs per side" in capsys.readouterr().out
    # judged but inconclusive (2 noisy runs a side): 0, or 1 when asked to fail on it
    noisy_base = write_side(tmp_path / "n_b.json", 1e-3, runs=2, seed=7)
    noisy_head = write_side(tmp_path / "n_h.json", 1.08e-3, runs=2, seed=8)
    assert main(["compare", str(noisy_base), str(noisy_head)]) == 0
    assert main(["compare", str(noisy_base), str(noisy_head), "--fail-on-inconclusive"]) == 1


def test_threshold_out_of_range_is_one_line_exit_two(files, capsys):
    assert main(["compare", str(files["base"]), str(files["slow"]), "--threshold", "5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--threshold must be greater than 0 and at most 1" in err


def test_config_from_pyproject(files, tmp_path, capsys):
    (tmp_path / "pyproject.toml").write_text("[tool.benchwatch]\nruns = 5\nthreshold = 0.9\n", "utf-8")
    assert main(["compare", str(files["base"]), str(files["slow"])]) == 0  # default ./pyproject.toml
    assert main(["compare", str(files["base"]), str(files["slow"]), "--threshold", "0.1"]) == 1  # flag wins
    bad = tmp_path / "bad.toml"
    bad.write_text("[tool.benchwatch.compare]\ntreshold = 0.1\n", "utf-8")
    assert main(["compare", str(files["base"]), str(files["slow"]), "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "unknown compare setting 'treshold'" in err
    broken = tmp_path / "broken.toml"
    broken.write_text("[tool.benchwatch\n", "utf-8")
    assert main(["compare", str(files["base"]), str(files["slow"]), "--config", str(broken)]) == 2
    assert "invalid TOML" in capsys.readouterr().err


def test_one_comparison_written_in_several_formats(files, tmp_path, capsys):
    md, js, html = tmp_path / "out" / "c.md", tmp_path / "out" / "c.json", tmp_path / "out" / "c.html"
    code = main(
        [
            "compare",
            str(files["base"]),
            str(files["slow"]),
            "--no-color",
            "--write",
            f"markdown:{md}",
            "--write",
            f"json:{js}",
            "--write",
            f"html:{html}",
        ]
    )
    assert code == 1
    assert capsys.readouterr().out.startswith("benchwatch: REGRESSION")
    assert json.loads(js.read_text())["verdict"] == "regression"
    assert md.read_text().startswith("**benchwatch: regression**")
    assert html.read_text().lstrip().lower().startswith("<!doctype html>")


def test_write_needs_a_known_format(files, capsys):
    assert main(["compare", str(files["base"]), str(files["slow"]), "--write", "pdf:x.pdf"]) == 2
    assert "--write takes FORMAT:FILE" in capsys.readouterr().err


def test_a_suite_that_moved_by_one_factor_needs_assume_same_machine(tmp_path, files, capsys):
    """Plain files, every benchmark ×2: the machine's signature, not judged unless both sides shared one machine."""
    names = tuple(f"bench_{k}" for k in range(6))
    base = write_side(tmp_path / "b6.json", 1e-3, seed=4, names=names)
    head = write_side(tmp_path / "h6.json", 2e-3, seed=5, names=names)
    assert main(["compare", str(base), str(head), "--no-color"]) == 4
    out = capsys.readouterr().out
    assert "6 of 6 benchmarks moved the same way (median ×1.99)" in out and "--assume-same-machine" in out
    assert main(["compare", str(base), str(head), "--no-color", "--assume-same-machine"]) == 1
