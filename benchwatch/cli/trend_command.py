"""``benchwatch trend``: write the trend report of a history, a folder of static files.

    benchwatch trend --history history/ -o site/ \
        --commit-url 'https://github.com/OWNER/REPO/commit/{commit}'

``-o site/`` writes site/index.html and site/trend-data/; ``-o site/trend.html``
names the page.  The folder works offline and from file:// (GitHub Pages
serves it as is).  Needs the ``history`` extra (DuckDB).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from benchwatch.errors import EXIT_OK
from benchwatch.history import segmentation
from benchwatch.report import trend


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "trend", help="trend report of a history (a folder of static files)", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--history", required=True, type=Path, metavar="DIR", help="history directory")
    parser.add_argument(
        "-o", "--output", required=True, type=Path, metavar="PATH", help="folder to write (or PAGE.html inside one)"
    )
    parser.add_argument(
        "--commit-url",
        metavar="TEMPLATE",
        default=None,
        help="link commits, e.g. https://github.com/OWNER/REPO/commit/{commit}",
    )
    parser.add_argument(
        "--max-pvalue",
        type=float,
        default=segmentation.DEFAULT_MAX_PVALUE,
        metavar="P",
        help=f"change point significance, Bonferroni-corrected (default {segmentation.DEFAULT_MAX_PVALUE})",
    )
    parser.add_argument(
        "--min-change",
        type=float,
        default=trend.DEFAULT_MIN_MAGNITUDE,
        metavar="R",
        help=f"smallest relative shift marked as a change point (default {trend.DEFAULT_MIN_MAGNITUDE})",
    )
    parser.add_argument(
        "--recent",
        type=int,
        default=trend.DEFAULT_RECENT,
        metavar="N",
        help=f"the summary ranks change points in the last N commits (default {trend.DEFAULT_RECENT})",
    )
    parser.add_argument(
        "--noisy",
        type=float,
        default=trend.DEFAULT_NOISY,
        metavar="R",
        help=f"relative noise from which a series is marked noisy (default {trend.DEFAULT_NOISY})",
    )
    parser.add_argument(
        "--window",
        type=int,
        default=None,
        metavar="N",
        help="accepted for compatibility (the E-divisive window); must be >= 4 when given",
    )
    parser.add_argument("--title", default="benchwatch trend report", help="page title")
    parser.set_defaults(handler=handle)
    return parser


def handle(args: argparse.Namespace) -> int:
    report = trend.write_trend_report(
        history_dir=args.history,
        output=args.output,
        commit_url=args.commit_url,
        max_pvalue=args.max_pvalue,
        min_magnitude=args.min_change,
        recent=args.recent,
        noisy=args.noisy,
        window=args.window,
        title=args.title,
    )
    print(
        f"wrote {report.path}: {report.benchmarks} benchmarks, {report.commits} commits, "
        f"{report.change_points} change points, {report.files} files, {report.total_bytes / 1e6:.1f} MB "
        f"(page {report.page_bytes / 1e3:.0f} KB)"
    )
    return EXIT_OK
