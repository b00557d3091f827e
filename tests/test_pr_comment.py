"""The PR comment: fits GitHub's cap, never loses a regression, escapes hostile names."""

from __future__ import annotations

import math
import re
from typing import TypedDict

import numpy as np
import pytest

from benchwatch.cli import main
from benchwatch.compare import BenchmarkComparison, CompareSettings, Comparison, MetricComparison, compare
from benchwatch.compare.verdict import Verdict
from benchwatch.errors import UsageError
from benchwatch.model import BenchmarkResult, Environment, MemoryProfile, ResultSet, Run
from benchwatch.render.pr_comment import MAX_CHARS, render_pr_comment
from benchwatch.resultfile import save_result

MALICIOUS = (
    "@octocat",
    "x|y",
    "<img src=x onerror=alert(1)>",
    "[link](http://evil)",
    "`code`",
    "line\n# injected heading\n| a | b |",
)


class Labels(TypedDict):
    base_label: str
    head_label: str
    base_commit: str
    head_commit: str


LABELS: Labels = {
    "base_label": "main",
    "head_label": "feature/x",
    "base_commit": "0123456789abcdef" * 2 + "01234567",
    "head_commit": "fedcba9876543210" * 2 + "76543210",
}


def metric(name: str, metric: str, verdict: str, ratio: float, *, gated: bool = True) -> MetricComparison:
    unit = "bytes" if metric == "peak_memory" else "seconds"
    base = 2**20 if unit == "bytes" else 1e-3
    return MetricComparison(
        benchmark=name,
        metric=metric,
        verdict=Verdict(verdict),
        ratio=ratio,
        ci_low=ratio * 0.95,
        ci_high=ratio * 1.05,
        p_value=0.001,
        q_value=0.01,
        threshold=0.1,
        gated=gated,
        reason="test",
        base_value=base,
        head_value=base * ratio,
        n_runs_base=5,
        n_runs_head=5,
        unit=unit,
    )


def synthetic(specs: list[tuple[str, str, float]], warnings: tuple[str, ...] = ()) -> Comparison:
    """One benchmark per (name, verdict of p50, ratio); p95 and peak_memory unchanged."""
    benchmarks = []
    for name, verdict, ratio in specs:
        metrics = (
            metric(name, "p50", verdict, ratio),
            metric(name, "p95", "unchanged", 1.0),
            metric(name, "peak_memory", "unchanged", 1.0),
            metric(name, "p99", "inconclusive", 1.2, gated=False),
        )
        benchmarks.append(BenchmarkComparison(name=name, metrics=metrics, status="compared"))
    verdicts = {v for _, v, _ in specs}
    verdict = Verdict(
        "regression" if "regression" in verdicts else "inconclusive" if "inconclusive" in verdicts else "unchanged"
    )
    return Comparison(
        benchmarks=tuple(benchmarks),
        verdict=verdict,
        warnings=warnings,
        settings=CompareSettings(),
        base_environment={},
        head_environment={},
    )


def long_name(index: int, kind: str) -> str:
    stem = f"benchmarks/test_suite_{index % 17:02d}.py::test_{kind}_{index:05d}_"
    return (stem + "abcdefghij" * 20)[:200]


def big_comparison() -> tuple[Comparison, list[str]]:
    rng = np.random.default_rng(7)
    specs: list[tuple[str, str, float]] = []
    regressed: list[str] = []
    for index in range(5000):
        if index % 16 == 3 and len(regressed) < 300:
            name = long_name(index, "regressed")
            regressed.append(name)
            specs.append((name, "regression", float(1.1 + rng.uniform(0, 2))))
        elif index % 16 == 5:
            specs.append((long_name(index, "improved"), "improvement", float(0.5 + rng.uniform(0, 0.3))))
        elif index % 16 == 7:
            specs.append((long_name(index, "noisy"), "inconclusive", 1.05))
        else:
            specs.append((long_name(index, "same"), "unchanged", 1.0))
    assert len(regressed) == 300
    warnings = tuple(f"{long_name(i, 'noisy')}: 1 of 5 head runs failed" for i in range(400))
    return synthetic(specs, warnings), regressed


def test_5000_benchmarks_fit_and_name_every_regression():
    comparison, regressed = big_comparison()
    text = render_pr_comment(comparison, **LABELS, report_url="https://ci.example/run/1")
    print(f"PR comment: {len(text):,} characters for 5,000 benchmarks, 300 regressions")
    assert len(text) <= MAX_CHARS
    assert text.startswith("**benchwatch: 300 regressions** in 5,000 benchmarks")
    for name in regressed:
        assert name in text, name  # plain names survive escaping (intraword underscores stay)
    # most severe first
    position = {name: text.index(name) for name in regressed}
    ratios = {b.name: b.metrics[0].ratio for b in comparison.benchmarks if b.metrics[0].verdict == "regression"}
    ordered = sorted(regressed, key=position.get)
    assert [ratios[n] for n in ordered] == sorted(ratios.values(), reverse=True)
    assert "0123456789ab" in text and "fedcba987654" in text and "feature/x" in text
    assert "https://ci.example/run/1" in text


def test_budget_folds_details_then_improvements_never_regressions():
    comparison, regressed = big_comparison()
    sizes = []
    for max_chars in (MAX_CHARS, 40_000, 20_000, 8_000):
        text = render_pr_comment(comparison, **LABELS, max_chars=max_chars)
        assert len(text) <= max_chars
        named = [name for name in regressed if name in text]
        # the most severe ones are kept, in order; the rest are counted
        assert named, max_chars
        if len(named) < len(regressed):
            assert f"and {len(regressed) - len(named):,} more regressions" in text
        sizes.append(len(named))
    assert sizes == sorted(sizes, reverse=True)


def test_small_comparison_has_tables_details_and_order():
    specs = [
        ("mild", "regression", 1.2),
        ("bad", "regression", 2.5),
        ("fast", "improvement", 0.5),
        ("same", "unchanged", 1.0),
        ("shaky", "inconclusive", 1.05),
    ]
    comparison = synthetic(specs, warnings=("environment differs: python_version '3.11' (base) vs '3.12' (head)",))
    text = render_pr_comment(comparison, **LABELS)
    assert text.startswith("**benchwatch: 2 regressions** in 5 benchmarks")
    reg, imp, det = text.index("#### Regressions (2)"), text.index("#### Improvements (1)"), text.index("<details>")
    assert reg < imp < det < text.index("</details>")
    assert text.index("| bad | p50 |") < text.index("| mild | p50 |") < imp  # most severe first
    assert "| bad | p50 | 1 ms | 2.5 ms | +150.0% | +137.5% … +162.5% | regression |" in text
    assert det < text.index("| same | p50 |") and det < text.index("| shaky | p50 |")
    assert "(inconclusive, not gated)" in text  # ungated p99
    assert "#### Warnings (1)" in text and "python\\_version '3.11'" in text
    assert "head fedcba987654 (feature/x) vs base 0123456789ab (main)" in text
    assert "<!--" not in text  # no marker: the GitHub client appends its own


@pytest.mark.parametrize("name", MALICIOUS)
def test_hostile_names_are_escaped(name):
    comparison = synthetic(
        [(name, "regression", 1.5), ("ok", "unchanged", 1.0)], warnings=(f"{name}: 1 of 5 runs failed",)
    )
    labels = {**LABELS, "base_label": "@admin <b>", "head_label": "[x](http://evil)"}
    text = render_pr_comment(comparison, **labels)
    for raw in (name, "@octocat", "@admin", "<img", "<b>", "](http", "`code`", "\n# injected", "x|y", "http://evil"):
        assert raw not in text
    table_rows = [line for line in text.splitlines() if line.startswith("| ") and "p50" in line]
    assert table_rows and all(len(re.findall(r"(?<!\\)\|", row)) == 8 for row in table_rows)


def test_bad_inputs():
    comparison = synthetic([("a", "unchanged", 1.0)])
    with pytest.raises(UsageError):
        render_pr_comment(comparison, **LABELS, report_url="javascript:alert(1)")
    with pytest.raises(UsageError):
        render_pr_comment(comparison, **LABELS, max_chars=100)
    text = render_pr_comment(comparison, **LABELS, report_url="https://x.example/a b)<c>")
    assert "(https://x.example/a%20b%29%3Cc%3E)" in text
    assert text.startswith("**benchwatch: no significant change** in 1 benchmark")


def write_side(path, level, names, *, commit, branch, seed):
    rng = np.random.default_rng(seed)
    benchmarks = tuple(
        BenchmarkResult(
            name=name,
            runs=tuple(
                Run(
                    samples=level
                    * (2.0 if "slow" in name else 1.0)
                    * np.exp(rng.normal(0, 0.01))
                    * rng.lognormal(0, 0.02, 200),
                    memory=MemoryProfile(2**20, 100),
                )
                for _ in range(5)
            ),
        )
        for name in names
    )
    environment = Environment(cpu_count=2, git_commit=commit, git_branch=branch)
    return save_result(ResultSet(benchmarks=benchmarks, environment=environment), path)


def test_cli_pr_comment(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    names = ("fine", "@octocat slow <script>")
    base = write_side(
        tmp_path / "base.json", 1e-3, ("fine", "@octocat <script>"), commit="a" * 40, branch="main", seed=1
    )
    head = write_side(tmp_path / "head.json", 1e-3, names, commit="b" * 40, branch="pr-7", seed=2)
    write_side(tmp_path / "head2.json", 1e-3, ("fine", "@octocat <script>"), commit="b" * 40, branch="pr-7", seed=3)
    code = main(
        [
            "compare",
            str(base),
            str(tmp_path / "head2.json"),
            "--format",
            "pr-comment",
            "--report-url",
            "https://ci.example/artifacts/9",
            "--head-label",
            "my PR",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "**benchwatch:" in out and "head bbbbbbbbbbbb (my PR) vs base aaaaaaaaaaaa (main)" in out
    assert (
        "<script>" not in out and "@octocat" not in out and "[full HTML report](https://ci.example/artifacts/9)" in out
    )
    assert main(["compare", str(base), str(head), "--format", "pr-comment", "--output", "c.md"]) in (0, 1)
    assert (tmp_path / "c.md").read_text(encoding="utf-8").startswith("**benchwatch:")


def test_real_comparison_regression_is_listed():
    rng = np.random.default_rng(3)

    def side(level):
        runs = tuple(Run(samples=level * np.exp(rng.normal(0, 0.01)) * rng.lognormal(0, 0.02, 200)) for _ in range(5))
        return ResultSet(benchmarks=(BenchmarkResult("x|y", runs),), environment=Environment(cpu_count=2))

    comparison = compare(side(1e-3), side(1.5e-3))
    text = render_pr_comment(comparison, **LABELS)
    assert comparison.verdict == "regression" and "| x\\|y | p50 |" in text
    assert math.isfinite(comparison.gated("regression")[0].ratio)
