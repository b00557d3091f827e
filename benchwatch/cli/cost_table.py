"""Plain-text tables of where ``benchwatch run`` spent its time (``settings["cost"]`` of a result)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from benchwatch.runner.cost import PHASES, breakdown


def phase_table(cost: Mapping[str, Any]) -> str:
    """One line per phase: seconds, share of the total, and what it covers."""
    rows = breakdown(cost)
    total = max(float(cost.get("elapsed", 0.0)), 1e-9)
    width = max(len(label) for label, _, _ in rows)
    lines = ["where the time went:"]
    for label, seconds, note in rows:
        share = f"{100 * seconds / total:5.1f}%"
        lines.append(f"  {label:<{width}} {seconds:8.1f} s {share}  {note}".rstrip())
    return "\n".join(lines)


def benchmark_table(cost: Mapping[str, Any], *, limit: int | None = None) -> str:
    """Per benchmark, the seconds attributable to it in each phase, most expensive first."""
    benchmarks: Mapping[str, Mapping[str, float]] = cost.get("benchmarks", {})
    phases = [phase for phase in PHASES if any(phase in row for row in benchmarks.values())]
    ranked = sorted(benchmarks.items(), key=lambda item: -sum(item[1].values()))
    shown = ranked[:limit] if limit is not None else ranked
    lines = ["seconds per benchmark (" + ", ".join(phases) + ", total):"]
    for name, row in shown:
        figures = " ".join(f"{row.get(phase, 0.0):8.1f}" for phase in phases)
        lines.append(f"  {figures} {sum(row.values()):8.1f}  {name}")
    if len(shown) < len(ranked):
        lines.append(f"  … {len(ranked) - len(shown)} more (--cost shows all)")
    return "\n".join(lines)
