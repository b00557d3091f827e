"""Invisible Unicode formatting characters made visible in untrusted text.

A benchmark name holding U+202E (right-to-left override) displays reversed
in Markdown, a PR comment or an HTML page ("Trojan Source"); zero-width
characters make two different names look the same.  Every character of
Unicode's "Cf" (format) category - the bidi embeddings, overrides and
isolates, the directional marks, zero-width spaces and joiners, the BOM,
tag characters - is replaced by a visible ``‹U+202E›``.

The ranges below are the Cf category of Unicode 15.1; tests/test_reports_safety.py
checks them against :mod:`unicodedata` of the running Python.
"""

from __future__ import annotations

import re

_FORMAT_RANGES = (
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
)
INVISIBLE = re.compile(
    "[" + "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in _FORMAT_RANGES) + "]",
)

# The same class for the trend page's script (``new RegExp(INVISIBLE_JS, "gu")``): one definition for both sides.
INVISIBLE_JS = "[" + "".join(f"\\u{{{low:x}}}-\\u{{{high:x}}}" for low, high in _FORMAT_RANGES) + "]"


def reveal_invisible(text: str) -> str:
    """``text`` with each invisible formatting character replaced by ``‹U+XXXX›``."""
    return INVISIBLE.sub(lambda match: f"‹U+{ord(match.group()):04X}›", text)
