"""The instruction-count strategy: counts compared where the two results' count fingerprints match.

A thin adapter of :mod:`benchwatch.compare_instructions` (the rows) to the
strategy shape of :mod:`benchwatch.compare`: rows per benchmark and the
report's warnings.  Counts do not move with machine speed, so where they are
gated and decided they decide a benchmark whose latency is not comparable
(:mod:`.suite`).
"""

from __future__ import annotations

from collections.abc import Sequence

from benchwatch.comparator.pairing import BenchmarkPair
from benchwatch.comparator.results import StrategyResult
from benchwatch.compare_settings import CompareSettings
from benchwatch.model import ResultSet


def compare_instruction_metrics(
    pairs: Sequence[BenchmarkPair], *, base: ResultSet, head: ResultSet, settings: CompareSettings
) -> StrategyResult:
    """Instruction (and estimated-cycle) rows of every compared benchmark."""
    from benchwatch.compare_instructions import count_mismatches, instruction_comparisons

    mismatches, warnings = count_mismatches(base.count_fingerprint, head.count_fingerprint)
    rows = {
        pair.name: tuple(
            instruction_comparisons(pair.name, pair.base, pair.head, mismatches=mismatches, settings=settings)
        )
        for pair in pairs
    }
    return StrategyResult(rows=rows, warnings=tuple(warnings))
