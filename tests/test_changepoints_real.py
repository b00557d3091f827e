"""The trend report's change points on a real, annotated CPython history (benchmarks/cpython_annotated.py).

The worker runs of the three speed.python.org pyperformance files in ../shared/data/pyperf, in commit
order; the changes a documented cause predicts (pyperformance 1.0.0's dependency updates) are
annotated in tests/fixtures/changepoints/cpython-pyperf-annotations.json.  Skipped without ../shared.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import cpython_annotated

pytestmark = pytest.mark.skipif(
    not cpython_annotated.available(), reason=f"{cpython_annotated.SHARED} does not hold the three pyperf files"
)


@pytest.fixture(scope="module")
def history() -> cpython_annotated.History:
    return cpython_annotated.load()


def test_the_annotated_history_is_laid_out_by_commit(history):
    assert len(history.names) == 60 and history.matrix.shape == (60, 60)
    assert sorted(history.starts.values()) == [0, 20, 40]
    assert sum(len(changes) for changes in history.truth.values()) == 10
    # Every benchmark's unannotated move at the branch switch is left unscored, the annotated ones are not.
    assert history.not_scored["nbody"] == [20] and history.not_scored["django_template"] == [40]


def test_every_annotated_change_is_found_with_its_sign_and_no_alarm_within_a_build(history):
    found = cpython_annotated.detect(history)
    result = cpython_annotated.score(history, found)
    assert (result.tp, result.fn) == (10, 0), found
    # The known large ones (Django 3.0, Tornado 6, SymPy 1.5) with their size.
    changes = {name: dict(points) for name, points in found.items()}
    assert changes["django_template"][20] == pytest.approx(-0.56, abs=0.03)
    assert changes["tornado_http"][20] == pytest.approx(-0.47, abs=0.03)
    assert all(changes[name][20] > 0.09 for name in ("sympy_expand", "sympy_integrate", "sympy_str", "sympy_sum"))
    # Within one build's 20 runs nothing changed: no change point far from a commit.
    assert result.inside == 0
    assert result.found <= 3 * len(history.names)  # the target: <= 3 a series on average


def test_the_score_counts_a_wrong_sign_as_a_miss_and_a_stray_point_as_a_false_alarm(history):
    found = {name: [] for name in history.names}
    found["django_template"] = [(20, +0.5)]  # right commit, wrong way
    found["nbody"] = [(10, 0.05), (21, -0.09)]  # within the first build; at the unscored branch switch
    result = cpython_annotated.score(history, found)
    assert (result.tp, result.fn, result.fp, result.inside, result.ignored) == (0, 10, 2, 1, 1)
