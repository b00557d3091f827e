"""``benchwatch run``: measure the suites into a result file."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from benchwatch.cli.progress import ProgressPrinter
from benchwatch.config import load_config
from benchwatch.errors import EXIT_BENCHMARK_FAILED, EXIT_OK
from benchwatch.resultfile import save_result
from benchwatch.runner.session import RunSettings, run_suites


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="measure the suites in fresh processes into a result file",
        description="Run each benchmark in several fresh processes (plus a memray memory pass), "
        "keeping every raw sample. Exit codes: 0 all ran, 2 usage/input error, 3 some benchmarks failed "
        "(the result file is still written, with their errors).",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=Path("pyproject.toml"),
        metavar="PYPROJECT",
        help="read [tool.benchwatch] from this file (default: ./pyproject.toml)",
    )
    parser.add_argument(
        "--suite", action="append", dest="suites", metavar="PATH", help="suite path (repeatable; default from config)"
    )
    parser.add_argument(
        "-k", "--filter", dest="keyword", metavar="EXPR", help="pytest -k expression selecting benchmarks"
    )
    parser.add_argument("--runs", type=int, metavar="N", help="process runs per benchmark (default 5)")
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="seconds per benchmark per pass before it is killed (default 300)",
    )
    parser.add_argument(
        "--scale", type=int, metavar="N", help="workload scale, passed to the suite option named by scale_option"
    )
    parser.add_argument(
        "--pytest-arg", action="append", default=[], metavar="ARG", help="extra pytest argument (repeatable)"
    )
    parser.add_argument(
        "--memory-runs",
        type=int,
        metavar="N",
        help="process runs per benchmark that also get a memray memory pass (default: every run; 0 = none)",
    )
    # Deprecated spelling of --memory-runs 0, kept so existing scripts keep working.
    parser.add_argument("--no-memory", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--keep-captures", type=Path, metavar="DIR", help="keep memray capture files in DIR (for flamegraphs)"
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="result file (.json or .json.gz); default results_dir/run-TIME.json.gz",
    )
    parser.add_argument("--plain", action="store_true", help="plain progress lines even on a terminal")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    if args.no_memory:
        print("benchwatch: --no-memory is deprecated; use --memory-runs 0", file=sys.stderr)
    config = load_config(args.config)
    root = config.root
    pytest_args = config.pytest_args(scale=args.scale, extra=args.pytest_arg)
    settings = RunSettings(
        suites=tuple(args.suites or config.get("suites", ["benchmarks"])),
        runs=args.runs if args.runs is not None else config.get("runs", 5),
        timeout=args.timeout if args.timeout is not None else float(config.get("timeout", 300)),
        keyword=args.keyword,
        pytest_args=pytest_args,
        memory=config.get("memory", True),
        memory_runs=0 if args.no_memory else args.memory_runs,
        keep_captures=args.keep_captures is not None,
        capture_dir=args.keep_captures.resolve() if args.keep_captures else None,
    )
    output = args.output
    if output is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        output = root / config.get("results_dir", "results") / f"run-{stamp}.json.gz"
    printer = None
    if not args.quiet:
        printer = ProgressPrinter(sys.stderr, redraw=sys.stderr.isatty() and not args.plain)
    try:
        result = run_suites(repo=root, settings=settings, progress=printer)
    finally:
        if printer is not None:
            printer.close()
    save_result(result, output)
    runs = sum(len(benchmark.runs) for benchmark in result.benchmarks)
    failed = result.failed
    print(f"wrote {output}: {len(result.benchmarks)} benchmarks, {runs} runs, {len(failed)} failed")
    for name, reason in result.settings.get("skipped", {}).items():
        print(f"skipped {name}: {reason}")
    for benchmark in failed:
        first = benchmark.failed_runs[0]
        count = f"{len(benchmark.failed_runs)} of {len(benchmark.runs)} runs"
        print(f"FAILED {benchmark.name} [{first.status}, {count}]: {first.error}", file=sys.stderr)
    return EXIT_BENCHMARK_FAILED if failed else EXIT_OK
