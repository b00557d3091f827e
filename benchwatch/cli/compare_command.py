"""``benchwatch compare``: compare a head result against a base result.

    benchwatch compare BASE HEAD
    benchwatch compare --base a1.json --base a2.json --head b1.json --head b2.json

Several files on one side are several process runs of that side (merged with
:func:`benchwatch.adapters.registry.import_files`).  Settings come from
``[tool.benchwatch]`` of ``--config`` (default ``./pyproject.toml`` when it
exists); command-line flags override them.  Exit codes: 0 no gated
regression, 1 gated regression (or gated inconclusive with
``--fail-on-inconclusive``), 2 usage or input error.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from benchwatch.cli.explain_options import add_explain_arguments
from benchwatch.cli.report_options import add_wide_argument, parse_write, terminal_width
from benchwatch.compare import CompareSettings, Comparison, compare
from benchwatch.compare.settings import MAX_LATENCY_THRESHOLD
from benchwatch.config import compare_settings
from benchwatch.config import load_config as project_config
from benchwatch.errors import InputError, UsageError
from benchwatch.model import ResultSet
from benchwatch.refs.sequential import settings_for_results
from benchwatch.render.formats import FORMATS, RenderContext, render

MAX_BOOTSTRAP = 1_000_000  # the same bound as bootstrap_resamples in [tool.benchwatch]


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "compare",
        help="verdicts: head results against base results",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("base_file", nargs="?", metavar="BASE", help="base result file")
    parser.add_argument("head_file", nargs="?", metavar="HEAD", help="head result file")
    parser.add_argument(
        "--base", action="append", default=[], metavar="FILE", help="a base file (repeatable: each adds runs)"
    )
    parser.add_argument(
        "--head", action="append", default=[], metavar="FILE", help="a head file (repeatable: each adds runs)"
    )
    parser.add_argument("--format", choices=FORMATS, default="terminal", help="report format (default: terminal)")
    parser.add_argument(
        "--threshold", type=float, default=None, metavar="R", help="relative change that matters (0.10 = 10%%)"
    )
    parser.add_argument(
        "--fail-on-inconclusive", action="store_true", default=None, help="exit 1 when the verdict is inconclusive"
    )
    parser.add_argument(
        "--assume-same-machine",
        action="store_true",
        default=None,
        help="files without benchwatch's canary: judge latency even when every benchmark moved by one factor "
        "(both sides ran on one machine in one state, so a suite-wide change is the code's)",
    )
    parser.add_argument(
        "--gate",
        metavar="METRIC,...",
        help="metrics that decide the verdict, replacing the config's gate (e.g. instructions,peak_memory,peak_rss)",
    )
    parser.add_argument("--no-color", action="store_true", help="no ANSI colours in the terminal report")
    parser.add_argument(
        "--all", action="store_true", dest="all_rows", help="terminal: every row, not only regressions and improvements"
    )
    add_wide_argument(parser)
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write the report to FILE (atomically) instead of stdout"
    )
    parser.add_argument(
        "--write",
        action="append",
        default=[],
        metavar="FORMAT:FILE",
        help="also write the same comparison in FORMAT to FILE (repeatable; compares once)",
    )
    parser.add_argument("--seed", type=int, default=None, metavar="N", help="seed of the bootstrap cross-check")
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=None,
        metavar="N",
        help="add an N-resample hierarchical bootstrap CI (display only)",
    )
    parser.add_argument(
        "--report-url", metavar="URL", help="pr-comment: link to the full HTML report (e.g. the artifact URL)"
    )
    parser.add_argument(
        "--base-label", metavar="TEXT", help="pr-comment: name of the base side (default: its git branch, else 'base')"
    )
    parser.add_argument(
        "--head-label", metavar="TEXT", help="pr-comment: name of the head side (default: its git branch, else 'head')"
    )
    parser.add_argument(
        "--max-chars",
        type=int,
        default=None,
        metavar="N",
        help=(
            "pr-comment: size cap in characters (default 65408: GitHub's 65536 less room for the sticky-comment marker)"
        ),
    )
    parser.add_argument(
        "--config", metavar="PYPROJECT", help="read [tool.benchwatch] from this file (default: ./pyproject.toml)"
    )
    add_explain_arguments(parser)
    parser.set_defaults(handler=handle)
    return parser


def load_config(path: str | None) -> CompareSettings:
    """Compare settings from ``[tool.benchwatch]`` of ``path`` (default ./pyproject.toml if present)."""
    if path is None:
        if not Path("pyproject.toml").is_file():
            return CompareSettings()
        path = "pyproject.toml"
    if Path(path).is_dir():
        raise InputError(path, "is a directory, expected a pyproject.toml file")
    if not Path(path).is_file():
        raise InputError(path, "config file not found")
    return compare_settings(project_config(Path(path)), Path(path))


def _settings(args: argparse.Namespace) -> CompareSettings:
    settings = load_config(args.config)
    changes: dict[str, Any] = {}
    if args.threshold is not None:
        if not 0 < args.threshold <= MAX_LATENCY_THRESHOLD:
            raise UsageError(
                f"--threshold must be greater than 0 and at most {MAX_LATENCY_THRESHOLD:g} (0.10 means 10%), "
                f"got {args.threshold}"
            )
        changes["threshold"] = args.threshold
    if args.fail_on_inconclusive:
        changes["fail_on_inconclusive"] = True
    if args.assume_same_machine:
        changes["assume_same_machine"] = True
    if args.gate is not None:
        changes["gating_metrics"] = tuple(metric.strip() for metric in args.gate.split(",") if metric.strip())
    if args.seed is not None:
        if args.seed < 0:
            raise UsageError(f"--seed must not be negative, got {args.seed}")
        changes["seed"] = args.seed
    if args.bootstrap is not None:
        if not 0 <= args.bootstrap <= MAX_BOOTSTRAP:
            raise UsageError(f"--bootstrap must be between 0 and {MAX_BOOTSTRAP}, got {args.bootstrap}")
        changes["bootstrap_resamples"] = args.bootstrap
    return settings.replace(**changes) if changes else settings


def _side_files(positional: str | None, option: list[str], label: str) -> list[Path]:
    files = ([positional] if positional else []) + list(option)
    if not files:
        raise UsageError(f"no {label} results given (use: benchwatch compare BASE HEAD, or --{label} FILE)")
    return [Path(f) for f in files]


def _render_for(
    comparison: Comparison,
    report_format: str,
    output: Path | None,
    *,
    base: ResultSet,
    head: ResultSet,
    args: argparse.Namespace,
    color: bool,
) -> str:
    flamegraphs = None
    if report_format == "html" and output is not None:
        from benchwatch.flamegraphs import write_flamegraphs

        # memray flamegraphs of memory regressions, as sibling files the report links to
        folder = output.parent / f"{output.stem}-flamegraphs"
        flamegraphs = write_flamegraphs(comparison, base, head, folder, href_prefix=f"{quote(folder.name)}/")
    context = RenderContext(
        base=base,
        head=head,
        base_label=args.base_label,
        head_label=args.head_label,
        report_url=args.report_url,
        max_chars=args.max_chars,
        flamegraphs=flamegraphs,
        color=color,
        all_rows=args.all_rows,
        width=terminal_width(args, output),
    )
    return render(comparison, report_format, context)


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector: reading builds millions of long-lived, acyclic objects.

    Each generational pass re-walked everything read so far (docs/reliability.md).
    Reference counting still frees memory; the collector runs again when the
    command is done.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def handle(args: argparse.Namespace) -> int:
    with _no_cycle_collection():
        return _compare_and_report(args)


def _compare_and_report(args: argparse.Namespace) -> int:
    from benchwatch.adapters.registry import import_files
    from benchwatch.output import write_output

    extra = [parse_write(item) for item in args.write]
    base_files = _side_files(args.base_file, args.base, "base")
    head_files = _side_files(args.head_file, args.head, "head")
    settings = _settings(args)
    base = import_files(base_files)
    head = import_files(head_files)
    comparison = compare(base, head, settings_for_results(settings, base, head))
    from benchwatch.explain.diff import explain_from_results
    from benchwatch.explain.passes import ExplainSettings

    explaining = ExplainSettings(enabled=not args.no_explain, requested=tuple(args.explain_names))
    where = (str(base_files[0]), str(head_files[0]))
    comparison = explain_from_results(comparison, base.settings, head.settings, explaining, where)
    color = not args.no_color and args.output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    for report_format, output in [*extra, (args.format, Path(args.output) if args.output else None)]:
        report = _render_for(
            comparison, report_format, output, base=base, head=head, args=args, color=color and output is None
        )
        if output is not None:
            write_output(output, report.encode("utf-8"))
        else:
            sys.stdout.write(report)
    return comparison.exit_code()
