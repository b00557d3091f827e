"""``benchwatch run``: measure the suites into a result file."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from benchwatch.cli.instruction_options import add_instruction_arguments, instruction_settings
from benchwatch.cli.progress import ProgressPrinter
from benchwatch.config import load_config
from benchwatch.errors import EXIT_BENCHMARK_FAILED, EXIT_OK
from benchwatch.resultfile import save_result
from benchwatch.runner.session import RunSettings, run_suites


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the benchmark suites in fresh processes and write a result file",
        description="Run each benchmark in several fresh processes (plus a memray memory pass per run), "
        "keeping every raw sample. Exit codes: 0 all ran, 2 usage/input error, 3 some benchmarks failed "
        "(the result file is still written, with their errors).",
    )
    parser.add_argument(
        "--config", type=Path, default=Path("pyproject.toml"), help="pyproject.toml to read [tool.benchwatch] from"
    )
    parser.add_argument(
        "--suite", action="append", dest="suites", metavar="PATH", help="suite path (repeatable; default from config)"
    )
    parser.add_argument(
        "-k", "--filter", dest="keyword", metavar="EXPR", help="pytest -k expression selecting benchmarks"
    )
    parser.add_argument("--runs", type=int, help="process runs per benchmark (default 5)")
    parser.add_argument(
        "--timeout", type=float, help="seconds per benchmark per pass before it is killed (default 300)"
    )
    parser.add_argument("--scale", type=int, help="workload scale, passed to the suite option named by scale_option")
    parser.add_argument(
        "--pytest-arg", action="append", default=[], metavar="ARG", help="extra pytest argument (repeatable)"
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the memray memory pass")
    parser.add_argument(
        "--keep-captures", type=Path, metavar="DIR", help="keep memray capture files in DIR (for flamegraphs)"
    )
    parser.add_argument(
        "-o", "--output", type=Path, help="result file (.json or .json.gz); default results_dir/run-TIME.json.gz"
    )
    add_instruction_arguments(parser)
    parser.add_argument("--plain", action="store_true", help="plain progress lines even on a terminal")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    root = config.root
    pytest_args = config.pytest_args(scale=args.scale, extra=args.pytest_arg)
    timeout = args.timeout if args.timeout is not None else float(config.get("timeout", 300))
    instructions, note = instruction_settings(args, config, timeout=timeout)
    if note:
        print(note, file=sys.stderr)
    settings = RunSettings(
        suites=tuple(args.suites or config.get("suites", ["benchmarks"])),
        runs=args.runs if args.runs is not None else config.get("runs", 5),
        timeout=timeout,
        keyword=args.keyword,
        pytest_args=pytest_args,
        memory=not args.no_memory and config.get("memory", True),
        keep_captures=args.keep_captures is not None,
        capture_dir=args.keep_captures.resolve() if args.keep_captures else None,
        instructions=instructions,
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
    counted_failures = [b for b in result.benchmarks if b.failed_instruction_runs]
    for benchmark in counted_failures:
        counted = benchmark.failed_instruction_runs[0]
        count = f"{len(benchmark.failed_instruction_runs)} of {len(benchmark.instruction_runs)} instruction runs"
        print(f"FAILED {benchmark.name} [{counted.status}, {count}]: {counted.error}", file=sys.stderr)
    return EXIT_BENCHMARK_FAILED if failed or counted_failures else EXIT_OK
