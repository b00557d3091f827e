"""Simulated comparisons under the noise models the comparator claims to handle (seeded, in memory).

One comparison = base and head result sets of ``benchmarks`` benchmarks, each
side ``runs`` process runs of ``samples`` samples, with the head's code
``factor`` times slower (the true ratio of every quantile).  Models:

* ``lognormal`` - every run gets a log-normal run factor (sigma 0.08: per-run
  medians of identical code differ by up to about +-20%, as measured on our
  2-core runners); samples are log-normal with 1% Pareto outliers;
* ``bimodal`` - as lognormal, and each run independently lands in a slow mode
  (x1.25) with probability 0.3 (memory layout / CPU frequency state);
* ``bursts`` - as lognormal, and each run with probability 0.25 meets a
  contention burst: 10-40% of its samples (a contiguous stretch) take
  1.5-3x as long, and the run records 20-50% of its time waiting for a CPU;
* ``drift`` - base and head runs interleaved in random AB/BA pairs (as
  compare-refs runs them) while the machine's speed drifts (a random walk of
  up to about +-40% over the sequence, plus 20% of runs in a 1.5x slow state);
  every run carries benchwatch's canary, which sees the machine's speed with
  2% noise, and each benchmark follows the machine with its own sensitivity
  (0.3-1.0);
* ``drift_no_canary`` - the same machine, files without canary;
* ``hogs_one_side`` - two CPU hogs beside every head run only: head runs
  wait 30-50% of their time for a CPU, a share of their samples is delayed by
  a time slice, and the canary runs 1.5x slower;
* ``hogs_no_canary`` - the same, files without canary (only the measured CPU
  wait shows the hogs);
* ``other_machine`` - a stored baseline from a machine 1.5x slower: every base
  run (and its canary) 1.5x slower, no CPU wait to show for it.
* ``bursty`` - load that comes and goes beside both sides (interleaved, no
  canary): each run with probability 0.35 meets it and waits a share w of
  its time (0.05-0.8) for a CPU.  Waiting only adds time: the run's samples
  grow by (1 / (1 - w)) ** (s * u), s the benchmark's share of calls long
  enough to span time slices (0-1), u in 0.8-1.25 per run, and 0.3 w of its
  samples get a slice more (the tail).  On the A/B harness under bursty load
  a 7 ms DuckDB benchmark's per-run p50 followed 1 / (1 - w) closely (10 to
  53 ms at waits of 0.29-0.83) while 0.2 ms benchmarks did not move;
* ``hogs_both`` - ``hogs_one_side``'s two CPU hogs beside every run of both
  sides (steady load: every run waits 30-50%);
* ``half_speed_no_canary`` - plain files (no canary, not interleaved) with
  the base recorded at half machine speed: every base run 2x slower.

Every model but ``other_machine`` records base and head runs alternating in
time (``started_at``, AB, BA, AB ... pairs), as compare-refs and the
A/B harness run them; ``other_machine`` records the base a day earlier.
"""

from __future__ import annotations

import math

import numpy as np

from benchwatch.model import BenchmarkResult, Environment, ResultSet, Run

MODELS = (
    "lognormal",
    "bimodal",
    "bursts",
    "drift",
    "drift_no_canary",
    "hogs_one_side",
    "hogs_no_canary",
    "other_machine",
    "bursty",
    "half_speed_no_canary",
    "hogs_both",
)
CANARY = 3e-4
#: Log sd of one canary timing around the machine speed it measures.
CANARY_NOISE = 0.02


def _samples(rng: np.random.Generator, level: float, count: int) -> np.ndarray:
    within = rng.lognormal(0.0, 0.1, count)
    outlier = rng.random(count) < 0.01
    return level * np.where(outlier, within * (1.0 + rng.pareto(2.5, count) * 3.0), within)


def _run(
    rng: np.random.Generator,
    model: str,
    level: float,
    speed: float,
    sensitivity: float,
    hogged: bool,
    samples: int,
    started_at: str | None = None,
) -> Run:
    wait = float(rng.uniform(0.0, 0.03))
    values = _samples(rng, level * math.exp(rng.normal(0.0, 0.03 if model.startswith("drift") else 0.08)), samples)
    if model == "bimodal" and rng.random() < 0.3:
        values = values * 1.25
    if model == "bursts" and rng.random() < 0.25:
        length = int(samples * rng.uniform(0.1, 0.4))
        start = int(rng.integers(0, samples - length + 1))
        values = values.copy()
        values[start : start + length] *= rng.uniform(1.5, 3.0)
        wait = float(rng.uniform(0.2, 0.5))
    if model == "bursty" and rng.random() < 0.35:
        wait = float(rng.uniform(0.05, 0.8))
        # every call spans time slices in proportion to its length (sensitivity): the run's time grows
        # like (1 / (1 - wait)) ** sensitivity, give or take 25%, and a share of samples gets a slice more
        values = values * (1.0 / (1.0 - wait)) ** (sensitivity * rng.uniform(0.8, 1.25))
        delayed = rng.random(samples) < wait * 0.3
        values = values + np.where(delayed, rng.exponential(level * 0.5, samples), 0.0)
    if hogged:
        wait = float(rng.uniform(0.3, 0.5))
        delayed = rng.random(samples) < wait * 0.5
        values = values + np.where(delayed, rng.exponential(level * 0.5, samples), 0.0)
    values = values * speed**sensitivity
    canary = None
    if model in ("drift", "hogs_one_side", "other_machine", "hogs_both"):
        slow = 1.5 if hogged else 1.0
        canary = tuple(CANARY * speed * slow * math.exp(rng.normal(0.0, CANARY_NOISE)) for _ in range(2))
    return Run(
        samples=values,
        wall_seconds=10.0,
        cpu_seconds=10.0 * (1 - wait),
        runqueue_wait_seconds=10.0 * wait,
        canary_seconds=canary,
        canary_version=1 if canary else None,
        started_at=started_at,
    )


def started_at(side: str, run: int, first: str = "base", model: str = "") -> str:
    """An ISO time for run ``run`` of ``side``: pairs of neighbouring runs, ``first`` side first in the pair."""
    day = 1 if model in ("other_machine", "half_speed_no_canary") and side == "base" else 2
    second = 2 * run + (0 if side == first else 1)
    return f"2026-12-0{day}T10:{second // 60:02d}:{second % 60:02d}"


def _speeds(rng: np.random.Generator, model: str, runs: int) -> tuple[np.ndarray, np.ndarray]:
    """Machine speed factor of each base and head run (1.0 outside the drift models)."""
    if model == "other_machine":
        return np.full(runs, 1.5), np.ones(runs)
    if model == "half_speed_no_canary":
        return np.full(runs, 2.0), np.ones(runs)
    if model not in ("drift", "drift_no_canary"):
        return np.ones(runs), np.ones(runs)
    walk = np.exp(np.cumsum(rng.normal(0.0, 0.08, 2 * runs)))
    walk *= np.where(rng.random(2 * runs) < 0.2, 1.5, 1.0)
    order = [(0, 1) if rng.random() < 0.5 else (1, 0) for _ in range(runs)]
    base = np.array([walk[2 * i + first] for i, (first, _) in enumerate(order)])
    head = np.array([walk[2 * i + second] for i, (_, second) in enumerate(order)])
    return base, head


def simulate(
    rng: np.random.Generator,
    model: str,
    *,
    factor: float = 1.0,
    benchmarks: int = 30,
    runs: int = 5,
    samples: int = 200,
) -> tuple[ResultSet, ResultSet]:
    """One comparison under ``model`` (see the module doc): (base, head)."""
    if model not in MODELS:
        raise ValueError(f"unknown noise model {model!r}")
    levels = np.exp(rng.uniform(math.log(1e-4), math.log(1e-2), benchmarks))
    sensitivity = rng.uniform(0.3, 1.0, benchmarks) if model.startswith("drift") else np.ones(benchmarks)
    if model == "bursty":
        sensitivity = rng.uniform(0.0, 1.0, benchmarks)
    base_speed, head_speed = _speeds(rng, model, runs)
    firsts = ["base" if r % 2 == 0 else "head" for r in range(runs)]  # ABBA; no draw, the seeded streams stay
    sides = []
    for side, speeds, scale in (("base", base_speed, 1.0), ("head", head_speed, factor)):
        hogged = model.startswith("hogs") and (side == "head" or model == "hogs_both")
        sides.append(
            ResultSet(
                benchmarks=tuple(
                    BenchmarkResult(
                        name=f"bench_{b:02d}",
                        runs=tuple(
                            _run(
                                rng,
                                model,
                                levels[b] * scale,
                                speeds[r],
                                sensitivity[b],
                                hogged,
                                samples,
                                started_at(side, r, firsts[r], model),
                            )
                            for r in range(runs)
                        ),
                    )
                    for b in range(benchmarks)
                ),
                environment=Environment(cpu_count=2),
            )
        )
    return sides[0], sides[1]
