"""The one place numbers become text for people (benchwatch.units)."""

from __future__ import annotations

import math

import pytest

from benchwatch.units import display_unit, format_change, format_interval, format_value, metric_unit


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (1.5, "seconds", "1.5 s"),
        (12.34567, "seconds", "12.35 s"),
        (0.0123456, "seconds", "12.3 ms"),
        (0.0009996, "seconds", "1 ms"),  # the unit is picked after rounding, not "1e+03 µs"
        (0.0009994, "seconds", "999 µs"),
        (2.5e-6, "seconds", "2.5 µs"),
        (3.21e-8, "seconds", "32.1 ns"),
        (512, "bytes", "512 B"),
        (1536, "bytes", "1.5 KiB"),
        (3 * 2**20, "bytes", "3.0 MiB"),
        (2**31, "bytes", "2.0 GiB"),
        (1234567, "count", "1,234,567"),
        (0.125, "byte", "0.125 byte"),  # another tool's unit is named, never read as seconds
        (42.0, "unit", "42 unit"),
    ],
)
def test_format_value(value, unit, text):
    assert format_value(value, unit) == text


@pytest.mark.parametrize("missing", [math.nan, math.inf, None])
def test_missing_values_read_as_a_dash(missing):
    assert format_value(missing, "seconds") == "–"
    assert format_change(missing) == "–"
    assert format_interval(missing, 1.1) == "–"


def test_changes_and_intervals_are_signed_percentages():
    assert format_change(1.123) == "+12.3%"
    assert format_change(0.9) == "-10.0%"
    assert format_interval(0.95, 1.2) == "-5.0% … +20.0%"


@pytest.mark.parametrize(
    ("unit", "typical", "scale"),
    [
        ("seconds", 2.5, (1.0, "s")),
        ("seconds", 0.004, (1e-3, "ms")),
        ("seconds", 3e-6, (1e-6, "µs")),
        ("seconds", 3e-7, (1e-9, "ns")),
        ("seconds", 1e-11, (1e-9, "ns")),  # below the smallest scale: still ns
        ("seconds", math.nan, (1.0, "s")),
        ("bytes", 3 * 2**20, (2.0**20, "MiB")),
        ("bytes", 100, (1.0, "B")),
        ("bytes", 0, (1.0, "B")),
        ("count", 1234, (1.0, "allocations")),
        ("unit", 42, (1.0, "unit")),
    ],
)
def test_display_unit_scales_a_series(unit, typical, scale):
    assert display_unit(unit, typical) == scale


def test_memory_metrics_have_their_own_unit():
    assert metric_unit("seconds", "peak_memory") == "bytes"
    assert metric_unit("seconds", "allocations") == "count"
    assert metric_unit("seconds", "p95") == "seconds"
    assert format_value(3 * 2**20, metric_unit("seconds", "peak_memory")) == "3.0 MiB"
