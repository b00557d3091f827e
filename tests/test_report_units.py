"""Reports say which runs were left out and give every memory figure its unit."""

from __future__ import annotations

import re

import numpy as np
import pytest

from benchwatch.compare import CompareSettings, compare
from benchwatch.compare.memory import compare_memory
from benchwatch.model import BenchmarkResult, Environment, MemoryProfile, ResultSet, Run
from benchwatch.render.html_report import render_html_report
from benchwatch.units import format_amount


def side(name: str, level: float, peak: int, *, failed: int = 0, seed: int = 0) -> ResultSet:
    rng = np.random.default_rng(seed)
    runs = [
        Run(samples=level * np.exp(rng.normal(0, 0.02)) * rng.lognormal(0, 0.03, 120), memory=MemoryProfile(peak, 900))
        for _ in range(5 - failed)
    ]
    runs += [Run(samples=np.empty(0), status="error", error="boom") for _ in range(failed)]
    return ResultSet(benchmarks=(BenchmarkResult(name=name, runs=tuple(runs)),), environment=Environment(cpu_count=2))


def test_html_marks_the_runs_left_out_per_side() -> None:
    base, head = side("bench", 1e-3, 2**20), side("bench", 1e-3, 2**20, failed=2, seed=1)
    html = render_html_report(compare(base, head, CompareSettings()), base, head, generated_at="now")
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", html)
    assert captions[0].startswith("base: 5 runs; chart: 5 runs, 600 samples")
    assert captions[1].startswith("head: 5 runs (2 left out: 2 failed); chart: 3 runs, 360 samples")


def test_memory_figures_carry_units_in_every_report() -> None:
    base, head = side("bench", 1e-3, 2**20), side("bench", 1e-3, 2**20 + 300 * 1024, seed=1)
    comparison = compare(base, head, CompareSettings())
    (peak,) = [m for m in comparison.metric_comparisons() if m.metric == "peak_memory"]
    assert peak.verdict == "regression"
    assert peak.reason == "change +300.0 KiB beyond tolerance 102.4 KiB and run-to-run span 0 B"
    html = render_html_report(comparison, base, head, generated_at="now")
    assert "tolerance 102.4 KiB" in html and "tolerance 104858" not in html
    allocations = compare_memory(np.array([900.0]), np.array([950.0]), absolute_tolerance=100, unit="count")
    assert allocations.reason == "change +50 allocations within tolerance 100 allocations"


@pytest.mark.parametrize(
    ("value", "unit", "signed", "text"),
    [
        (65536, "bytes", False, "64.0 KiB"),
        (-1536, "bytes", True, "-1.5 KiB"),
        (0, "bytes", True, "±0 B"),
        (3 * 2**30, "bytes", False, "3.0 GiB"),
        (1, "count", True, "+1 allocations"),
        (12345, "count", False, "12,345 allocations"),
    ],
)
def test_format_amount(value: float, unit: str, signed: bool, text: str) -> None:
    assert format_amount(value, unit, signed=signed) == text
