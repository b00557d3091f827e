"""``--explain NAME`` and ``--no-explain``, shared by ``compare-refs`` and ``compare``."""

from __future__ import annotations

import argparse
import shutil
from typing import TYPE_CHECKING

from benchwatch.config import ProjectConfig

if TYPE_CHECKING:  # the runner's modules load only when a command explains
    from benchwatch.explain.passes import ExplainSettings


def add_explain_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--explain",
        action="append",
        default=[],
        dest="explain_names",
        metavar="NAME",
        help="also explain this benchmark (full name or part of it; repeatable): the functions behind "
        "its change, profiled on both sides (gated regressions and improvements are explained anyway)",
    )
    parser.add_argument(
        "--no-explain",
        action="store_true",
        help="no profiles of the changed benchmarks (default: explain them, see docs/explain.md)",
    )


def explain_settings(args: argparse.Namespace, config: ProjectConfig, *, timeout: float) -> ExplainSettings:
    """The explanation's settings from the command line and ``[tool.benchwatch]`` (``explain = false`` turns it off)."""
    from benchwatch.explain.passes import ExplainSettings

    enabled = not args.no_explain and bool(config.get("explain", True))
    return ExplainSettings(
        enabled=enabled,
        requested=tuple(args.explain_names),
        valgrind=shutil.which("valgrind"),
        timeout=timeout,
    )
