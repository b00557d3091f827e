"""Tolerance verdicts for memory figures (peak bytes, allocation counts).

Peak memory and allocation counts of one call are nearly deterministic:
the same code allocates the same objects, give or take allocator and
interpreter caches.  A t-test would call a 200-byte change "significant"
because the spread is tiny, so memory gets a tolerance rule instead:

* per side the per-run values are summarised by their median;
* ``delta = median(head) - median(base)``;
* ``tolerance = max(absolute tolerance, percent tolerance x median(base))``
  (absolute: 64 KiB for peak bytes, 100 allocations for the count);
* ``noise span`` = the larger of (max - min) across the runs of either side,
  i.e. how much the figure moved between runs of the same code.

Verdicts: regression when delta > tolerance, delta > noise span and every
head run lies above every base run; improvement mirrored; unchanged when
|delta| <= tolerance; inconclusive otherwise (the change exceeds the
tolerance but not the run-to-run noise, or the two sides' runs overlap).
The last condition (rules version 4) is for figures that land on one of a
few levels per process: ``peak_rss`` of a DuckDB query is 2.5 or 4.5 MiB
by run, and with most runs of one side on one level and most of the other
on the other, the medians moved by 2.02 MiB, just past a span of 1.99 MiB,
while both sides held both levels (identical code called an improvement).  ``ratio`` is median(head) /
median(base) and the interval is the min/max over all head/base run pairs
(a range, not a confidence interval).  There is no p-value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from benchwatch.compare.verdict import Verdict
from benchwatch.units import format_amount

DEFAULT_PEAK_BYTES_TOLERANCE = 64 * 1024
DEFAULT_ALLOCATION_TOLERANCE = 100
DEFAULT_PERCENT_TOLERANCE = 0.10


@dataclass(frozen=True)
class MemoryResult:
    verdict: str
    ratio: float
    ci_low: float
    ci_high: float
    base_value: float
    head_value: float
    delta: float
    tolerance: float
    noise_span: float
    reason: str


def _ratio(head: float, base: float) -> float:
    if base == 0:
        return 1.0 if head == 0 else math.inf
    return head / base


def _median(values: list[float]) -> float:
    # np.median's value (the mean of the two middle values for an even count) without its
    # per-call overhead: a comparison has thousands of these five-run medians.
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2.0


def _separated(base: list[float], head: list[float], *, rising: bool) -> bool:
    """Whether every head run lies above (``rising``) or below every base run."""
    return min(head) > max(base) if rising else max(head) < min(base)


def compare_memory(
    base: np.ndarray,
    head: np.ndarray,
    *,
    absolute_tolerance: float,
    percent_tolerance: float = DEFAULT_PERCENT_TOLERANCE,
    unit: str = "bytes",
) -> MemoryResult:
    """Tolerance verdict for per-run memory values of base and head (see module doc).

    ``unit`` ("bytes" or "count") only words the reason: "change +80 KiB beyond tolerance 64 KiB".
    """
    base = np.asarray(base, dtype=np.float64).reshape(-1)
    head = np.asarray(head, dtype=np.float64).reshape(-1)
    if base.size == 0 or head.size == 0:
        raise ValueError("memory comparison needs at least one value per side")
    if absolute_tolerance < 0 or percent_tolerance < 0:
        raise ValueError("tolerances must not be negative")
    base_list, head_list = base.tolist(), head.tolist()
    if any(math.isnan(v) for v in base_list + head_list):
        base_value, head_value = math.nan, math.nan  # as np.median: NaN in, NaN out
    else:
        base_value, head_value = _median(base_list), _median(head_list)
    delta = head_value - base_value
    tolerance = max(float(absolute_tolerance), percent_tolerance * abs(base_value))
    noise_span = float(max(np.ptp(base), np.ptp(head)))
    pair_ratios = [_ratio(h, b) for h in head_list for b in base_list]
    change = f"change {format_amount(delta, unit, signed=True)}"
    limit, span = f"tolerance {format_amount(tolerance, unit)}", f"run-to-run span {format_amount(noise_span, unit)}"
    if abs(delta) <= tolerance:
        verdict = Verdict.UNCHANGED
        reason = f"{change} within {limit}"
    elif abs(delta) > noise_span and _separated(base_list, head_list, rising=delta > 0):
        verdict = Verdict.REGRESSION if delta > 0 else Verdict.IMPROVEMENT
        reason = f"{change} beyond {limit} and {span}"
    elif abs(delta) > noise_span:
        verdict = Verdict.INCONCLUSIVE
        reason = f"{change} beyond {limit} and {span}, but the runs of the two sides overlap"
    else:
        verdict = Verdict.INCONCLUSIVE
        reason = f"{change} beyond {limit} but within {span}"
    return MemoryResult(
        verdict=verdict,
        ratio=_ratio(head_value, base_value),
        ci_low=min(pair_ratios),
        ci_high=max(pair_ratios),
        base_value=base_value,
        head_value=head_value,
        delta=delta,
        tolerance=tolerance,
        noise_span=noise_span,
        reason=reason,
    )
