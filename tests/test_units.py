"""The one place numbers become text for people (benchwatch.units)."""

from __future__ import annotations

import math

import pytest

from benchwatch.units import format_change, format_interval, format_value


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
