"""Thin data never passes silently: files with few samples per run are judged on the per-run mean.

Reproduces the probes of the reliability issue: Go ``-count 5`` output with
every ns/op made 3x slower gave UNCHANGED, exit 0; a pyperf file with the
benchmark made 2x slower the same.  Both files are written here (the Go one
from the committed fixture), so the tests run without ../shared.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from benchwatch.cli import main
from benchwatch.errors import EXIT_REGRESSION

FIXTURES = Path(__file__).parent / "fixtures" / "ecosystems"


def _slower_go(text: str, factor: float) -> str:
    return re.sub(r"(\d+(?:\.\d+)?) ns/op", lambda m: f"{float(m.group(1)) * factor:.1f} ns/op", text)


def test_go_count_five_three_times_slower_is_a_regression(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    base = FIXTURES / "go-bench.txt"
    head = tmp_path / "head.txt"
    head.write_text(_slower_go(base.read_text(), 3.0))
    code = main(["compare", str(base), str(head), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == EXIT_REGRESSION and report["verdict"] == "regression"
    means = [row for row in report["comparisons"] if row["metric"] == "mean"]
    assert means and all(row["gated"] and row["verdict"] == "regression" for row in means)
    assert all("stands in for p50, p95: runs have 1 samples" in row["reason"] for row in means)
    p50 = [row for row in report["comparisons"] if row["metric"] == "p50"]
    assert all(not row["gated"] and "the verdict rests on the per-run mean" in row["reason"] for row in p50)


def test_go_identical_files_are_not_a_regression(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    base = FIXTURES / "go-bench.txt"
    assert main(["compare", str(base), str(base), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] in ("unchanged", "inconclusive")
    assert not [row for row in report["comparisons"] if row["verdict"] in ("regression", "improvement")]


def _pyperf(path: Path, level: float, seed: int, processes: int = 20) -> Path:
    """A pyperf file as pyperf writes it: one calibration run, then one run of 3 values per worker process."""
    rng = np.random.default_rng(seed)
    runs: list[dict[str, object]] = [{"metadata": {"loops": 64, "calibrate_loops": 64}, "warmups": [[64, level]]}]
    for _ in range(processes):
        factor = float(np.exp(rng.normal(0, 0.03)))
        values = [level * factor * float(np.exp(rng.normal(0, 0.01))) for _ in range(3)]
        runs.append(
            {"metadata": {"loops": 64, "date": "2026-12-01 10:00:00"}, "warmups": [[64, level]], "values": values}
        )
    document = {
        "version": "1.0",
        "metadata": {"cpu_count": 2, "python_version": "3.11.7", "name": "bench_sort", "unit": "second"},
        "benchmarks": [{"metadata": {"name": "bench_sort"}, "runs": runs}],
    }
    path.write_text(json.dumps(document))
    return path


def test_pyperf_twenty_workers_two_times_slower_is_a_regression(tmp_path: Path, capsys) -> None:
    base = _pyperf(tmp_path / "base.json", 1e-3, 1)
    head = _pyperf(tmp_path / "head.json", 2e-3, 2)
    code = main(["compare", str(base), str(head), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    mean = next(row for row in report["comparisons"] if row["metric"] == "mean")
    assert code == EXIT_REGRESSION and mean["gated"] and mean["verdict"] == "regression"
    assert mean["n_runs_base"] == 20 and mean["n_runs_head"] == 20
    # and identical code gets a verdict too (20 runs a side), not "gated metrics: none"
    same = _pyperf(tmp_path / "same.json", 1e-3, 3)
    assert main(["compare", str(base), str(same), "--format", "json"]) == 0
    mean = next(row for row in json.loads(capsys.readouterr().out)["comparisons"] if row["metric"] == "mean")
    assert mean["gated"] and mean["verdict"] == "unchanged"


def test_one_pytest_benchmark_file_per_side_says_how_to_get_more_runs(tmp_path: Path, capsys) -> None:
    def write(path: Path, level: float) -> Path:
        data = list(level * np.exp(np.random.default_rng(1).normal(0, 0.02, 200)))
        stats = {"data": data, "iterations": 1, "rounds": 200, "median": level, "mean": level}
        document = {
            "machine_info": {"cpu": {"count": 2}},
            "benchmarks": [{"name": "test_a", "fullname": "t.py::test_a", "stats": stats}],
            "version": "5.1.0",
        }
        path.write_text(json.dumps(document))
        return path

    code = main(["compare", str(write(tmp_path / "a.json", 1e-3)), str(write(tmp_path / "b.json", 2e-3))])
    out = capsys.readouterr().out
    assert code == 4  # nothing could be judged: one run per side
    assert "needs ≥2 process runs per side" in out and "--benchmark-json=base-N.json" in out
