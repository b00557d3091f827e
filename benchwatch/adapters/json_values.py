"""What counts as a number in another tool's JSON: ints and floats, never booleans (JSON true is not 1)."""

from __future__ import annotations

import math
from typing import Any, TypeGuard


def is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_finite_number(value: Any) -> TypeGuard[int | float]:
    return is_number(value) and math.isfinite(value)


def json_object(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one (optional sections of another tool's file)."""
    return value if isinstance(value, dict) else {}
