"""Verdicts on instruction counts (and estimated cycles) from the Callgrind pass.

Counts of the same code are nearly exact: on this 2-core machine, under load,
one Python function counted in separate processes gave 68,135,331 and
68,135,367 instructions.  So the question is not "is the difference
significant" but "do the counts agree, and by how much did they change".

Per side, each instruction run (a fresh process) is summarised by the median
of its counted calls.  A side's *spread* is (max - min) / median of those
per-run values (of the counted calls when the side has a single run).

* **Exact** (both spreads at most ``EXACT_SPREAD_SHARE`` x threshold): the
  ratio of the sides' medians is the change, shown exactly (e.g. +2.31%);
  the range [min head / max base, max head / min base] bounds it.
  ``regression`` when the ratio is at least 1 + t and the whole range lies
  above 1; ``improvement`` mirrored; ``unchanged`` when the range lies within
  [1 / (1 + t), 1 + t]; else ``inconclusive``.  A regression or
  improvement needs at least two runs per side: some code (regex, DuckDB
  in the A/B workloads) repeats itself exactly within a process but counts
  1-3% differently in another one, which one run per side cannot show.
* **Run-level** (counts vary, e.g. threads or hash randomisation): a Welch t
  on the log per-run values, with the latency rule (p < alpha, ratio past the
  threshold and the interval clear of 1 for a regression; the interval within
  the threshold band for unchanged).  With two runs per side its interval is
  wide, so such benchmarks are mostly inconclusive: the reason says so.

Counts are compared only when the count fingerprints of the two sides match
(:func:`fingerprint_mismatches`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchwatch.compare.verdict import Verdict
from benchwatch.stats.runlevel import welch_log_ratio

#: Counts count as exact when each side's spread is at most this share of the
#: threshold: identical code then stays within the threshold band (the two
#: spreads add up to at most the threshold), so spread alone never makes a
#: regression.  Measured: DuckDB queries 0.01-0.06%, HTTP-client benchmarks
#: (reads vary with how data arrives) up to 0.31% between processes.
EXACT_SPREAD_SHARE = 0.5

#: Fingerprint fields that must be equal for counts to be comparable.
FINGERPRINT_KEYS = (
    "machine",
    "python_implementation",
    "python_version",
    "python_build",
    "valgrind",
    "hash_seed",
    "count_method",
)
#: Values of fields that files from before the field existed had implicitly:
#: counts made before ``count_method`` was recorded were made by method 1.
FINGERPRINT_DEFAULTS: Mapping[str, Any] = {"count_method": 1}


@dataclass(frozen=True)
class CountResult:
    """The verdict on one count metric of one benchmark (see the module doc)."""

    verdict: str
    ratio: float
    low: float
    high: float
    p_value: float | None
    base_value: float
    head_value: float
    base_spread: float
    head_spread: float
    method: str  # "exact" or "run-level"
    reason: str


def relative_spread(values: np.ndarray) -> float:
    """(max - min) / median; 0 for a single value."""
    values = np.asarray(values, dtype=np.float64)
    if values.size < 2:
        return 0.0
    median = float(np.median(values))
    return float(np.ptp(values)) / median if median > 0 else math.inf


def _side(runs: Sequence[np.ndarray]) -> tuple[np.ndarray, float, np.ndarray]:
    """(per-run medians, spread, the values that bound the exact range)."""
    per_run = np.array([float(np.median(calls)) for calls in runs])
    if per_run.size >= 2:
        return per_run, relative_spread(per_run), per_run
    calls = np.asarray(runs[0], dtype=np.float64)
    return per_run, relative_spread(calls), calls


def compare_counts(
    base_runs: Sequence[np.ndarray],
    head_runs: Sequence[np.ndarray],
    *,
    threshold: float,
    alpha: float = 0.05,
    confidence: float = 0.95,
) -> CountResult:
    """Verdict for per-call counts of each run of base and head (one array per run)."""
    if not base_runs or not head_runs or any(np.size(calls) == 0 for calls in (*base_runs, *head_runs)):
        raise ValueError("count comparison needs at least one run with counts per side")
    base_values, base_spread, base_bounds = _side(base_runs)
    head_values, head_spread, head_bounds = _side(head_runs)
    base_value, head_value = float(np.median(base_values)), float(np.median(head_values))
    upper, lower = 1.0 + threshold, 1.0 / (1.0 + threshold)
    spreads = f"spread {base_spread:.3%} base, {head_spread:.3%} head"
    if max(base_spread, head_spread) <= EXACT_SPREAD_SHARE * threshold:
        ratio = head_value / base_value
        low, high = float(head_bounds.min() / base_bounds.max()), float(head_bounds.max() / base_bounds.min())
        if ratio >= upper and low > 1.0:
            verdict = Verdict.REGRESSION
        elif ratio <= lower and high < 1.0:
            verdict = Verdict.IMPROVEMENT
        elif lower <= low and high <= upper:
            verdict = Verdict.UNCHANGED
        else:
            verdict = Verdict.INCONCLUSIVE
        reason = f"exact counts ({spreads}): change {ratio - 1:+.2%}, threshold ±{threshold:.2%}"
        if verdict in (Verdict.REGRESSION, Verdict.IMPROVEMENT) and min(base_values.size, head_values.size) < 2:
            # Some code counts differently in another process (up to 1-3% for regex
            # and DuckDB in the A/B workloads) while each process repeats itself
            # exactly: one run per side cannot show that.
            verdict = Verdict.INCONCLUSIVE
            reason += f"; a {ratio - 1:+.2%} change needs ≥2 instruction runs per side (between-process spread unseen)"
        return CountResult(
            verdict, ratio, low, high, None, base_value, head_value, base_spread, head_spread, "exact", reason
        )
    varies = f"counts vary between runs ({spreads} > {EXACT_SPREAD_SHARE * threshold:.3%}): run-level test"
    if base_values.size < 2 or head_values.size < 2:
        ratio = head_value / base_value
        return CountResult(
            Verdict.INCONCLUSIVE,
            ratio,
            math.nan,
            math.nan,
            None,
            base_value,
            head_value,
            base_spread,
            head_spread,
            "run-level",
            f"{varies} needs ≥2 instruction runs per side",
        )
    test = welch_log_ratio(np.log(base_values), np.log(head_values), confidence=confidence)
    ratio = float(math.exp(test.estimate[0]))
    low, high = float(math.exp(test.ci_low[0])), float(math.exp(test.ci_high[0]))
    p_value = float(test.p_value[0])
    if p_value < alpha and ratio >= upper and low > 1.0:
        verdict = Verdict.REGRESSION
    elif p_value < alpha and ratio <= lower and high < 1.0:
        verdict = Verdict.IMPROVEMENT
    elif lower <= low and high <= upper:
        verdict = Verdict.UNCHANGED
    else:
        verdict = Verdict.INCONCLUSIVE
    reason = f"{varies}, p={p_value:.3g}, {confidence:.0%} CI {low:.4g}–{high:.4g}"
    return CountResult(
        verdict, ratio, low, high, p_value, base_value, head_value, base_spread, head_spread, "run-level", reason
    )


def fingerprint_mismatches(base: Mapping[str, Any], head: Mapping[str, Any], *, packages: bool = True) -> list[str]:
    """Why two count fingerprints are not comparable (empty list: they are).

    Each reason names the field (``python_version '3.11.7' vs '3.12.1'``).
    ``packages``: also the suite-wide rule for the imported packages (for
    files without per-benchmark executed packages): a package both sides
    imported at different versions.  A package only one side imports is part
    of the code change under test.
    """
    if not base or not head:
        return [f"no instruction counts on {'base' if not base else 'head'}"]
    reasons = []
    for key in FINGERPRINT_KEYS:
        default = FINGERPRINT_DEFAULTS.get(key)
        if (key in base or default is not None) and (key in head or default is not None):
            base_value, head_value = base.get(key, default), head.get(key, default)
            if base_value != head_value:
                reasons.append(f"{key} {base_value!r} vs {head_value!r}")
    # Records from before the key existed all counted through the valgrind module.
    base_way, head_way = (side.get("client_requests", "valgrind module") for side in (base, head))
    if base_way != head_way:
        reasons.append(f"client requests through the {base_way} vs the {head_way}")
    if packages:
        reasons += [
            f"{name} {old} vs {new}"
            for name, (old, new) in package_differences(base.get("packages") or {}, head.get("packages") or {}).items()
        ]
    return reasons


def package_differences(base: Mapping[str, str], head: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """Packages on both sides at different versions: name -> (base version, head version)."""
    return {name: (base[name], head[name]) for name in sorted(set(base) & set(head)) if base[name] != head[name]}
