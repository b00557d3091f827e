"""The compact sample encoding of schema 5: what it keeps exactly, what it rounds, what it refuses."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from benchwatch import resultfile
from benchwatch.compare import CompareSettings, compare
from benchwatch.errors import InputError
from benchwatch.model import QUANTILE_OF_METRIC, BenchmarkResult, Environment, ResultSet, Run
from benchwatch.sample_codec import EXACT_QUANTILES, GRID_STEP, VERBATIM_UP_TO, pack, unpack
from benchwatch.stats.runlevel import run_table


def timer_like(rng: np.random.Generator, size: int, iterations: int = 7) -> np.ndarray:
    """Per-call seconds as pytest-benchmark makes them: whole nanoseconds of a round over its calls."""
    rounds = np.rint(rng.lognormal(np.log(4e-6), 0.08, size) * iterations * 1e9) + rng.pareto(3, size) * 300
    return np.floor(rounds) / 1e9 / iterations


SAMPLERS = {
    "timer": timer_like,
    "lognormal": lambda rng, n: rng.lognormal(np.log(2e-5), 0.3, n),
    "bimodal": lambda rng, n: np.where(rng.random(n) < 0.9, 1e-6, 3e-6) * rng.lognormal(0, 0.01, n),
    "with zeros": lambda rng, n: np.where(rng.random(n) < 0.02, 0.0, rng.lognormal(np.log(1e-7), 0.5, n)),
    "constant": lambda rng, n: np.full(n, 2.5e-6),
}


@pytest.mark.parametrize("kind", sorted(SAMPLERS))
@pytest.mark.parametrize("size", [VERBATIM_UP_TO + 1, 4_567, 60_000])
def test_quantiles_are_exact_and_every_other_sample_within_half_a_grid_step(kind: str, size: int) -> None:
    rng = np.random.default_rng(size)
    samples = SAMPLERS[kind](rng, size)
    decoded = unpack(json.loads(json.dumps(pack(samples))))
    assert decoded.size == samples.size
    for quantile in (*QUANTILE_OF_METRIC.values(), *EXACT_QUANTILES):
        assert np.quantile(decoded, quantile) == np.quantile(samples, quantile)
    original, packed = run_table([samples]), run_table([decoded])
    np.testing.assert_array_equal(packed.values[:, :3], original.values[:, :3])  # p50, p95, p99
    assert packed.robust_cv[0] == original.robust_cv[0] or np.isnan(original.robust_cv[0])
    assert decoded.mean() == pytest.approx(samples.mean(), rel=GRID_STEP / 2, abs=1e-18)
    ordered = np.sort(samples)
    assert np.all(np.abs(decoded - ordered) <= ordered * GRID_STEP), "a sample moved more than one grid step"
    assert np.all(np.diff(decoded) >= 0)


def test_small_runs_and_bad_values_stay_verbatim() -> None:
    assert pack(np.linspace(1e-6, 2e-6, VERBATIM_UP_TO)) is None
    assert pack(np.array([1e-6] * 2000 + [np.nan])) is None  # left for validation to name


def _result(samples: list[np.ndarray]) -> ResultSet:
    runs = tuple(Run(samples=values, status="ok") for values in samples)
    return ResultSet(benchmarks=(BenchmarkResult(name="b", runs=runs),), environment=Environment(cpu_count=2))


def test_a_large_run_is_saved_packed_and_judged_as_before(tmp_path) -> None:
    rng = np.random.default_rng(24)
    base = _result([timer_like(rng, 30_000) for _ in range(5)])
    head = _result([timer_like(rng, 30_000) * 1.08 for _ in range(5)])
    settings = CompareSettings(gating_metrics=("p50", "p95", "mean"))
    before = {(m.metric, m.verdict, m.ratio) for m in compare(base, head, settings).metric_comparisons()}
    sides = (("b", base), ("h", head))
    paths = [resultfile.save_result(result, tmp_path / f"{side}.json.gz") for side, result in sides]
    document = json.loads(gzip.decompress(paths[0].read_bytes()))
    run = document["benchmarks"][0]["runs"][0]
    assert run["samples"] == [] and run["packed_samples"]["count"] == 30_000
    loaded = [resultfile.load_result(path) for path in paths]
    after = compare(loaded[0], loaded[1], settings).metric_comparisons()
    by_metric = {m.metric: m for m in after}
    for metric, verdict, ratio in before:
        assert by_metric[metric].verdict == verdict
        if metric != "mean":
            assert by_metric[metric].ratio == ratio  # the exact quantiles give the same figure
        else:
            assert by_metric[metric].ratio == pytest.approx(ratio, rel=1e-6)
    # 150,000 timings per side in about 2 bytes each, gzipped (as JSON text they took about 9)
    assert paths[0].stat().st_size < 150_000 * 3


def test_an_inconsistent_packed_run_is_one_line_naming_the_file(tmp_path) -> None:
    rng = np.random.default_rng(1)
    path = resultfile.save_result(_result([timer_like(rng, 2_000)]), tmp_path / "r.json")
    document = json.loads(path.read_text())
    document["benchmarks"][0]["runs"][0]["packed_samples"]["count"] += 1
    path.write_text(json.dumps(document))
    with pytest.raises(InputError) as raised:
        resultfile.load_result(path)
    assert str(raised.value).startswith(f"{path}: benchmark 'b' run 1: packed_samples cannot be read (counts add up")
    document["benchmarks"][0]["runs"][0]["samples"] = [1e-6]
    path.write_text(json.dumps(document))
    with pytest.raises(InputError, match="has both samples and packed_samples"):
        resultfile.load_result(path)
