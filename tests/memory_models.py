"""Per-run memory figures of identical code, as our suite's processes produce them (issue 29).

The resident-set peak of a benchmark's process lands on one of a few levels
(which one is the process's, not the code's); memray's peak and allocation
count repeat exactly.  The levels below are the per-run ``peak_rss`` values
of ``baselines/main.json.gz`` (13 benchmarks, 5 runs each), the four runs of
``test_cohort_retention`` in issue 29 (9.2-10.7 MB) and a DuckDB query at
2.5 or 4.5 MiB.  Each run draws a level, plus 0-3 pages of jitter.

Used by tests/test_memory_error_rate.py and benchmarks/ablation.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from benchwatch.compare import CompareSettings
from benchwatch.compare.memory import compare_memory_metrics, rss_needs_evidence
from benchwatch.compare.pairing import BenchmarkPair
from benchwatch.compare.records import BenchmarkComparison
from benchwatch.compare.rules import DEFAULT_RULES, CompareRules
from benchwatch.model import BenchmarkResult, MemoryProfile, Run

MiB = 2**20
PAGE = 4096

#: name -> (peak_rss levels in bytes, share of runs on each level, memray peak bytes)
RSS_LEVELS: dict[str, tuple[tuple[float, ...], tuple[float, ...], int]] = {
    "daily_active_users": ((15_470_592, 15_478_784), (0.6, 0.4), 924_452),
    "watch_time_by_platform_and_day": ((3_002_368, 3_076_096, 3_100_672), (0.6, 0.2, 0.2), 928_956),
    "top_n_media": ((2_723_840, 4_763_648, 4_812_800), (0.2, 0.4, 0.4), 929_647),
    "peak_concurrent_streams": ((6_336_512, 6_344_704, 6_356_992), (0.4, 0.4, 0.2), 979_616),
    "geographic_aggregation": ((2_629_632, 2_703_360), (0.6, 0.4), 930_561),
    "transcode_ratio": ((937_984, 2_514_944), (0.2, 0.8), 936_881),
    "bitrate_p95_by_platform": ((4_317_184, 4_710_400, 5_099_520), (0.2, 0.2, 0.6), 948_158),
    "cohort_retention": ((8_200_192, 8_323_072, 8_577_024), (0.4, 0.2, 0.4), 983_293),
    "cohort_retention (issue 29)": ((9_228_288, 9_912_320, 10_612_736, 10_690_560), (0.25,) * 4, 983_293),
    "full_sync": ((57_901_056, 57_978_880, 58_015_744), (0.2, 0.6, 0.2), 27_029_749),
    "incremental_sync_from_mid_cursor": ((52_961_280, 52_994_048), (0.4, 0.6), 23_039_162),
    "dedup_overlapping_pages": ((413_696, 548_864), (0.4, 0.6), 707_427),
    "batched_upsert": ((51_183_616, 51_224_576, 51_257_344), (0.4, 0.2, 0.4), 20_114_930),
    "sync_with_retries": ((57_974_784, 57_978_880, 58_052_608), (0.2, 0.6, 0.2), 27_029_759),
    "duckdb query (2.5 or 4.5 MiB)": ((2.5 * MiB, 4.5 * MiB), (0.5, 0.5), 931_000),
}
NAMES = tuple(RSS_LEVELS)


def draw_rss(rng: np.random.Generator, name: str, runs: int, *, layout: bool = False) -> np.ndarray:
    """Per-run peak_rss; ``layout``: only the upper half of the levels (another checkout's process layout)."""
    levels, shares, _ = RSS_LEVELS[name]
    if layout:
        upper = len(levels) // 2
        levels, shares = levels[upper:], tuple(share / sum(shares[upper:]) for share in shares[upper:])
    return rng.choice(np.array(levels), size=runs, p=np.array(shares)) + PAGE * rng.integers(0, 4, size=runs)


def side(
    rng: np.random.Generator, runs: int, factors: dict[str, float] | None = None, *, layout: bool = False
) -> list[BenchmarkResult]:
    """One side's benchmarks: ``factors`` multiplies a benchmark's peak_rss and memray peak (a real change).

    ``layout`` puts every process on the upper levels (identical code whose checkout's process
    layout differs, which the permutation test cannot tell from code: the rss-only margin's case).
    """
    factors = factors or {}
    out = []
    for name in NAMES:
        factor = factors.get(name, 1.0)
        peak = int(RSS_LEVELS[name][2] * factor)
        rss = draw_rss(rng, name, runs, layout=layout) * factor
        memory = [MemoryProfile(peak_bytes=peak, allocations=1200, rss_peak_bytes=int(r)) for r in rss]
        out.append(BenchmarkResult(name=name, runs=tuple(Run(samples=np.empty(0), memory=m) for m in memory)))
    return out


def memory_comparison(
    base: Sequence[BenchmarkResult],
    head: Sequence[BenchmarkResult],
    *,
    settings: CompareSettings | None = None,
    rules: CompareRules = DEFAULT_RULES,
) -> tuple[BenchmarkComparison, ...]:
    """The memory rows of one comparison, as the pipeline makes them (the strategy, then the rss-only rule)."""
    settings = settings or CompareSettings()
    pairs = [BenchmarkPair(name=b.name, base=b, head=h) for b, h in zip(base, head, strict=True)]
    result = compare_memory_metrics(pairs, settings=settings, rules=rules)
    benchmarks = tuple(
        BenchmarkComparison(name=name, metrics=rows, status="compared") for name, rows in result.rows.items()
    )
    return rss_needs_evidence(benchmarks, settings, rules)


def false_changes(
    rng: np.random.Generator,
    runs: tuple[int, int],
    comparisons: int,
    *,
    rules: CompareRules = DEFAULT_RULES,
    layout: bool = False,
) -> int:
    """Identical-code comparisons with any gated memory regression or improvement (``layout``: see :func:`side`)."""
    hits = 0
    for _ in range(comparisons):
        benchmarks = memory_comparison(side(rng, runs[0]), side(rng, runs[1], layout=layout), rules=rules)
        hits += any(m.gated and m.verdict in ("regression", "improvement") for b in benchmarks for m in b.metrics)
    return hits


def found_changes(
    rng: np.random.Generator,
    runs: int,
    comparisons: int,
    *,
    factor: float = 1.3,
    rules: CompareRules = DEFAULT_RULES,
    metric: str | None = None,
) -> tuple[int, int]:
    """(found, changed): one benchmark per comparison (in turn) grows by ``factor``; found = a gated regression.

    ``metric`` counts only that metric's row (e.g. "peak_rss"); None: any gated memory row.
    """
    found = 0
    for k in range(comparisons):
        name = NAMES[k % len(NAMES)]
        benchmarks = memory_comparison(side(rng, runs), side(rng, runs, {name: factor}), rules=rules)
        rows = next(b for b in benchmarks if b.name == name).metrics
        found += any(m.gated and m.verdict == "regression" and metric in (None, m.metric) for m in rows)
    return found, comparisons
