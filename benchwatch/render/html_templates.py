"""What both HTML reports need to be safe and self-contained: templates and script-embedded JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import jinja2
import markupsafe

from benchwatch.render.invisible import reveal_invisible


def template_environment(**filters: Callable[..., Any]) -> jinja2.Environment:
    """The package's templates with autoescaping on: untrusted names never become markup."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("benchwatch", "templates"),
        autoescape=True,
        finalize=_visible,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(filters)
    return environment


def _visible(value: Any) -> Any:
    # Every {{ value }} that is plain text (not our own Markup) shows bidi and zero-width characters.
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return reveal_invisible(value)
    return value


def script_json(value: Any) -> markupsafe.Markup:
    """JSON safe inside ``<script>``: ``<``, ``>``, ``&``, U+2028/2029 as \\u escapes (no ``</script>``, ``<!--``).

    Invisible formatting characters in its strings are shown as ``‹U+202E›``.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # Such characters can only stand inside JSON strings, so visible text in their place keeps the JSON valid.
    text = reveal_invisible(text)
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return markupsafe.Markup(text)
