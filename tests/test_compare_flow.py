"""The comparison flows one way: following `compare()`, each stage module is entered once, in order."""

from __future__ import annotations

import sys
from types import FrameType
from typing import Any

import numpy as np
import pytest
from noise_models import MODELS, simulate

from benchwatch.compare import CompareSettings, compare

#: Modules of records, vocabulary and configuration: data, not stages.
DATA = {"records", "settings", "rules", "verdict"}
STAGES = ["pipeline", "pairing", "comparability", "latency", "instructions", "memory", "suite"]


def _stops(base: Any, head: Any) -> list[str]:
    stops: list[str] = []

    def profiler(frame: FrameType, event: str, arg: object) -> None:
        if event != "call":
            return
        callee = str(frame.f_globals.get("__name__", ""))
        caller = str(frame.f_back.f_globals.get("__name__", "")) if frame.f_back else ""
        if not callee.startswith("benchwatch.compare.") or callee == caller:
            return
        stage = callee.rsplit(".", 1)[1]
        if stage in DATA or (frame.f_code.co_name.startswith("<") and frame.f_code.co_name != "<lambda>"):
            return
        if not stops or stops[-1] != stage:
            stops.append(stage)

    compare(base, head, CompareSettings())  # imports and caches first
    sys.setprofile(profiler)
    try:
        compare(base, head, CompareSettings())
    finally:
        sys.setprofile(None)
    return stops


@pytest.mark.parametrize("model", MODELS)
def test_each_stage_is_entered_once_and_nothing_climbs_back(model: str) -> None:
    base, head = simulate(np.random.default_rng(3), model, factor=1.2, benchmarks=6, runs=4, samples=60)
    stops = _stops(base, head)
    # counts_shift is a step of the suite's conclusion, entered from it (and only where it applies)
    stages = [stop for stop in stops if stop != "counts_shift"]
    assert stages == STAGES, stops
    assert len(stops) == len(set(stops)), stops
