"""What both HTML reports need to be safe and self-contained: templates and script-embedded JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import jinja2
import markupsafe


def template_environment(**filters: Callable[..., Any]) -> jinja2.Environment:
    """The package's templates with autoescaping on: untrusted names never become markup."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("benchwatch", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(filters)
    return environment


def script_json(value: Any) -> markupsafe.Markup:
    """JSON safe inside ``<script>``: ``<``, ``>``, ``&``, U+2028/2029 as \\u escapes (no ``</script>``, ``<!--``)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return markupsafe.Markup(text)
