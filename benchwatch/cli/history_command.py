"""``benchwatch history``: build and maintain a history directory.

benchwatch history import-pyperf DIR --history H     # one pyperf file per commit
benchwatch history import-asv DIR --history H        # an asv results directory
benchwatch history prune --history H --keep-last 200 [--thin-older-than-days 90] [--drop-tags]
benchwatch history migrate --history H              # a JSON history (schema 1) to Parquet, in place
benchwatch history list --history H [--format json]  # records: commits, dates, tags, benchmark counts, sources
benchwatch history show BENCHMARK --history H [--metric p95] [--format json]  # a series, change points marked
benchwatch history baseline --commit SHA --history-ref origin/benchwatch-history -o base.json.gz
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from benchwatch.errors import EXIT_OK, InputError, UsageError
from benchwatch.history import baselines, browse, importers, legacy, pruning
from benchwatch.history.columnar import HISTORY_METRICS


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "history",
        help="import pyperf or asv results, list, show or prune a history",
        description=__doc__.splitlines()[0],
    )
    actions = parser.add_subparsers(dest="history_action", metavar="ACTION", parser_class=type(parser))
    actions.required = True

    for name, help_text in (
        ("import-pyperf", "a folder of pyperf JSON files, one per commit"),
        ("import-asv", "an asv results directory"),
    ):
        action = actions.add_parser(name, help=f"import {help_text}")
        action.add_argument("directory", type=Path, metavar="DIR", help=f"the folder to import: {help_text}")
        action.add_argument(
            "--history", required=True, type=Path, metavar="DIR", help="history directory (created if missing)"
        )
        action.add_argument(
            "--branch", default=None, metavar="NAME", help="branch to record (default: from the files, if any)"
        )
        action.add_argument("--keep-samples", action="store_true", help="store raw samples too")
        action.add_argument("--replace", action="store_true", help="replace commits already in the history")
        action.set_defaults(handler=handle_import, importer=name)

    prune = actions.add_parser("prune", help="drop or thin old records")
    prune.add_argument("--history", required=True, type=Path, metavar="DIR", help="history directory to prune")
    prune.add_argument("--keep-last", type=int, default=None, metavar="N", help="always keep the newest N records")
    prune.add_argument(
        "--thin-older-than-days",
        type=float,
        default=None,
        metavar="D",
        help="beyond D days before the newest record keep one record per day",
    )
    prune.add_argument("--drop-tags", action="store_true", help="tagged records may be removed too (kept by default)")
    prune.set_defaults(handler=handle_prune)

    migrate = actions.add_parser("migrate", help="convert a JSON history (schema 1) to Parquet, in place")
    migrate.add_argument("--history", required=True, type=Path, metavar="DIR", help="history directory to migrate")
    migrate.set_defaults(handler=handle_migrate)
    _register_browsing(actions)
    _register_baseline(actions)
    return parser


def _register_browsing(actions: Any) -> None:
    listing = actions.add_parser("list", help="the records: commits, dates, tags, benchmark counts, sources")
    listing.add_argument("--history", required=True, type=Path, metavar="DIR", help="history directory")
    listing.add_argument("--format", choices=("text", "json"), default="text", help="plain text (default) or JSON")
    listing.set_defaults(handler=handle_list)

    show = actions.add_parser("show", help="one benchmark's series, change points marked")
    show.add_argument("benchmark", metavar="BENCHMARK", help="the benchmark's exact name")
    show.add_argument("--history", required=True, type=Path, metavar="DIR", help="history directory")
    show.add_argument("--metric", choices=HISTORY_METRICS, default="p50", help="metric to show (default p50)")
    show.add_argument("--format", choices=("text", "json"), default="text", help="plain text (default) or JSON")
    show.set_defaults(handler=handle_show)


def handle_list(args: argparse.Namespace) -> int:
    from benchwatch.render.history_text import render_records

    rows = browse.list_records(args.history)
    print(render_records(rows, history=str(args.history), format=args.format), end="")
    return EXIT_OK


def handle_show(args: argparse.Namespace) -> int:
    from benchwatch.render.history_text import render_series

    series = browse.benchmark_series(args.history, args.benchmark, metric=args.metric)
    print(render_series(series, format=args.format), end="")
    return EXIT_OK


def _register_baseline(actions: Any) -> None:
    baseline = actions.add_parser(
        "baseline",
        help="the stored result of a commit, or of its nearest recorded ancestor (one-side comparisons)",
        description="Write the result `benchwatch record --keep-result` stored for COMMIT, else for its nearest "
        "ancestor with one, to -o FILE (then: benchwatch compare FILE head.json.gz). Reads a history directory, "
        "or the history branch through git without checking it out. Prints one line: how to name that base in "
        "a report. Exit codes: 0 written, 2 usage or input error (also: no stored result within --max-distance).",
    )
    baseline.add_argument("--commit", required=True, metavar="SHA", help="the commit wanted, e.g. the merge base")
    source = baseline.add_mutually_exclusive_group(required=True)
    source.add_argument("--history", type=Path, metavar="DIR", help="a history directory")
    source.add_argument(
        "--history-ref", metavar="REF", help="a git ref holding the history, e.g. origin/benchwatch-history"
    )
    baseline.add_argument(
        "--history-path",
        default="history",
        metavar="PATH",
        help="with --history-ref: the history directory inside that tree (default: history)",
    )
    baseline.add_argument("--repo", type=Path, default=Path("."), metavar="DIR", help="git repository (default: .)")
    baseline.add_argument(
        "--max-distance",
        type=int,
        default=baselines.DEFAULT_MAX_DISTANCE,
        metavar="N",
        help=f"look at most N commits back from COMMIT (default {baselines.DEFAULT_MAX_DISTANCE})",
    )
    baseline.add_argument("-o", "--output", required=True, type=Path, metavar="FILE", help="where to write the result")
    baseline.set_defaults(handler=handle_baseline)


def handle_import(args: argparse.Namespace) -> int:
    function = importers.import_pyperf_directory if args.importer == "import-pyperf" else importers.import_asv_directory
    summary = function(
        directory=args.directory,
        history_dir=args.history,
        branch=args.branch,
        keep_samples=args.keep_samples,
        replace=args.replace,
    )
    print(
        f"imported {len(summary.added)} commits into {args.history}"
        + (f" ({len(summary.skipped)} already present, skipped; --replace overwrites them)" if summary.skipped else "")
    )
    return EXIT_OK


def handle_prune(args: argparse.Namespace) -> int:
    result = pruning.prune(
        args.history,
        keep_last=args.keep_last,
        keep_tags=not args.drop_tags,
        thin_older_than_days=args.thin_older_than_days,
    )
    print(f"removed {len(result.removed)} records from {args.history}; {result.kept} kept")
    return EXIT_OK


def handle_migrate(args: argparse.Namespace) -> int:
    summary = legacy.migrate(args.history)
    print(
        f"migrated {summary.records} records of {args.history} into {summary.files} Parquet files; "
        f"the JSON files are kept in {summary.backup}"
    )
    return EXIT_OK


def handle_baseline(args: argparse.Namespace) -> int:
    from benchwatch.output import write_output
    from benchwatch.refs.worktrees import repository_root, resolve_commit
    from benchwatch.resultfile import load_result

    if args.max_distance < 0:
        raise UsageError(f"--max-distance must not be negative, got {args.max_distance}")
    repo = repository_root(args.repo)
    commit = resolve_commit(repo, args.commit)
    if args.history is not None:
        stored = baselines.stored_commits(args.history)
        where = f"{args.history}/{baselines.RESULTS_DIR}"
    else:
        stored = baselines.stored_commits_in_ref(repo, args.history_ref, args.history_path)
        where = f"{args.history_ref}:{args.history_path.strip('/')}/{baselines.RESULTS_DIR}"
    found = baselines.nearest_stored(repo, commit, stored, max_distance=args.max_distance)
    if found is None:
        raise InputError(
            where,
            f"no stored result for {commit[:12]} or its {args.max_distance} nearest ancestors "
            f"({len(stored)} stored; main's history job keeps them with: benchwatch record --keep-result)",
        )
    if args.history is not None:
        data = (baselines.results_dir(args.history) / f"{found.commit}.json.gz").read_bytes()
    else:
        data = baselines.read_result_from_ref(repo, args.history_ref, args.history_path, found.commit)
    write_output(args.output, data)
    try:
        load_result(args.output)  # validated like any result file: a bad stored file stops here
    except InputError:
        args.output.unlink(missing_ok=True)
        raise
    print(f"{found.commit[:12]}: {found.label()} -> {args.output}", file=sys.stderr)
    print(found.label())
    return EXIT_OK
