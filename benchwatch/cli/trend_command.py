"""``benchwatch trend``: write the trend report of a history, a folder of static files.

    benchwatch trend --history history/ --output-dir site/ \
        --commit-url 'https://github.com/OWNER/REPO/commit/{commit}'

``--output-dir site/`` writes site/index.html and site/trend-data/; ``-o site/trend.html``
names the page (its data folder goes beside it).  The folder works offline and from file:// (GitHub Pages
serves it as is).  Needs the ``history`` extra (DuckDB).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from benchwatch.errors import EXIT_OK, UsageError
from benchwatch.history import segmentation
from benchwatch.history.trend_data import load_trend_data
from benchwatch.render.trend import model as trend_model
from benchwatch.render.trend import site as trend


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "trend", help="write the trend report of a history (static files)", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--history", required=True, type=Path, metavar="DIR", help="history directory")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="the page to write, e.g. site/index.html (its data goes in trend-data/ beside it)",
    )
    target.add_argument(
        "--output-dir", type=Path, metavar="DIR", help="folder to write: DIR/index.html and DIR/trend-data/"
    )
    parser.add_argument(
        "--commit-url",
        metavar="TEMPLATE",
        default=None,
        help="link commits, e.g. https://github.com/OWNER/REPO/commit/{commit}",
    )
    parser.add_argument(
        "--repo-url",
        metavar="URL",
        default=None,
        help="link commits under this repository (https://github.com/OWNER/REPO); default: the one recorded",
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
    if args.output is not None and args.output.suffix not in (".html", ".htm"):
        # -o is a file in every command; a folder is --output-dir.
        raise UsageError(f"-o names the page file (e.g. {args.output}/index.html); for a folder use --output-dir")
    output = args.output if args.output is not None else args.output_dir / "index.html"
    trend.check_commit_url(args.commit_url)
    trend.check_repo_url(args.repo_url)
    trend_model.check_options(
        max_pvalue=args.max_pvalue, min_magnitude=args.min_change, recent=args.recent, noisy=args.noisy
    )
    report = trend.write_trend_report(
        load_trend_data(args.history),
        output=output,
        commit_url=args.commit_url,
        repo_url=args.repo_url,
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
