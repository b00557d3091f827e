"""``benchwatch compare --gate``: the metrics that decide, replacing the config's ``gate``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchwatch.cli import main
from benchwatch.model import BenchmarkResult, Environment, MemoryProfile, ResultSet, Run
from benchwatch.resultfile import save_result


def write_side(path: Path, level: float, *, seed: int) -> Path:
    """Five runs of one benchmark at ``level`` seconds per call, each with the same memory figures."""
    rng = np.random.default_rng(seed)
    runs = tuple(
        Run(
            samples=level * np.exp(rng.normal(0, 0.01)) * rng.lognormal(0, 0.02, 200),
            memory=MemoryProfile(peak_bytes=1_000_000, allocations=500),
        )
        for _ in range(5)
    )
    result = ResultSet(benchmarks=(BenchmarkResult(name="alpha", runs=runs),), environment=Environment(cpu_count=2))
    return save_result(result, path)


@pytest.fixture
def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    monkeypatch.chdir(tmp_path)  # no ./pyproject.toml: the default gate (latency included)
    base = write_side(tmp_path / "base.json", 1e-3, seed=1)
    slow = write_side(tmp_path / "slow.json", 1.5e-3, seed=3)
    return str(base), str(slow)


def test_a_latency_regression_does_not_gate_when_only_memory_and_counts_do(pair, tmp_path: Path) -> None:
    assert main(["compare", *pair, "--format", "json", "-o", str(tmp_path / "all.json")]) == 1
    code = main(
        ["compare", *pair, "--gate", "instructions,peak_memory", "--format", "json", "-o", str(tmp_path / "c.json")]
    )
    assert code == 0
    report = json.loads((tmp_path / "c.json").read_text())
    p50 = next(row for row in report["comparisons"] if row["metric"] == "p50")
    assert (p50["verdict"], p50["gated"]) == ("regression", False)  # still shown, no longer deciding
    assert report["settings"]["gating_metrics"] == ["instructions", "peak_memory"]


def test_an_unknown_metric_is_a_one_line_error(pair, capsys) -> None:
    assert main(["compare", *pair, "--gate", "p50,speed"]) == 2
    err = capsys.readouterr().err
    assert "unknown metric 'speed'" in err and len(err.strip().splitlines()) == 1
