"""Stable JSON report of a comparison.

Format ``benchwatch-comparison``, version history:
    1  first version.

Top level::

    {"format": "benchwatch-comparison", "version": 1,
     "verdict": "regression" | "improvement" | "unchanged" | "inconclusive",
     "exit_code": 0 | 1 | 4,
     "comparisons": [{"benchmark", "metric", "verdict", "ratio", "ci_low",
                      "ci_high", "p_value", "q_value", "threshold", "gated",
                      "reason", "base_value", "head_value", "n_runs_base",
                      "n_runs_head", "unit", "bootstrap_ci_low",
                      "bootstrap_ci_high", "reason_code"}, ...],
     "benchmarks": [{"name", "status", "notes",
                     "diagnostics": {"base": {...} | null, "head": {...} | null}}, ...],
     "diagnostics": {"base": {...}, "head": {...},
                     "latency_test": "welch" | "speed-adjusted" | "not-comparable",
                     "variance_priors": {metric: {"df", "variance", "estimates"}},
                     "machine_speed": {"base_median_canary_seconds", "head_median_canary_seconds",
                                       "base_range_seconds", "head_range_seconds", "shared"} | null,
                     "comparability": {"comparable", "reason_code", "detail"},
                     "busy_runs": {"waited_over_threshold", "runs_with_cpu_wait"},
                     "suite_shift": {"benchmarks", "moved", "median_ratio"} | null},
     "warnings": [str, ...],
     "settings": {...}, "environment": {"base": {...}, "head": {...}},
     "headline": str,         # why the verdict, and what to do when it is not decisive
     "rules_version": int,    # benchwatch.compare.rules.RULES_VERSION the verdicts were made under
     "explanations": [...]}   # only when profiled: per benchmark the functions behind its change
                              # (benchwatch.explain.records.Explanation.to_dict, docs/explain.md)

``comparisons`` are ordered like the terminal table (regressions first).
Numbers that are not finite (NaN, infinity) become ``null``; ratios are
head/base.  New keys may be added within a version; none is removed or
changes meaning without a version bump.
"""

from __future__ import annotations

import json
import math
from typing import Any

from benchwatch import fastjson
from benchwatch.compare import Comparison, MetricComparison
from benchwatch.render import row_order

FORMAT = "benchwatch-comparison"
VERSION = 1
COMPARISON_KEYS = (
    "benchmark",
    "metric",
    "verdict",
    "ratio",
    "ci_low",
    "ci_high",
    "p_value",
    "q_value",
    "threshold",
    "gated",
    "reason",
    "base_value",
    "head_value",
    "n_runs_base",
    "n_runs_head",
    "unit",
    "bootstrap_ci_low",
    "bootstrap_ci_high",
    "reason_code",
)


def _clean(value: Any) -> Any:
    """Non-finite floats -> None, recursively; tuples -> lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _clean(value.item())
    return value


def _metric(metric: MetricComparison) -> dict[str, Any]:
    # Cleaned inline (40,000 rows on a 10,000-benchmark suite): the generic walk costs more than the rows.
    row: dict[str, Any] = {}
    for key in COMPARISON_KEYS:
        value = getattr(metric, key)
        kind = type(value)
        if kind is float:
            row[key] = value if math.isfinite(value) else None
        elif kind is str or kind is int or kind is bool or value is None:
            row[key] = value
        else:
            row[key] = _clean(value)
    return row


def comparison_to_dict(comparison: Comparison) -> dict[str, Any]:
    """The report as plain JSON-ready data (NaN already replaced by None)."""
    document = {
        "format": FORMAT,
        "version": VERSION,
        "verdict": comparison.verdict,
        "exit_code": comparison.exit_code(),
        "comparisons": None,  # already clean: filled in after the generic walk, in this place
        "benchmarks": [
            {
                "name": b.name,
                "status": b.status,
                "notes": list(b.notes),
                "diagnostics": {
                    "base": b.base_diagnostics.to_dict() if b.base_diagnostics else None,
                    "head": b.head_diagnostics.to_dict() if b.head_diagnostics else None,
                },
            }
            for b in comparison.benchmarks
        ],
        "diagnostics": comparison.diagnostics.to_dict(),
        "warnings": list(comparison.warnings),
        "settings": comparison.settings.to_dict(),
        "environment": {"base": dict(comparison.base_environment), "head": dict(comparison.head_environment)},
        "headline": comparison.headline,
        "rules_version": comparison.rules_version,
    }
    cleaned: dict[str, Any] = _clean(document)
    cleaned["comparisons"] = [_metric(m) for m in row_order(comparison)]
    if comparison.explanations:
        from benchwatch.render.explain_report import json_section

        cleaned["explanations"] = _clean(json_section(comparison.explanations))
    return cleaned


def render_json(comparison: Comparison, *, indent: int | None = 2) -> str:
    """The report as a JSON string (strict JSON: no NaN or Infinity)."""
    document = comparison_to_dict(comparison)
    if indent == 2:
        return fastjson.dumps_indented(document) + "\n"
    return json.dumps(document, indent=indent, allow_nan=False, ensure_ascii=False) + "\n"
