"""``benchwatch trend``: write a self-contained HTML trend report of a history.

    benchwatch trend --history history/ -o report.html \
        --commit-url 'https://github.com/OWNER/REPO/commit/{commit}'

The file works offline (plotly.js is embedded); charts are drawn when a
benchmark's section is opened.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from benchwatch.errors import EXIT_OK
from benchwatch.history import changepoints
from benchwatch.report import trend


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "trend", help="write the HTML trend report of a history", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--history", required=True, type=Path, metavar="DIR", help="history directory")
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="FILE", help="HTML file to write")
    parser.add_argument(
        "--commit-url",
        metavar="TEMPLATE",
        default=None,
        help="link points to commits, e.g. https://github.com/OWNER/REPO/commit/{commit}",
    )
    parser.add_argument(
        "--window",
        type=int,
        default=changepoints.DEFAULT_WINDOW,
        metavar="N",
        help=f"change point window in commits (default {changepoints.DEFAULT_WINDOW})",
    )
    parser.add_argument(
        "--max-pvalue",
        type=float,
        default=changepoints.DEFAULT_MAX_PVALUE,
        metavar="P",
        help=f"change point significance (default {changepoints.DEFAULT_MAX_PVALUE})",
    )
    parser.add_argument(
        "--min-change",
        type=float,
        default=trend.DEFAULT_MIN_MAGNITUDE,
        metavar="R",
        help=f"smallest relative change marked as a change point (default {trend.DEFAULT_MIN_MAGNITUDE})",
    )
    parser.add_argument(
        "--max-points",
        type=int,
        default=trend.DEFAULT_MAX_POINTS,
        metavar="N",
        help=f"downsample each chart beyond N points (default {trend.DEFAULT_MAX_POINTS})",
    )
    parser.add_argument(
        "--recent",
        type=int,
        default=trend.DEFAULT_RECENT,
        metavar="N",
        help=f"summary ranks last N commits against the N before (default {trend.DEFAULT_RECENT})",
    )
    parser.add_argument("--title", default="benchwatch trend report", help="page title")
    parser.set_defaults(handler=handle)
    return parser


def handle(args: argparse.Namespace) -> int:
    report = trend.write_trend_report(
        history_dir=args.history,
        output=args.output,
        commit_url=args.commit_url,
        window=args.window,
        max_pvalue=args.max_pvalue,
        min_magnitude=args.min_change,
        max_points=args.max_points,
        recent=args.recent,
        title=args.title,
    )
    print(
        f"wrote {report.path}: {report.benchmarks} benchmarks, {report.commits} commits, "
        f"{report.change_points} change points, {report.html_bytes / 1e6:.1f} MB"
    )
    return EXIT_OK
