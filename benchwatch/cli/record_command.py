"""``benchwatch record``: append a run of main (or a release tag) to a history directory.

    benchwatch record results/main.json.gz --history history/ [--tag v1.4]

Commit, branch and date default to the result's environment (``git_commit``,
``git_branch``, collection date); ``--parent`` has no default (the result
does not know it).  Raw samples are left out unless ``--keep-samples``.
Concurrent calls on one history are safe (they take turns on its lock).
Needs the ``history`` extra (DuckDB).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from benchwatch.adapters import registry
from benchwatch.errors import EXIT_OK, UsageError
from benchwatch.history import baselines, store


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "record", help="add a result of main (or a tag) to a history directory", description=__doc__.splitlines()[0]
    )
    parser.add_argument("result", type=Path, metavar="RESULT", help="result file (benchwatch or any importable format)")
    parser.add_argument(
        "--history", required=True, type=Path, metavar="DIR", help="history directory (created if missing)"
    )
    parser.add_argument("--commit", metavar="SHA", help="commit measured (default: the result's git_commit)")
    parser.add_argument("--parent", metavar="SHA", help="its parent commit")
    parser.add_argument("--date", metavar="ISO", help="commit date, ISO 8601 (default: when the result was collected)")
    parser.add_argument(
        "--tag", action="append", default=[], metavar="TAG", help="release tag of this commit (repeatable)"
    )
    parser.add_argument("--branch", metavar="NAME", help="branch (default: the result's git_branch)")
    parser.add_argument("--message", metavar="TEXT", help="commit subject, shown on hover in the trend report")
    parser.add_argument("--author", metavar="NAME", help="commit author, shown with the commit in the trend report")
    parser.add_argument(
        "--repo-url",
        metavar="URL",
        help="the repository's web address (https://github.com/OWNER/REPO): the trend report links commits to it",
    )
    parser.add_argument("--keep-samples", action="store_true", help="store raw samples too (much larger records)")
    parser.add_argument("--replace", action="store_true", help="replace the record of a commit already in the history")
    parser.add_argument(
        "--skip-existing",
        action="store_true",
        help="do nothing (exit 0) if the commit is already in the history, e.g. recorded with its release tag",
    )
    parser.add_argument(
        "--keep-result",
        action="store_true",
        help="also store the result itself, compacted, in HISTORY/results/ (the base of one-side PR comparisons)",
    )
    parser.add_argument(
        "--keep-results",
        type=int,
        default=baselines.DEFAULT_KEEP,
        metavar="N",
        help=f"with --keep-result: only the newest N recorded commits keep theirs (default {baselines.DEFAULT_KEEP})",
    )
    parser.set_defaults(handler=handle)
    return parser


def _check_options(args: argparse.Namespace) -> None:
    if args.repo_url is not None and not args.repo_url.startswith(("https://", "http://")):
        raise UsageError(f"--repo-url {args.repo_url!r} must start with https:// or http://")
    if args.keep_results < 1:
        raise UsageError(f"--keep-results must be at least 1, got {args.keep_results}")
    if args.date is not None:
        try:
            store.normalize_date(args.date)
        except (OverflowError, ValueError):
            # e.g. 0001-01-01T00:00:00+14:00: valid ISO 8601, but before year 1 in UTC
            raise UsageError(f"--date {args.date!r}: out of the representable range once converted to UTC") from None


def _recorded(history: Path, commit: str) -> bool:
    if not history.is_dir() or not any(history.iterdir()):
        return False
    return any(row.commit == commit for row in store.read_commits(history))


def handle(args: argparse.Namespace) -> int:
    _check_options(args)
    result = registry.load_any(args.result)
    commit = args.commit or result.environment.git_commit
    if args.keep_result:  # checked before anything is written
        baselines.check_commit(commit or "", "with --keep-result, the commit (--commit or the result's git_commit)")
    if args.skip_existing and commit and _recorded(args.history, commit):
        print(f"{commit[:12]} is already in {args.history}: kept as it is (--skip-existing)")
        if args.keep_result and commit not in baselines.stored_commits(args.history):
            _keep_result(args, result, commit)
        return EXIT_OK
    record = store.append_record(
        args.history,
        result,
        commit=args.commit,
        parent=args.parent,
        date=args.date,
        tags=args.tag,
        branch=args.branch,
        keep_samples=args.keep_samples,
        message=args.message,
        author=args.author,
        repo_url=args.repo_url,
        replace=args.replace,
    )
    tags = f" [{', '.join(record.tags)}]" if record.tags else ""
    where = args.history / "records" / record.file
    print(f"recorded {record.short_commit}{tags} ({len(record.benchmarks)} benchmarks) in {where}")
    if args.keep_result:
        _keep_result(args, result, record.commit)
    return EXIT_OK


def _keep_result(args: argparse.Namespace, result: Any, commit: str) -> None:
    path = baselines.store_result(args.history, result, commit=commit, keep=args.keep_results)
    print(f"kept the result of {commit[:12]} in {path}")
