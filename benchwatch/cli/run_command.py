"""``benchwatch run``: measure the suites into a result file."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from benchwatch.cli.cost_table import benchmark_table, phase_table
from benchwatch.cli.instruction_options import (
    add_instruction_arguments,
    instruction_settings,
    instruction_thresholds,
)
from benchwatch.cli.progress import ProgressPrinter
from benchwatch.config import compare_settings, load_config
from benchwatch.errors import EXIT_BENCHMARK_FAILED, EXIT_INPUT_ERROR, EXIT_NOTHING_JUDGED, EXIT_OK, UsageError
from benchwatch.model import BenchmarkResult, ResultSet
from benchwatch.output import check_writable, fallback_path, is_stdout, write_with_fallback
from benchwatch.refs.sequential import DEFAULT_LOOKS, parse_looks, stop_rule_against
from benchwatch.resultfile import encode_result, load_result
from benchwatch.runner.schedule import planned_looks
from benchwatch.runner.session import DEFAULT_SAMPLE_BUDGET, RunSettings, run_suites, samples_needed


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="measure the suites in fresh processes into a result file",
        description="Run each benchmark in several fresh processes (plus a memray memory pass), "
        "keeping every raw sample. Exit codes: 0 all ran, 2 usage/input error, 3 some benchmarks failed "
        "(the result file is still written, with their errors), 4 nothing measured (every benchmark failed).",
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="PYPROJECT",
        help="pyproject.toml to read [tool.benchwatch] from (default: pyproject.toml of --repo, or of this directory)",
    )
    parser.add_argument(
        "--repo",
        type=Path,
        metavar="DIR",
        help="project directory the suite paths and results_dir are relative to (default: the --config file's folder)",
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
        "--sample-budget",
        type=float,
        metavar="SECONDS",
        help="seconds per benchmark per run spent reaching the samples the gated quantiles need (default 10)",
    )
    parser.add_argument(
        "--memory-runs",
        type=int,
        metavar="N",
        help="process runs per benchmark that also get a memray memory pass (default: every run; 0 = none)",
    )
    parser.add_argument(
        "--memory-fork",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="memory pass: one worker per run forking a child per benchmark (the default), or a fresh "
        "worker per benchmark and run (--no-memory-fork; slower, docs/cost.md)",
    )
    parser.add_argument(
        "--order",
        choices=("shuffled", "collected"),
        default="shuffled",
        help="the order a run measures its benchmarks in: a different shuffle per run (default), "
        "or pytest's collection order in every run",
    )
    parser.add_argument(
        "--against",
        type=Path,
        metavar="BASELINE",
        help="stop measuring a benchmark at the first planned look where every gated metric has a verdict "
        "against this result file (docs/cost.md, 'Adaptive runs')",
    )
    parser.add_argument(
        "--looks",
        default=",".join(map(str, DEFAULT_LOOKS)),
        metavar="N,N,...",
        help="with --against: the run counts at which to look (default %(default)s, cut at --runs)",
    )
    parser.add_argument(
        "--max-time",
        type=float,
        metavar="SECONDS",
        help="with --against: the run's time budget; at a look, stop if the next look's runs would pass it "
        "(undecided benchmarks stay at the runs they have; default: no budget)",
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
    add_instruction_arguments(parser)
    parser.add_argument(
        "--cost", action="store_true", help="after the run, list the seconds each benchmark cost in each phase"
    )
    parser.add_argument("--plain", action="store_true", help="plain progress lines even on a terminal")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    parser.set_defaults(handler=handle)


def _check_timeout(value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise UsageError(f"--timeout must be a positive, finite number of seconds, got {value}")


def handle(args: argparse.Namespace) -> int:
    _check_timeout(args.timeout)
    if args.no_memory:
        print("benchwatch: --no-memory is deprecated; use --memory-runs 0", file=sys.stderr)
    config_path = args.config or (args.repo or Path()) / "pyproject.toml"
    config = load_config(config_path)
    root = args.repo.resolve() if args.repo else config.root
    pytest_args = config.pytest_args(scale=args.scale, extra=args.pytest_arg)
    timeout = args.timeout if args.timeout is not None else float(config.get("timeout", 300))
    comparing = compare_settings(config, config_path)
    instruction_threshold, per_benchmark = instruction_thresholds(comparing)
    instructions, note = instruction_settings(
        args, config, timeout=timeout, threshold=instruction_threshold, benchmark_thresholds=per_benchmark
    )
    if note:
        print(note, file=sys.stderr)
    gate = comparing.gating_metrics
    settings = RunSettings(
        suites=tuple(args.suites or config.get("suites", ["benchmarks"])),
        runs=args.runs if args.runs is not None else config.get("runs", 5),
        timeout=timeout,
        keyword=args.keyword,
        pytest_args=pytest_args,
        memory=config.get("memory", True),
        memory_runs=0 if args.no_memory else args.memory_runs,
        memory_fork=args.memory_fork if args.memory_fork is not None else bool(config.get("memory_fork", True)),
        shuffle=args.order == "shuffled",
        keep_captures=args.keep_captures is not None,
        capture_dir=args.keep_captures.resolve() if args.keep_captures else None,
        instructions=instructions,
        target_samples=samples_needed(gate),
        sample_budget=args.sample_budget or float(config.get("sample_budget", DEFAULT_SAMPLE_BUDGET)),
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    output = args.output
    if output is None:
        output = root / config.get("results_dir", "results") / f"run-{stamp}.json.gz"
    # A bad output path must cost nothing: fail before the suite runs.
    check_writable(output)
    printer = None
    if not args.quiet:
        printer = ProgressPrinter(sys.stderr, redraw=sys.stderr.isatty() and not args.plain)
    stop_rule = None
    if args.against is not None:
        stop_rule = stop_rule_against(
            baseline=load_result(args.against),
            settings=comparing,
            looks=planned_looks(parse_looks(args.looks), settings.runs),
            max_seconds=args.max_time,
        )
    elif args.max_time is not None:
        raise UsageError("--max-time needs --against: a budget is spent at the looks against a baseline")
    try:
        result = run_suites(repo=root, settings=settings, progress=printer, stop_rule=stop_rule)
    finally:
        if printer is not None:
            printer.close()
    suffix = ".json.gz" if str(output).endswith(".gz") else ".json"
    fallback = fallback_path(Path.cwd(), f"benchwatch-run-{stamp}{suffix}")
    written, write_error = write_with_fallback(output, encode_result(result, output), fallback=fallback)
    if write_error is not None:
        # The run finished: its results are kept even though the output path went bad meanwhile.
        print(f"benchwatch: error: {write_error}; the results were saved to {written} instead", file=sys.stderr)
        return EXIT_INPUT_ERROR
    failed, counted_failures = _print_summary(result, output, args)
    if not any(benchmark.ok_runs for benchmark in result.benchmarks):
        print(f"NOTHING MEASURED: each of the {len(failed)} benchmarks failed in every run", file=sys.stderr)
        return EXIT_NOTHING_JUDGED
    # Counts the user asked for and did not get fail the run; by default a skipped pass is only a note.
    asked = args.instructions or (args.instructions is None and config.get("instructions", None) is True)
    skipped_pass = (result.settings.get("instruction_pass") or {}).get("skipped")
    return EXIT_BENCHMARK_FAILED if failed or counted_failures or (skipped_pass and asked) else EXIT_OK


def _print_summary(
    result: ResultSet, output: Path, args: argparse.Namespace
) -> tuple[Sequence[BenchmarkResult], Sequence[BenchmarkResult]]:
    """What the run wrote, skipped and failed, and where its time went; the failed benchmarks."""
    runs = sum(len(benchmark.runs) for benchmark in result.benchmarks)
    failed = result.failed
    stream = sys.stderr if is_stdout(output) else sys.stdout  # keep a result written to stdout clean
    print(f"wrote {output}: {len(result.benchmarks)} benchmarks, {runs} runs, {len(failed)} failed", file=stream)
    if result.settings.get("not_benchmarks"):
        print(result.settings["not_benchmarks"], file=stream)
    if result.settings.get("stopped"):
        print(f"stopped early: {result.settings['stopped']}", file=stream)
    for warning in result.settings.get("worker_warnings") or ():
        print(f"warning: {warning}", file=sys.stderr)
    skipped_pass = (result.settings.get("instruction_pass") or {}).get("skipped")
    if skipped_pass:
        print(skipped_pass, file=sys.stderr)
    for name, reason in result.settings.get("skipped", {}).items():
        print(f"skipped {name}: {reason}", file=stream)
    for benchmark in failed:
        first = benchmark.failed_runs[0]
        count = f"{len(benchmark.failed_runs)} of {len(benchmark.runs)} runs"
        print(f"FAILED {benchmark.name} [{first.status}, {count}]: {first.error}", file=sys.stderr)
    counted_failures = [b for b in result.benchmarks if b.failed_instruction_runs]
    for benchmark in counted_failures:
        counted = benchmark.failed_instruction_runs[0]
        count = f"{len(benchmark.failed_instruction_runs)} of {len(benchmark.instruction_runs)} instruction runs"
        print(f"FAILED {benchmark.name} [{counted.status}, {count}]: {counted.error}", file=sys.stderr)
    cost = result.settings.get("cost")
    if cost and not args.quiet:
        print(phase_table(cost), file=sys.stderr)
        print(benchmark_table(cost, limit=None if args.cost else 5), file=sys.stderr)
    return failed, counted_failures
