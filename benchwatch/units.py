"""How benchwatch writes a number for people: one place for units and rounding.

Reports (``benchwatch.render``) and the reason strings of the comparison use
it alike, so a value reads the same everywhere.

Durations are seconds shown as ns/µs/ms/s with 3 significant digits (4 at
a second and above), the unit picked *after* rounding so 0.9996 ms reads
"1 ms"; bytes as B/KiB/MiB/GiB; counts as integers with thousands
separators; any other unit (another tool's) as 3 significant digits and
its name; changes and intervals as signed percentages.
"""

from __future__ import annotations

import math

#: Scales of a unit, largest first: (factor, label).
_SCALES = {
    "seconds": ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")),
    "bytes": ((2.0**30, "GiB"), (2.0**20, "MiB"), (2.0**10, "KiB"), (1.0, "B")),
    # Chart axes of instruction counts (values are written in full by format_value).
    "instructions": (
        (1e9, "G instructions"),
        (1e6, "M instructions"),
        (1e3, "k instructions"),
        (1.0, "instructions"),
    ),
}
#: What "count" counts: the one counted quantity benchwatch measures.
_COUNT_LABEL = "allocations"


def metric_unit(unit: str, metric: str) -> str:
    """The unit of a metric's values: memory metrics have their own, whatever the benchmark's unit."""
    if metric == "peak_memory":
        return "bytes"
    if metric == "allocations":
        return "count"
    if metric == "instructions":
        return "instructions"
    if metric == "estimated_cycles":
        return "cycles"
    return unit


def display_unit(unit: str, typical: float) -> tuple[float, str]:
    """(factor, label) for values around ``typical``: a chart axis or column divides by factor."""
    if unit == "count":
        return 1.0, _COUNT_LABEL
    scales = _SCALES.get(unit)
    if scales is None:
        return 1.0, unit
    if not math.isfinite(typical) or typical <= 0:
        return scales[0] if unit == "seconds" else scales[-1]
    for factor, label in scales:
        if typical >= factor:
            return factor, label
    return scales[-1]


def format_value(value: float, unit: str) -> str:
    """Human units: seconds as ns/µs/ms/s, bytes as B/KiB/MiB/GiB, counts as integers."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if unit == "bytes":
        for factor, suffix in _SCALES["bytes"][:-1]:
            if abs(value) >= factor:
                return f"{value / factor:.1f} {suffix}"
        return f"{value:.0f} B"
    if unit in ("count", "cycles"):  # allocations, instructions, estimated cycles
        return f"{value:,.0f}"
    if unit == "instructions":
        return f"{value:,.0f} instructions"
    if unit != "seconds":  # another tool's own unit (pyperf "byte", asv "unit" ...): never read as seconds
        return f"{value:.3g} {unit}"
    # Pick the unit after rounding to 3 digits, so 0.9996 ms reads "1 ms", not "1e+03 µs".
    for scale, suffix in _SCALES["seconds"][:-1]:
        if abs(value) >= scale * 0.9995:
            return f"{value / scale:.4g} {suffix}" if suffix == "s" else f"{value / scale:.3g} {suffix}"
    return f"{value / 1e-9:.3g} ns"


def format_amount(value: float, unit: str, *, signed: bool = False) -> str:
    """A memory figure in a sentence: "64.0 KiB", "+300.0 KiB", "+50 allocations" (``signed``: always a sign)."""
    sign = ("+" if value > 0 else "-" if value < 0 else "±") if signed else ("-" if value < 0 else "")
    text = format_value(abs(value), unit)
    return f"{sign}{text} {_COUNT_LABEL}" if unit == "count" else f"{sign}{text}"


def format_change(ratio: float) -> str:
    if ratio is None or not math.isfinite(ratio):
        return "–"
    return f"{(ratio - 1.0) * 100:+.1f}%"


def format_interval(low: float, high: float) -> str:
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return "–"
    return f"{(low - 1.0) * 100:+.1f}% … {(high - 1.0) * 100:+.1f}%"
