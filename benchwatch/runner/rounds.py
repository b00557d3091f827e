"""How many rounds a benchmark gets in one process, and the marker form's own measuring loop.

Why adapt: the gated quantiles need samples in every run (p50 ≥ 10,
p95 ≥ 100, see :func:`benchwatch.stats.runlevel.min_samples_for_quantile`).
pytest-benchmark's defaults (5 rounds minimum, 1 s per benchmark) give a
200 ms benchmark 5 rounds, so its latency would silently never gate.  A
worker therefore raises the number of rounds towards the samples the gate
needs, but only as far as a time budget per benchmark allows: a 2 s
benchmark still gets its few rounds, and the comparison falls back to the
per-run statistic it can judge.

The marker form (pytest-codspeed's ``@pytest.mark.benchmark`` on a test
that takes no ``benchmark`` fixture) is measured the way pytest-codspeed
measures it: the test's fixtures are set up once, then the test body (the
item's ``runtest``) is called repeatedly and each call is one sample.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: Shortest round worth timing; a faster body is repeated inside one round
#: (pytest-benchmark's default ``--benchmark-min-time``).
DEFAULT_MIN_ROUND_SECONDS = 5e-6
#: pytest-benchmark's defaults, used for the marker form when its options are absent.
DEFAULT_MIN_ROUNDS = 5
DEFAULT_MAX_TIME = 1.0


@dataclass(frozen=True)
class RoundPolicy:
    """What one worker aims for per benchmark.

    ``min_rounds`` and ``max_time`` are pytest-benchmark's meaning (at least
    that many rounds, and keep going until ``max_time`` seconds are spent);
    ``target_samples`` is what the gated quantiles need, pursued only within
    ``budget`` seconds; ``max_rounds`` is a hard cap the suite asked for.
    """

    min_rounds: int = DEFAULT_MIN_ROUNDS
    max_time: float = DEFAULT_MAX_TIME
    target_samples: int = 0
    budget: float = 10.0
    max_rounds: int | None = None
    min_round_seconds: float = DEFAULT_MIN_ROUND_SECONDS


def choose_rounds(policy: RoundPolicy, round_seconds: float) -> int:
    """Rounds for a benchmark whose round takes ``round_seconds``."""
    round_seconds = max(round_seconds, 1e-9)
    rounds = max(policy.min_rounds, math.ceil(policy.max_time / round_seconds))
    if rounds < policy.target_samples:
        affordable = math.floor(policy.budget / round_seconds)
        rounds = max(rounds, min(policy.target_samples, affordable))
    if policy.max_rounds is not None:
        rounds = min(rounds, policy.max_rounds)
    return max(1, rounds)


def _timed(call: Callable[[], Any], iterations: int) -> float:
    started = time.perf_counter()
    for _ in range(iterations):
        call()
    return time.perf_counter() - started


def sample_calls(call: Callable[[], Any], policy: RoundPolicy) -> tuple[list[float], int]:
    """Per-call seconds of repeated ``call()`` rounds, and the calls per round.

    The first call is a warm-up (imports, caches, the interpreter's
    specialisation) and is not recorded; the second estimates the duration
    that decides how many calls make a round and how many rounds to take.
    """
    _timed(call, 1)
    per_call = _timed(call, 1)
    iterations = 1
    if per_call < policy.min_round_seconds:
        iterations = math.ceil(policy.min_round_seconds / max(per_call, 1e-9))
        per_call = _timed(call, iterations) / iterations
    rounds = choose_rounds(policy, per_call * iterations)
    return [_timed(call, iterations) / iterations for _ in range(rounds)], iterations


def adapt_pytest_benchmark(fixture: Any, policy: RoundPolicy) -> bool:
    """Make pytest-benchmark's fixture take the rounds ``policy`` asks for; False if it cannot.

    pytest-benchmark picks ``max(ceil(max_time / round), min_rounds)`` right
    after calibrating; wrapping its calibration lets the minimum be raised
    once the round's duration is known.  ``benchmark.pedantic`` keeps the
    rounds the test asked for (an explicit choice).
    """
    calibrate = getattr(fixture, "_calibrate_timer", None)
    if calibrate is None or not hasattr(fixture, "_min_rounds") or policy.target_samples <= 0:
        return False

    def calibrate_then_adapt(runner: Any) -> Any:
        calibrated = calibrate(runner)
        duration = calibrated[0]
        own = RoundPolicy(
            min_rounds=int(fixture._min_rounds),
            max_time=float(getattr(fixture, "_max_time", DEFAULT_MAX_TIME)),
            target_samples=policy.target_samples,
            budget=policy.budget,
        )
        fixture._min_rounds = choose_rounds(own, duration)
        return calibrated

    fixture._calibrate_timer = calibrate_then_adapt
    return True
