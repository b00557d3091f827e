"""``benchwatch compare-refs`` and ``benchwatch merge-shards``."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

from benchwatch.adapters.registry import load_any
from benchwatch.cli.cache_command import cache_for, find_repository
from benchwatch.cli.explain_options import add_explain_arguments, explain_settings
from benchwatch.cli.instruction_options import (
    add_instruction_arguments,
    instruction_settings,
    instruction_thresholds,
)
from benchwatch.cli.progress import format_duration
from benchwatch.cli.report_options import add_wide_argument, parse_write, terminal_width
from benchwatch.compare.verdict import Verdict
from benchwatch.config import ENVIRONMENTS, compare_settings, load_config
from benchwatch.errors import EXIT_NOTHING_JUDGED, InputError, UsageError
from benchwatch.output import write_output
from benchwatch.refs.environments import ref_python
from benchwatch.refs.sequential import DEFAULT_LOOKS, parse_looks
from benchwatch.refs.session import DEFAULT_MEMORY_RUNS, RefsOutcome, RefsProgress, RefsSettings, compare_refs
from benchwatch.refs.shards import merge_shard_results
from benchwatch.refs.worktrees import (
    Checkout,
    checkout,
    default_base_ref,
    describe_commit,
    is_dirty,
    merge_base,
    resolve_commit,
    untracked_files,
    working_tree,
)
from benchwatch.render.formats import FORMATS, RenderContext, render
from benchwatch.resultfile import save_result
from benchwatch.runner.session import DEFAULT_SAMPLE_BUDGET


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare-refs",
        help="run two git revisions interleaved, then compare them",
        description="Check out BASE and HEAD into cached checkouts, run their suites in alternating process "
        "runs (order randomised per pair), add runs only for inconclusive benchmarks up to a time budget, and "
        "compare. Without arguments BASE is the merge base of the default branch and HEAD. Exit codes: 0 no "
        "gated regression, 1 gated regression, 2 usage/input error, 4 nothing measured (every benchmark of a "
        "side failed).",
    )
    parser.add_argument(
        "base", nargs="?", help="base ref (default: merge base of the default branch (origin/HEAD, main) and HEAD)"
    )
    parser.add_argument("head", nargs="?", default="HEAD", help="head ref (default: HEAD)")
    parser.add_argument(
        "--repo",
        type=Path,
        metavar="DIR",
        help="git repository to compare (default: the --config file's, else this directory's)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="PYPROJECT",
        help="pyproject.toml with [tool.benchwatch] (default: the repository's; may be anywhere)",
    )
    parser.add_argument(
        "--suite", action="append", dest="suites", metavar="PATH", help="suite path (repeatable; default from config)"
    )
    parser.add_argument(
        "-k", "--filter", dest="keyword", metavar="EXPR", help="pytest -k expression selecting benchmarks"
    )
    parser.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="seconds per benchmark per pass (default from config, 300)"
    )
    parser.add_argument(
        "--scale", type=int, metavar="N", help="workload scale, passed to the suite option named by scale_option"
    )
    parser.add_argument(
        "--pytest-arg", action="append", default=[], metavar="ARG", help="extra pytest argument (repeatable)"
    )
    parser.add_argument(
        "--looks",
        default=",".join(map(str, DEFAULT_LOOKS)),
        help="runs per side at which verdicts are taken (default %(default)s)",
    )
    add_instruction_arguments(parser)
    add_explain_arguments(parser)
    parser.add_argument(
        "--max-time", type=float, default=900.0, metavar="SECONDS", help="time budget in seconds (default 900)"
    )
    parser.add_argument(
        "--memory-runs",
        type=int,
        default=DEFAULT_MEMORY_RUNS,
        metavar="N",
        help="process runs per side on which every benchmark gets a memray memory pass; later runs get one "
        "while a gated memory row is undecided (default %(default)s; 0 = no memory pass)",
    )
    parser.add_argument(
        "--memory-fork",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="memory pass: a child per benchmark forked from a warm worker (the default), or a fresh worker each",
    )
    parser.add_argument(
        "--sample-budget",
        type=float,
        metavar="SECONDS",
        help="seconds per benchmark per run to reach the samples the gate needs",
    )
    parser.add_argument("--shard", metavar="I/N", help="run shard I of N of the benchmarks (for a CI matrix)")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the random AB/BA order (default 0)")
    parser.add_argument(
        "--allow-dirty", action="store_true", help="run HEAD from the working tree with its uncommitted changes"
    )
    parser.add_argument(
        "--allow-same", action="store_true", help="compare even when BASE and HEAD are the same commit (a noise check)"
    )
    parser.add_argument(
        "--environment",
        choices=ENVIRONMENTS,
        help="current: workers use this environment; per-ref: a venv per commit with the project's test "
        "dependencies (default from config, current)",
    )
    parser.add_argument("--venv-per-ref", action="store_true", help="same as --environment per-ref")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        metavar="DIR",
        help="checkouts and environments (default: the user cache, see `benchwatch cache`)",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        metavar="DIR",
        help="where base.json.gz, head.json.gz, comparison.json, comment.md and report.html go "
        "(default results_dir/compare-refs/BASE7-HEAD7, never overwritten)",
    )
    parser.add_argument(
        "--format", choices=FORMATS, default="terminal", help="report format on stdout (default: terminal)"
    )
    parser.add_argument(
        "--write",
        action="append",
        default=[],
        metavar="FORMAT:FILE",
        help="also write the comparison in FORMAT to FILE (repeatable; as `benchwatch compare --write`)",
    )
    parser.add_argument("--report-url", metavar="URL", help="pr-comment: link to the full report (e.g. the run URL)")
    parser.add_argument("--base-label", metavar="TEXT", help="pr-comment: name of the base side (default: its ref)")
    parser.add_argument("--head-label", metavar="TEXT", help="pr-comment: name of the head side (default: its ref)")
    parser.add_argument(
        "--threshold", type=float, metavar="R", help="relative change that matters (0.10 = 10%%; default from config)"
    )
    parser.add_argument("--fail-on-inconclusive", action="store_true", help="exit 1 when the verdict is inconclusive")
    parser.add_argument("--no-color", action="store_true", help="no ANSI colours in the terminal report")
    parser.add_argument(
        "--all", action="store_true", dest="all_rows", help="terminal: every row, not only regressions and improvements"
    )
    add_wide_argument(parser)
    parser.add_argument("--plain", action="store_true", help="plain progress lines even on a terminal")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    parser.set_defaults(handler=handle)

    merge = subparsers.add_parser(
        "merge-shards",
        help="combine the results of compare-refs --shard runs",
        description="Each DIR holds base.json.gz and head.json.gz from `compare-refs --shard i/n`. "
        "Writes the merged pair to --output-dir; then: benchwatch compare OUT/base.json.gz OUT/head.json.gz.",
    )
    merge.add_argument("dirs", nargs="+", type=Path, metavar="DIR", help="a shard's --output-dir (repeatable)")
    merge.add_argument(
        "--output-dir", type=Path, required=True, metavar="DIR", help="directory for the merged base and head"
    )
    merge.set_defaults(handler=handle_merge)


def _parse_shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise UsageError(f"--shard must look like i/n, got {text!r}") from None
    return index, count


def _sides(args: argparse.Namespace, repo: Path, cache: Path) -> tuple[Checkout, Checkout]:
    """The base and head checkouts; refuses the same commit twice unless ``--allow-same``."""
    untracked = [name for name in untracked_files(repo) if name.endswith(".py")] if args.head == "HEAD" else []
    if args.head == "HEAD" and (is_dirty(repo) or (args.allow_dirty and untracked)):
        if not args.allow_dirty:
            raise UsageError(
                "the working tree has uncommitted changes; commit them, or pass --allow-dirty to measure HEAD with them"
            )
        head = working_tree(repo)
    else:
        head = checkout(repo, args.head, cache)
        if untracked and not args.quiet:
            shown = ", ".join(untracked[:3]) + (f" (+{len(untracked) - 3} more)" if len(untracked) > 3 else "")
            print(
                f"note: {len(untracked)} untracked Python file(s) not measured: {shown} "
                "(HEAD's checkout holds committed files only; --allow-dirty measures the working tree with them)",
                file=sys.stderr,
            )
    if args.base is None:
        branch = default_base_ref(repo)
        base_commit = merge_base(repo, branch, resolve_commit(repo, "HEAD"))
        label = f"merge base of {branch} and HEAD"
    else:
        base_commit, label = resolve_commit(repo, args.base), args.base
    if base_commit == head.commit and not head.dirty and not args.allow_same:
        hint = " (HEAD is on the default branch: pass a BASE such as HEAD~1)" if args.base is None else ""
        raise UsageError(
            f"base ({label}) and head ({head.label}) are the same commit {head.commit[:7]}{hint}; "
            "pass --allow-same to measure identical code (a noise check)"
        )
    base = replace(checkout(repo, base_commit, cache), label=label)
    return base, head


def _output_dir(args: argparse.Namespace, repo: Path, results_dir: str, base: Checkout, head: Checkout) -> Path:
    """``--output-dir``, else a fresh ``results_dir/compare-refs/BASE7-HEAD7[-N]`` folder."""
    if args.output_dir is not None:
        return args.output_dir
    pair = f"{base.commit[:7]}-{head.commit[:7]}" + ("-dirty" if head.dirty else "")
    folder = Path(repo, results_dir, "compare-refs")
    candidate, number = folder / pair, 1
    while candidate.exists() and any(candidate.iterdir()):
        number += 1
        candidate = folder / f"{pair}-{number}"
    return candidate


def handle(args: argparse.Namespace) -> int:
    extra = [parse_write(item) for item in args.write]  # a bad --write stops before anything is measured
    repo = find_repository(args.repo, args.config)
    config_path = args.config or repo / "pyproject.toml"
    config = load_config(config_path)
    cache = cache_for(repo, args.cache_dir)
    base, head = _sides(args, repo, cache)
    if not args.quiet:
        print(f"base: {base.label}: {describe_commit(repo, base.commit)}", file=sys.stderr)
        dirty = " with uncommitted changes" if head.dirty else ""
        print(f"head: {head.label}: {describe_commit(repo, head.commit)}{dirty}", file=sys.stderr)
    settings = compare_settings(config, config_path)
    if args.threshold is not None:
        settings = settings.replace(threshold=args.threshold)
    if args.fail_on_inconclusive:
        settings = settings.replace(fail_on_inconclusive=True)
    timeout = args.timeout if args.timeout is not None else float(config.get("timeout", 300))
    instruction_threshold, per_benchmark = instruction_thresholds(settings)
    instructions, note = instruction_settings(
        args, config, timeout=timeout, threshold=instruction_threshold, benchmark_thresholds=per_benchmark
    )
    if note:
        print(note, file=sys.stderr)
    environment = "per-ref" if args.venv_per_ref else args.environment or config.get("environment", "current")
    base_python = head_python = None
    if environment == "per-ref":
        if not args.quiet:
            print(f"per-ref environments in {cache / 'venvs'} (built on first use of a commit)", file=sys.stderr)
        groups = config.get("dependency_groups", None)
        extras = config.get("test_extras", None)
        counts = instructions is not None
        base_python = ref_python(base, cache, sys.executable, extras=extras, groups=groups, instructions=counts)
        head_python = ref_python(head, cache, sys.executable, extras=extras, groups=groups, instructions=counts)
    refs_settings = RefsSettings(
        suites=tuple(args.suites or config.get("suites", ["benchmarks"])),
        timeout=timeout,
        keyword=args.keyword,
        pytest_args=config.pytest_args(scale=args.scale, extra=args.pytest_arg),
        looks=parse_looks(args.looks),
        max_time=args.max_time,
        memory_runs=args.memory_runs,
        memory_fork=args.memory_fork if args.memory_fork is not None else bool(config.get("memory_fork", True)),
        shard=_parse_shard(args.shard),
        seed=args.seed,
        sample_budget=args.sample_budget or float(config.get("sample_budget", DEFAULT_SAMPLE_BUDGET)),
        compare=settings,
        instructions=instructions,
        explain=explain_settings(args, config, timeout=timeout),
        base_python=base_python,
        head_python=head_python,
    )
    printer = None if args.quiet else _Printer(redraw=sys.stderr.isatty() and not args.plain)
    try:
        outcome = compare_refs(
            base=base,
            head=head,
            settings=refs_settings,
            python=sys.executable,
            base_env=dict(os.environ),
            cache_dir=cache,
            progress=printer,
        )
    finally:
        if printer is not None:
            printer.close()
    output = _output_dir(args, repo, config.get("results_dir", "results"), base, head)
    return _report(args, outcome, output, base, head, extra)


def _report(
    args: argparse.Namespace,
    outcome: RefsOutcome,
    output: Path,
    base: Checkout,
    head: Checkout,
    extra: list[tuple[str, Path]],
) -> int:
    save_result(outcome.base, output / "base.json.gz")
    save_result(outcome.head, output / "head.json.gz")

    def render_as(report_format: str, *, color: bool, width: int | None = None) -> str:
        context = RenderContext(
            base=outcome.base,
            head=outcome.head,
            base_label=args.base_label or base.label,
            head_label=args.head_label or head.label,
            report_url=args.report_url,
            color=color,
            all_rows=args.all_rows,
            width=width,
        )
        return render(outcome.comparison, report_format, context)

    files = [("json", "comparison.json"), ("pr-comment", "comment.md"), ("html", "report.html")]
    for fmt, path in [*((fmt, output / name) for fmt, name in files), *extra]:
        write_output(path, render_as(fmt, color=False).encode("utf-8"))
    headline = _nothing_measured_headline(outcome)
    if headline and args.format == "terminal":
        sys.stdout.write(headline + "\n\n")
    elif headline:
        print(headline, file=sys.stderr)
    color = args.format == "terminal" and not args.no_color and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    sys.stdout.write(render_as(args.format, color=color, width=terminal_width(args)))
    for label, note in outcome.not_benchmarks.items():
        print(f"{label}: {note}", file=sys.stderr)
    for label, result in (("base", outcome.base), ("head", outcome.head)):
        for warning in result.settings.get("worker_warnings") or ():
            print(f"warning: {label}: {warning}", file=sys.stderr)
    skipped = {
        label: (result.settings.get("instruction_pass") or {}).get("skipped")
        for label, result in (("base", outcome.base), ("head", outcome.head))
    }
    for label, skip in skipped.items():
        if skip and (label == "base" or skip != skipped["base"]):
            print(skip if skip == skipped["base"] else f"{label}: {skip}", file=sys.stderr)
    if outcome.comparison.explanations:
        share = outcome.explain_seconds / outcome.total_seconds if outcome.total_seconds > 0 else 0.0
        print(
            f"explained {len(outcome.comparison.explanations)} benchmark(s) in {outcome.explain_seconds:.1f} s "
            f"({share:.0%} of the run; --no-explain turns it off)",
            file=sys.stderr,
        )
    print(
        f"\n{outcome.looks_done} look(s), stopped: {outcome.stop_reason}. "
        f"Results: {output}/base.json.gz {output}/head.json.gz (re-render with `benchwatch compare`).",
        file=sys.stderr,
    )
    if outcome.nothing_measured:
        return EXIT_NOTHING_JUDGED
    return outcome.comparison.exit_code()


def _nothing_measured_headline(outcome: RefsOutcome) -> str | None:
    """ "NOTHING MEASURED ..." with the first failure, when every benchmark of a side failed."""
    if not outcome.nothing_measured:
        return None
    label = outcome.nothing_measured[0]
    result = outcome.base if label == "base" else outcome.head
    first = next((run for benchmark in result.benchmarks for run in benchmark.runs if not run.ok), None)
    reason = f" First failure: {first.status}: {first.error}" if first is not None else ""
    sides = " and ".join(outcome.nothing_measured)
    return f"NOTHING MEASURED: every benchmark of {sides} failed, so nothing could be judged (exit 4).{reason}"


def handle_merge(args: argparse.Namespace) -> int:
    for side in ("base", "head"):
        files = []
        for directory in args.dirs:
            path = directory / f"{side}.json.gz"
            if not path.is_file():
                raise InputError(path, "missing: each shard directory needs base.json.gz and head.json.gz")
            files.append(path)
        merged = merge_shard_results([load_any(path) for path in files], paths=files)
        save_result(merged, args.output_dir / f"{side}.json.gz")
    print(f"merged {len(args.dirs)} shards into {args.output_dir}/base.json.gz and head.json.gz")
    return 0


def counting_line(progress: RefsProgress) -> str:
    """A line of the instruction pass: what was counted, how many are left, the time left."""
    left = progress.phase_total - progress.phase_done
    what = (
        f"{progress.benchmark}: {progress.last_status}"
        if progress.benchmark is not None
        else f"counting instructions under Callgrind, {progress.undecided} benchmarks"
    )
    return (
        f"[instructions {progress.side}] {what} · {progress.phase_done}/{progress.phase_total} done, "
        f"{left} left · {format_duration(progress.phase_remaining_seconds)} left in this pass · "
        f"budget left {format_duration(progress.remaining_seconds)}"
    )


class _Printer:
    def __init__(self, *, redraw: bool) -> None:
        self.redraw = redraw
        self._width = 0

    def __call__(self, progress: RefsProgress) -> None:
        # inconclusive rows are not verdicts: counted apart, so the line never reads "3 verdicts" for three open rows
        found = [(v, n) for v, n in sorted(progress.verdicts.items()) if v != Verdict.INCONCLUSIVE]
        verdicts = ", ".join(f"{count} {verdict}" for verdict, count in found) or "none yet"
        still_open = progress.verdicts.get(Verdict.INCONCLUSIVE, 0)
        line = (
            f"[look {progress.look}/{progress.looks} run {progress.runs_per_side} {progress.side}] "
            f"{progress.benchmark} · undecided {progress.undecided} · verdicts: {verdicts}"
            + (f" · inconclusive rows {still_open}" if still_open else "")
            + " · "
            f"budget left {format_duration(progress.remaining_seconds)}"
        )
        if progress.phase == "instructions":
            line = counting_line(progress)
        if self.redraw:
            sys.stderr.write("\r" + line[:160].ljust(self._width))
            self._width = min(len(line), 160)
            sys.stderr.flush()
        else:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.redraw and self._width:
            sys.stderr.write("\r" + " " * self._width + "\r")
