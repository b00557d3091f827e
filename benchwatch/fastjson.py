"""JSON at C speed for large result files and reports: orjson when installed, the standard library otherwise.

Why: the standard library's parser, and above all its pure-Python indenting
encoder, dominated the time of large comparisons (figures in
docs/reliability.md, "Measurements behind design choices").

The values are the same either way: both parse numbers correctly rounded and
keep the last of duplicate keys.  Where orjson refuses a document that the
standard library reads (``NaN``, ``Infinity``, lone surrogates, nesting
deeper than 1024), or refuses it for any other reason, the standard library
parses it, so every accepted document and every error message is the
standard library's.  One known difference: an integer literal outside the
64-bit range is read as the nearest float rather than as an exact integer;
no count or size in a result file comes near it.

Reports written by orjson are indented like ``json.dumps(indent=2)``, but
floats use the shortest exponent form (``3.2e-6`` rather than ``3.2e-06``):
the same numbers when parsed.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any


def _orjson() -> ModuleType | None:
    try:
        import orjson
    except ImportError:  # optional at run time: the standard library reads and writes the same values
        return None
    return orjson


def loads(raw: bytes) -> Any:
    """Parse UTF-8 JSON bytes; raises what ``json.loads`` raises on the decoded text (UnicodeDecodeError included)."""
    fast = _orjson()
    if fast is not None:
        try:
            return fast.loads(raw)
        except (fast.JSONDecodeError, RecursionError):
            pass  # the standard library reads NaN and the like, or gives its own error message
    return json.loads(raw.decode("utf-8"))


def dumps_indented(document: Any) -> str:
    """Strict JSON (no NaN: pass them as None) indented by two spaces, non-ASCII kept as it is."""
    fast = _orjson()
    if fast is not None:
        try:
            return fast.dumps(document, option=fast.OPT_INDENT_2).decode("utf-8")
        except TypeError:
            pass  # a type orjson does not know (or an integer beyond 64 bits): the standard library says which
    return json.dumps(document, indent=2, allow_nan=False, ensure_ascii=False)


def dumps_compact(document: Any) -> bytes:
    """Compact UTF-8 JSON (no spaces, non-ASCII kept) for data files a script reads.

    A NaN is written as null by orjson (refused by the standard library): the trend report's data
    holds none, and a null is a gap in a chart.
    """
    fast = _orjson()
    if fast is not None:
        try:
            return bytes(fast.dumps(document))
        except TypeError:
            pass  # a type orjson does not know (or an integer beyond 64 bits): the standard library says which
    return json.dumps(document, separators=(",", ":"), allow_nan=False, ensure_ascii=False).encode("utf-8")
