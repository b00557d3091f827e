"""The vectorised paths of compare() and of reading give exactly what the per-benchmark paths give.

compare() works on every benchmark at once (issue #11: 10,000 benchmarks in
<= 10 s); the per-benchmark functions stay as the readable definition, and
these tests hold the two equal on mixed data: missing values, unsteady and
missing canaries, odd and even run counts.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from benchwatch.compare.memory import compare_memory
from benchwatch.resultfile import SCHEMA_VERSION, result_schema
from benchwatch.schema_check import compile_schema
from benchwatch.stats.covariate import steady_covariates, steady_covariates_grouped
from benchwatch.stats.diagnostics import busier_side, busier_sides
from benchwatch.stats.runlevel import _partition_quantiles


@pytest.fixture
def rng():
    return np.random.default_rng(11)


def test_busier_sides_equals_busier_side_row_by_row(rng):
    decided = 0
    for _ in range(100):
        rows, runs = int(rng.integers(1, 40)), int(rng.integers(1, 8))
        base, head = rng.uniform(0, 0.5, (rows, runs)), rng.uniform(0, 0.5, (rows, runs))
        head[rng.random((rows, runs)) < 0.3] += 0.3
        base[rng.random((rows, runs)) < 0.2] = np.nan
        head[rng.random((rows, runs)) < 0.2] = np.nan
        vectorised = busier_sides(base, head, 0.1)
        expected = [busier_side(base[i], head[i], 0.1) for i in range(rows)]
        assert vectorised == expected
        decided += sum(side is not None for side in expected)
    assert decided > 50  # both answers occur, not only None


def test_grouped_steady_covariates_equal_the_per_group_rule(rng):
    sizes = rng.integers(1, 7, 300)
    logs = np.log(3e-4) + rng.normal(0, 0.03, (int(sizes.sum()), 2))
    logs[rng.random(len(logs)) < 0.15, 1] += 0.3  # unsteady: moved during the measurement
    logs[rng.random(len(logs)) < 0.1] = np.nan  # no canary
    keep, covariate = steady_covariates_grouped(logs, sizes, min_runs=2)
    start = 0
    for size in sizes.tolist():
        one_keep, one_covariate = steady_covariates(logs[start : start + size], min_runs=2)
        np.testing.assert_array_equal(keep[start : start + size], one_keep)
        np.testing.assert_array_equal(covariate[start : start + size], one_covariate)
        start += size
    assert not keep.all() and keep.any()


def _by_partition(matrix, quantiles):
    """The previous implementation: a partition around the order statistics needed."""
    size = matrix.shape[1]
    positions = [(size - 1) * q for q in quantiles]
    lows = [int(np.floor(p)) for p in positions]
    highs = [min(low + 1, size - 1) for low in lows]
    matrix = np.partition(matrix, sorted(set(lows + highs)), axis=1)
    return np.array(
        [
            matrix[:, lo] + (matrix[:, hi] - matrix[:, lo]) * (p - lo)
            for p, lo, hi in zip(positions, lows, highs, strict=True)
        ]
    )


@pytest.mark.parametrize("width", [1, 2, 7, 100, 2000])
def test_row_quantiles_by_sort_equal_the_partition_and_numpy_quantile(rng, width):
    matrix = rng.lognormal(0, 0.5, (50, width))
    quantiles = (0.5, 0.95, 0.99, 0.25, 0.75)
    found = _partition_quantiles(matrix.copy(), quantiles)
    np.testing.assert_array_equal(found, _by_partition(matrix, quantiles))
    np.testing.assert_allclose(found, np.quantile(matrix, quantiles, axis=1), rtol=1e-15)


def test_memory_medians_equal_numpy_median(rng):
    for size in range(1, 9):
        base, head = rng.integers(1, 10**9, size).astype(float), rng.integers(1, 10**9, size).astype(float)
        result = compare_memory(base, head, absolute_tolerance=1.0)
        assert (result.base_value, result.head_value) == (float(np.median(base)), float(np.median(head)))


def test_bulk_number_check_reports_the_first_violation_in_document_order():
    document = {
        "schema_version": SCHEMA_VERSION,
        "benchmarks": [
            {"name": "a", "runs": [{"samples": [0.1, 0.2]}, {"samples": [0.1, True]}]},
            {"runs": [{"samples": [0.1]}]},  # no name: a later violation
        ],
    }
    check = compile_schema(result_schema())
    violation = check(document)
    assert violation is not None and violation.path == ("benchmarks", 0, "runs", 1, "samples", 1)
    assert violation.message == "True is not of type 'number'"
    negative = copy.deepcopy(document)
    negative["benchmarks"][0]["runs"][1]["samples"] = [0.1, -1.0]
    violation = check(negative)
    assert violation is not None and violation.message == "-1.0 is less than the minimum of 0"
    valid_numbers = copy.deepcopy(document)
    valid_numbers["benchmarks"][0]["runs"][1]["samples"] = [0.1, 3]
    violation = check(valid_numbers)
    assert violation is not None and violation.path == ("benchmarks", 1)
    assert violation.message == "'name' is a required property"
    valid_numbers["benchmarks"][1]["name"] = "b"
    assert check(valid_numbers) is None
