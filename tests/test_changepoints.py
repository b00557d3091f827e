"""Change point detection: known steps found, noise left alone, Otava's TigerBeetle series reproduced."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from benchwatch.history.changepoints import ChangePoint

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from edivisive import detect_change_points

FIXTURE = Path(__file__).parent / "fixtures" / "changepoints" / "tigerbeetle.json"
OTAVA_RULES = {"min_segment": 1, "correct_for_selection": False}


def _steps(rng: np.random.Generator, length: int = 300, sigma: float = 0.02):
    points: list[int] = []
    level = np.zeros(length)
    for _ in range(int(rng.integers(0, 4))):
        at = int(rng.integers(20, length - 20))
        if all(abs(at - p) >= 25 for p in points):
            points.append(at)
            level[at:] += np.log1p(rng.choice([-1, 1]) * rng.uniform(0.08, 0.30))
    return 1e-3 * np.exp(level + rng.normal(0.0, sigma, size=length)), sorted(points)


def _score(found: list[int], truth: list[int], margin: int = 5) -> tuple[int, int, int]:
    used: set[int] = set()
    hits = 0
    for t in truth:
        near = [f for f in found if abs(f - t) <= margin and f not in used]
        if near:
            used.add(min(near, key=lambda f: abs(f - t)))
            hits += 1
    return hits, len(found) - len(used), len(truth) - hits


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("at", [30, 150, 262])
def test_single_big_step_is_found_at_its_index(seed, at):
    rng = np.random.default_rng(seed)
    values = np.exp(rng.normal(0.0, 0.02, size=300))
    values[at:] *= 1.25
    points = detect_change_points(values)
    assert len(points) == 1
    assert abs(points[0].index - at) <= 1
    assert points[0].relative_change == pytest.approx(0.25, abs=0.03)
    assert points[0].after_mean / points[0].before_mean == pytest.approx(1.25, abs=0.03)
    assert points[0].p_value < 1e-3


def test_synthetic_steps_precision_and_recall():
    rng = np.random.default_rng(7)
    hits = false = missed = 0
    for _ in range(60):
        values, truth = _steps(rng)
        h, f, m = _score([p.index for p in detect_change_points(values)], truth)
        hits, false, missed = hits + h, false + f, missed + m
    precision, recall = hits / (hits + false), hits / (hits + missed)
    assert hits + missed > 50
    assert precision >= 0.95, (hits, false, missed)
    assert recall >= 0.95, (hits, false, missed)


def test_pure_noise_gives_few_false_alarms_over_many_seeds():
    alarms = 0
    for seed in range(150):
        rng = np.random.default_rng(10_000 + seed)
        values = np.exp(rng.normal(0.0, rng.uniform(0.01, 0.05), size=300))
        alarms += len(detect_change_points(values))
    assert alarms <= 3  # measured: 0 (see docs/changepoints.md)


def test_otava_rules_flag_more_noise_than_the_defaults():
    # Documents why min_segment and the selection correction are on by default.
    otava_like = defaults = 0
    for seed in range(60):
        rng = np.random.default_rng(20_000 + seed)
        values = np.exp(rng.normal(0.0, 0.03, size=300))
        otava_like += len(detect_change_points(values, **OTAVA_RULES))
        defaults += len(detect_change_points(values))
    assert defaults < otava_like


def test_tigerbeetle_with_otava_rules_matches_otavas_own_test():
    document = json.loads(FIXTURE.read_text("utf-8"))
    found = [p.index for p in detect_change_points(document["values"], window=30, log=False, **OTAVA_RULES)]
    expected = document["otava_expected"]["p0.001_m0"]  # otava 0.8 with window 30, p 0.001
    assert set(found) <= set(expected)
    assert len(set(found) & set(expected)) >= len(expected) - 1
    # The big shifts are found with the defaults too.
    default = [p.index for p in detect_change_points(document["values"])]
    assert {71, 95} <= set(default)


def test_deterministic_and_commits_attached():
    rng = np.random.default_rng(3)
    values = np.exp(rng.normal(0.0, 0.02, size=120))
    values[60:] *= 0.8
    commits = [f"{i:040x}" for i in range(120)]
    first = detect_change_points(values, commits=commits)
    second = detect_change_points(values.copy(), commits=commits)
    assert first == second
    assert first[0].commit == commits[first[0].index]
    assert first[0].relative_change < 0  # faster
    assert isinstance(first[0], ChangePoint)


def test_nan_values_are_skipped_and_indices_refer_to_the_input():
    rng = np.random.default_rng(4)
    values = np.exp(rng.normal(0.0, 0.01, size=100))
    values[50:] *= 1.3
    values[[10, 20, 30]] = np.nan
    (point,) = detect_change_points(values)
    assert point.index == 50


def test_noise_free_step_and_constant_series():
    values = [1.0] * 40 + [2.0] * 40
    (point,) = detect_change_points(values)
    assert point.index == 40 and point.p_value == 0.0 and point.relative_change == pytest.approx(1.0)
    assert detect_change_points([5.0] * 80) == []
    assert detect_change_points([1.0, 2.0, 3.0]) == []


def test_min_magnitude_drops_small_significant_changes():
    rng = np.random.default_rng(5)
    values = np.exp(rng.normal(0.0, 0.002, size=200))
    values[100:] *= 1.03
    assert [p.index for p in detect_change_points(values)] == [100]
    assert detect_change_points(values, min_magnitude=0.05) == []


def test_bad_options_and_values_are_rejected():
    with pytest.raises(ValueError, match="positive"):
        detect_change_points([1.0, 0.0, 2.0, 3.0, 4.0])
    assert detect_change_points([1.0, 0.0, 2.0, 3.0, 4.0], log=False) == []
    with pytest.raises(ValueError, match="window"):
        detect_change_points([1.0] * 10, window=2)
    with pytest.raises(ValueError, match="max_pvalue"):
        detect_change_points([1.0] * 10, max_pvalue=0)
    with pytest.raises(ValueError, match="commits"):
        detect_change_points([1.0] * 10, commits=["a"])


def test_fixture_records_source_and_license():
    document = json.loads(FIXTURE.read_text("utf-8"))
    assert "apache/otava" in document["source"]
    assert "Apache License 2.0" in document["license"]
    assert len(document["values"]) == 365
