"""The comparison: two result sets in, verdicts per benchmark and metric out.

One module per step, in the order data flows (docs/statistics.md has the rules):
``pairing`` (benchmarks paired by name) -> ``comparability`` (is latency comparable at all,
decided once) -> one strategy per metric family (``latency``, ``memory``, ``instructions``)
-> ``counts_shift`` and ``suite`` (suite verdict, headline, warnings).  ``pipeline`` drives
them; ``records`` holds the frozen results; ``verdict`` the vocabulary; ``rules`` and
``settings`` what the user and the rules version decide.

The public names are imported lazily, so that a renderer importing ``records`` or ``verdict``
does not pay for numpy and the statistics.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchwatch.compare.latency import ONE_RUN_REASON
    from benchwatch.compare.pipeline import compare
    from benchwatch.compare.records import STATUSES, BenchmarkComparison, Comparison, MetricComparison
    from benchwatch.compare.rules import CompareRules
    from benchwatch.compare.settings import CompareSettings
    from benchwatch.compare.verdict import VERDICTS, ReasonCode, Verdict

_HOMES = {
    "ONE_RUN_REASON": "latency",
    "compare": "pipeline",
    "STATUSES": "records",
    "BenchmarkComparison": "records",
    "Comparison": "records",
    "MetricComparison": "records",
    "CompareRules": "rules",
    "CompareSettings": "settings",
    "VERDICTS": "verdict",
    "ReasonCode": "verdict",
    "Verdict": "verdict",
}

__all__ = [
    "ONE_RUN_REASON",
    "STATUSES",
    "VERDICTS",
    "BenchmarkComparison",
    "CompareRules",
    "CompareSettings",
    "Comparison",
    "MetricComparison",
    "ReasonCode",
    "Verdict",
    "compare",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'benchwatch.compare' has no attribute {name!r}")
    return getattr(importlib.import_module(f"benchwatch.compare.{home}"), name)
