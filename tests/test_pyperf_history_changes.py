"""A CPython-shaped pyperf history (benchmarks/pyperf_history.py, from the committed fixture): few, true changes."""

from __future__ import annotations

import sys
from pathlib import Path

from benchwatch.history import importers
from benchwatch.history.trend_data import load_trend_data
from benchwatch.render.trend import model as trend_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import pyperf_history


def test_imported_pyperf_history_has_few_change_points_and_finds_the_annotated_ones(tmp_path):
    truth = pyperf_history.generate(tmp_path / "pyperf", sources=[pyperf_history.FIXTURE])
    summary = importers.import_pyperf_directory(directory=tmp_path / "pyperf", history_dir=tmp_path / "h")
    assert len(summary.added) == pyperf_history.COMMITS
    model = trend_model.build_model(
        load_trend_data(tmp_path / "h"), max_pvalue=0.001, min_magnitude=0.02, recent=30, noisy=0.05
    )
    series = [item for metrics in model.series.values() for item in metrics.values()]
    points = sum(len(item.fit.change_points) for item in series)
    assert len(series) == 3 * len(truth) and points <= 3 * len(series)  # the target: <= 3 a series
    found = {
        name
        for name, changes in truth.items()
        for at in changes
        if any(abs(point.index - at) <= 2 for point in model.series[name]["p50"].fit.change_points)
    }
    # Two of the four also flip between two modes (+15%, 30% of commits): one may hide its step.
    assert len(found) >= len(truth) - 1, (found, truth)
